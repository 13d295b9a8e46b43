"""Encryption at rest for the names and words of the people in the files (issue 16, item 7).

What a database dump must not show — party names, case summaries, agreement terms, proposals, what was said in
a session and the names shown in it — is stored as Fernet tokens (AES-128-CBC with HMAC-SHA256) by the model
fields below: `EncryptedTextField` and `EncryptedJSONField` encrypt in `get_prep_value` and decrypt in
`from_db_value`, so services, selectors, serializers and templates see plain text and never change.

Keys come from the environment, never from the database:

- `SULH_ENCRYPTION_KEYS`: comma-separated Fernet keys (`Fernet.generate_key()`); the first encrypts, all of
  them decrypt (MultiFernet), so a new key is put first and the old ones kept until
  `manage.py rotate_encryption_key` has re-encrypted every row with the first.
- `SULH_HASH_KEY`: the key of the keyed hash (HMAC-SHA256) kept beside an encrypted value where the pages must
  find rows by exact value (a party's normalised name: case search and recurrence matching).
  After changing it, `manage.py rotate_encryption_key` recomputes the hashes.

Without them both keys are derived from DJANGO_SECRET_KEY (itself a secret from the environment, which
`check --deploy` requires to be long and random), so that CONTRACT.md's production start — DJANGO_DEBUG=0 and a
real DJANGO_SECRET_KEY — encrypts from the first row and `check --deploy` stays clean. Keys derived from
SECRET_KEY_FALLBACKS keep decrypting after DJANGO_SECRET_KEY is changed, until `rotate_encryption_key` has
re-encrypted the rows (and recomputed the name hashes). Production should still set both keys, kept apart from
SECRET_KEY (README, "Encryption at rest"). `SULH_ENCRYPTION=off`
makes the fields store plain text: it exists only to measure what encryption costs (bench/bench_encryption.py)
and `check --deploy` refuses it (sulh.E103), as it refuses a key that is not a Fernet key (sulh.E101). Reading
tolerates plain text (rows written before the
migration encrypted them, or with the switch off): `rotate_encryption_key` encrypts any such row it finds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from contextlib import nullcontext
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import pgtrigger
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.validators import MaxLengthValidator
from django.db import connection, models, transaction

# Every Fernet token starts with its version byte 0x80 and a 64-bit timestamp whose top bytes are zero for the
# next few thousand years: in URL-safe base64, "gAAAAA". Plain text starting so is not a token we wrote.
TOKEN_PREFIX = "gAAAAA"


# --- Keys ------------------------------------------------------------------------------------------------


def _derived(label: str, secret: str | None = None) -> bytes:
    """A key derived from SECRET_KEY (or one of its fallbacks): stable for one secret, different for each
    purpose."""
    secret = settings.SECRET_KEY if secret is None else secret
    return hashlib.sha256(f"sulh:{label}:{secret}".encode()).digest()


def encryption_keys() -> list[bytes]:
    """The Fernet keys, current first: SULH_ENCRYPTION_KEYS, then the key derived from SECRET_KEY, then those
    derived from SECRET_KEY_FALLBACKS. The derived key encrypts only when no key is configured; it stays in the
    list so that rows written before the keys were set (or before SECRET_KEY changed) still read until
    rotate_encryption_key has re-encrypted them under the current key."""
    configured = [key.strip().encode() for key in getattr(settings, "SULH_ENCRYPTION_KEYS", []) if key.strip()]
    keys = list(configured)
    for secret in [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]:
        derived = base64.urlsafe_b64encode(_derived("encryption", secret))
        if derived not in keys:
            keys.append(derived)
    return keys


def hash_key() -> bytes:
    configured = getattr(settings, "SULH_HASH_KEY", "").strip()
    return configured.encode() if configured else _derived("hash")


_BAD_KEY = "SULH_ENCRYPTION_KEYS must be comma-separated Fernet keys (32 url-safe base64-encoded bytes each)."


@lru_cache(maxsize=8)
def _multifernet(keys: tuple[bytes, ...]) -> MultiFernet:
    return MultiFernet([_current(key) for key in keys])


@lru_cache(maxsize=8)
def _current(key: bytes) -> Fernet:
    try:
        return Fernet(key)
    except ValueError:
        raise ImproperlyConfigured(_BAD_KEY) from None


def fernet() -> MultiFernet:
    # Looked up on every call (a dict hit) rather than once, so that tests may override the settings.
    return _multifernet(tuple(encryption_keys()))


def enabled() -> bool:
    return bool(getattr(settings, "SULH_ENCRYPTION", True))


# --- Values ----------------------------------------------------------------------------------------------


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def encrypt(text: str) -> str:
    """`text` as a Fernet token with the current key (or as it is with SULH_ENCRYPTION=off)."""
    if not enabled():
        return text
    return fernet().encrypt(text.encode()).decode("ascii")


def decrypt(value: str) -> str:
    """The plain text of a stored value: a token decrypted with any of the keys, plain text as it is."""
    if not is_token(value):
        return value
    try:
        return fernet().decrypt(value.encode("ascii")).decode()
    except InvalidToken:
        # A misconfiguration, not a client's doing: the key this row was written with is not in the list.
        raise ImproperlyConfigured(
            "A stored value cannot be decrypted with any key of SULH_ENCRYPTION_KEYS: "
            "keep the old keys in the list until rotate_encryption_key has run."
        ) from None


def encryptor() -> Callable[[str], str]:
    """encrypt(), resolved once for a bulk writer that calls it hundreds of thousands of times."""
    if not enabled():
        return lambda text: text
    encrypt_bytes = _current(encryption_keys()[0]).encrypt
    return lambda text: encrypt_bytes(text.encode()).decode("ascii") if text else text


def rotate(value: str) -> str | None:
    """The value re-encrypted with the current key, or None when it already is (or is empty). Plain text
    (written before encryption, or with the switch off) is encrypted."""
    if not value:
        return None
    if not is_token(value):
        return encrypt(value) if enabled() else None
    token = value.encode("ascii")
    try:
        _current(encryption_keys()[0]).decrypt(token)
        return None  # Already under the current key.
    except InvalidToken:
        pass
    try:
        return fernet().rotate(token).decode("ascii")
    except InvalidToken:
        raise ImproperlyConfigured(
            "A stored value cannot be decrypted with any key of SULH_ENCRYPTION_KEYS: add its key back."
        ) from None


def keyed_hash(text: str) -> str:
    """HMAC-SHA256 of `text` under SULH_HASH_KEY, 64 hex digits: equal texts, equal hashes; nothing else
    shows. The empty text hashes to the empty string (nothing to match on)."""
    if not text:
        return ""
    return hmac.new(hash_key(), text.encode(), hashlib.sha256).hexdigest()


# --- Model fields ----------------------------------------------------------------------------------------


class _OnlyIsNull:
    """An encrypted column holds a different token each time the same text is saved: an SQL comparison with
    anything but NULL cannot match, so such lookups are refused instead of quietly finding nothing.

    To the migrations the fields are plain TextFields (deconstruct): what they do happens in Python, the column
    is `text`, and migrations import no application code (tests/config/test_migrations.py)."""

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            return None
        return super().get_lookup(lookup_name)  # type: ignore[misc]

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()  # type: ignore[misc]  # The mixin's next class is a Field.
        return name, "django.db.models.TextField", args, kwargs


class EncryptedTextField(_OnlyIsNull, models.TextField):
    """Text stored encrypted. `max_length` is checked on the plain text (forms, full_clean); the column is
    `text`, as a token is about 4/3 of the text's UTF-8 bytes plus 80. The empty string stays empty."""

    description = "Text encrypted at rest"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.max_length is not None:
            self.validators.append(MaxLengthValidator(self.max_length))

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if not value:
            return value
        return decrypt(value)

    def formfield(self, **kwargs: Any) -> Any:
        # A short text (a name) keeps the one-line input it had as a CharField.
        if self.max_length is not None and "widget" not in kwargs:
            kwargs["widget"] = forms.TextInput
        return super().formfield(**kwargs)


class EncryptedJSONField(_OnlyIsNull, models.TextField):
    """A JSON value stored encrypted as a whole, in a `text` column: read back exactly as it was written (keys
    in the same order), unlike jsonb."""

    if TYPE_CHECKING:  # What django-stubs' plugin gives the model attribute: any JSON value, as JSONField.
        _pyi_private_set_type: Any
        _pyi_private_get_type: Any

    description = "JSON encrypted at rest"

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return encrypt(json_text(value))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return json.loads(decrypt(value))

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def value_to_string(self, obj: models.Model) -> str:
        return json_text(self.value_from_object(obj))


class PartlyEncryptedJSONField(models.JSONField):
    """A jsonb value whose strings under the `encrypted_keys` (at any depth) are stored encrypted, the rest in
    clear: for the case timeline, whose other keys the statistics read in SQL (`data->>'to'`) while an
    `agreement_recorded` event carries the terms' descriptions. Read back as it was written."""

    def __init__(self, *args: Any, encrypted_keys: tuple[str, ...] = (), **kwargs: Any) -> None:
        self.encrypted_keys = frozenset(encrypted_keys)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, _path, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs

    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(map_keys(value, self.encrypted_keys, encrypt_plain))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        value = super().from_db_value(value, expression, connection)
        return map_keys(value, self.encrypted_keys, decrypt)


def encrypt_plain(value: str) -> str:
    """encrypt(), leaving a token (or the empty string) as it is."""
    return value if not value or is_token(value) else encrypt(value)


def map_keys(value: Any, keys: frozenset[str], change: Callable[[str], str]) -> Any:
    """A copy of the JSON value with `change` applied to every string held under one of `keys`."""
    if isinstance(value, dict):
        return {
            k: change(v) if k in keys and isinstance(v, str) else map_keys(v, keys, change) for k, v in value.items()
        }
    if isinstance(value, list):
        return [map_keys(v, keys, change) for v in value]
    return value


def json_text(value: Any) -> str:
    """The JSON text an EncryptedJSONField encrypts (also what the generator writes)."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


# --- Every encrypted column, re-encrypted (rotate_encryption_key) ---------------------------------------------


def encrypted_columns() -> list[tuple[type[models.Model], models.Field[Any, Any]]]:
    """(model, field) of every encrypted field of every installed model."""
    from django.apps import apps

    kinds = (EncryptedTextField, EncryptedJSONField, PartlyEncryptedJSONField)
    return [
        (model, field)
        for model in apps.get_models()
        for field in model._meta.concrete_fields
        if isinstance(field, kinds)
    ]


def _ignoring_triggers(model: type[models.Model]) -> Any:
    """Updates to an append-only table (pgtrigger) allowed on this connection, inside the block only."""
    triggers = [f"{model._meta.label}:{trigger.name}" for trigger in getattr(model._meta, "triggers", [])]
    return pgtrigger.ignore(*triggers) if triggers and connection.vendor == "postgresql" else nullcontext()


def reencrypt_field(model: type[models.Model], field: models.Field[Any, Any], *, batch: int = 2000) -> tuple[int, int]:
    """Encrypt the field's plain values and re-encrypt its tokens under the current key, `batch` rows at a time
    in id order, each batch one transaction. Returns (rows rewritten, rows already current). Safe to run again,
    or after an interruption: a row already under the current key is left as it is. An append-only table's
    trigger (pgtrigger) is ignored for these updates only."""
    table, column = model._meta.db_table, field.column
    keys = field.encrypted_keys if isinstance(field, PartlyEncryptedJSONField) else None
    if keys is None:
        where, params = f'"{column}" IS NOT NULL AND "{column}" <> %s', [""]
    else:  # Only the rows whose JSON holds one of the keys.
        where = " OR ".join(f'CAST("{column}" AS text) LIKE %s' for _key in keys)
        params = [f'%"{key}"%' for key in sorted(keys)]
    changed = current = 0
    last = 0
    while True:
        with transaction.atomic(), _ignoring_triggers(model), connection.cursor() as cursor:
            cursor.execute(
                f'SELECT id, CAST("{column}" AS text) FROM "{table}" WHERE id > %s AND ({where}) ORDER BY id LIMIT %s',
                [last, *params, batch],
            )
            found = cursor.fetchall()
            if not found:
                return changed, current
            last = found[-1][0]
            updates = []
            for pk, value in found:
                new = rotate(value) if keys is None else _rotate_keys(value, keys)
                if new is None:
                    current += 1
                else:
                    updates.append((new, pk))
            cast = "" if keys is None or connection.vendor != "postgresql" else "::jsonb"
            for new, pk in updates:
                cursor.execute(f'UPDATE "{table}" SET "{column}" = %s{cast} WHERE id = %s', [new, pk])
            changed += len(updates)


def _rotate_keys(text: str, keys: frozenset[str]) -> str | None:
    """The JSON text with its values under `keys` rotated (rotate()), or None when none needed it."""
    rotated = False

    def change(value: str) -> str:
        nonlocal rotated
        new = rotate(value)
        if new is None:
            return value
        rotated = True
        return new

    value = map_keys(json.loads(text), keys, change)
    return json.dumps(value, ensure_ascii=False) if rotated else None


# --- Deployment checks -----------------------------------------------------------------------------------


@checks.register(checks.Tags.security, deploy=True)
def encryption_keys_given(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    # No keys configured is not an error: both are then derived from the deployment's SECRET_KEY (see above).
    try:
        fernet()
    except ImproperlyConfigured as error:
        errors.append(checks.Error(str(error), id="sulh.E101"))
    if not enabled():
        errors.append(
            checks.Error(
                "SULH_ENCRYPTION is off: names would be stored in clear. The switch is for benchmarks only.",
                id="sulh.E103",
            )
        )
    return errors
