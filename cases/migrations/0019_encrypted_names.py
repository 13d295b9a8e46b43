"""Names encrypted at rest (config/crypto.py): party names, case summaries, agreement terms and monitors' notes
become Fernet tokens in `text` columns, a party's `name_key` (its normalised name, in clear until now) becomes
the keyed hash of it, and the terms' descriptions that `agreement_recorded` events carry on the timeline are
encrypted inside the event's jsonb (the timeline is append-only: its trigger is told to let this rewrite
through, for this transaction only, as pgtrigger.ignore does).

The encryption is frozen here, as migrations import no application code: the same keys (SULH_ENCRYPTION_KEYS,
SULH_HASH_KEY, or the development keys derived from SECRET_KEY) and the same token and hash as config.crypto;
tests/config/test_encryption.py checks that they agree. Rows are rewritten in batches of BATCH, in id order.
"""

import base64
import hashlib
import hmac
import json

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import migrations, models

BATCH = 2000
TOKEN_PREFIX = "gAAAAA"
TIMELINE_TRIGGER = "pgtrigger_case_event_append_only_fc2da"  # As 0003 installed it.
COLUMNS = [
    ("cases_case", "summary"),
    ("cases_party", "name"),
    ("cases_term", "description"),
    ("cases_compliancecheck", "notes"),
]


def _derived(label):
    return hashlib.sha256(f"sulh:{label}:{settings.SECRET_KEY}".encode()).digest()


def _fernet():
    """The configured keys, current first, then the development key (the only one when none is configured)."""
    keys = [key.strip() for key in getattr(settings, "SULH_ENCRYPTION_KEYS", []) if key.strip()]
    keys.append(base64.urlsafe_b64encode(_derived("encryption")).decode())
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _hash_key():
    configured = getattr(settings, "SULH_HASH_KEY", "").strip()
    return configured.encode() if configured else _derived("hash")


def _rewrite(cursor, table, column, change):
    """Apply `change` (value → new value, or None to leave it) to the column's non-empty values, batched."""
    last = 0
    while True:
        cursor.execute(
            f'SELECT id, "{column}" FROM "{table}" WHERE id > %s AND "{column}" IS NOT NULL AND "{column}" <> %s '
            f"ORDER BY id LIMIT %s",
            [last, "", BATCH],
        )
        rows = cursor.fetchall()
        if not rows:
            return
        last = rows[-1][0]
        updates = [(new, pk) for pk, value in rows if (new := change(value)) is not None]
        if updates:
            cursor.executemany(f'UPDATE "{table}" SET "{column}" = %s WHERE id = %s', updates)


def encrypt_rows(apps, schema_editor):
    if not getattr(settings, "SULH_ENCRYPTION", True):
        return  # Plain text by choice (benchmarks only): rotate_encryption_key encrypts it later.
    fernet = _fernet()
    key = _hash_key()

    def encrypt(value):
        return None if value.startswith(TOKEN_PREFIX) else fernet.encrypt(value.encode()).decode()

    def hashed(value):
        # The normalised name becomes its keyed hash (64 hex digits; a normalised name never looks like one).
        if len(value) == 64 and all(c in "0123456789abcdef" for c in value):
            return None
        return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()

    with schema_editor.connection.cursor() as cursor:
        for table, column in COLUMNS:
            _rewrite(cursor, table, column, encrypt)
        _rewrite(cursor, "cases_party", "name_key", hashed)
        _timeline_terms(schema_editor.connection, cursor, encrypt)


def _timeline_terms(connection, cursor, change):
    """Apply `change` to the descriptions of the terms in `agreement_recorded` events (jsonb)."""
    postgres = connection.vendor == "postgresql"
    if postgres:
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", ["{" + TIMELINE_TRIGGER + "}"])
    last = 0
    while True:
        cursor.execute(
            "SELECT id, CAST(data AS text) FROM cases_caseevent WHERE id > %s AND kind = 'agreement_recorded' "
            "ORDER BY id LIMIT %s",
            [last, BATCH],
        )
        rows = cursor.fetchall()
        if not rows:
            break
        last = rows[-1][0]
        for pk, text in rows:
            data = json.loads(text)
            changed = False
            for term in data.get("terms") or []:
                value = term.get("description")
                if isinstance(value, str) and value and (new := change(value)) is not None:
                    term["description"], changed = new, True
            if changed:
                cast = "::jsonb" if postgres else ""
                cursor.execute(
                    f"UPDATE cases_caseevent SET data = %s{cast} WHERE id = %s",
                    [json.dumps(data, ensure_ascii=False), pk],
                )
    if postgres:
        cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", ["{}"])


def decrypt_rows(apps, schema_editor):
    """Back to plain text (the hashes cannot go back: the names' keys are made again from the names)."""
    fernet = _fernet()

    def decrypt(value):
        return fernet.decrypt(value.encode()).decode() if value.startswith(TOKEN_PREFIX) else None

    with schema_editor.connection.cursor() as cursor:
        for table, column in COLUMNS:
            _rewrite(cursor, table, column, decrypt)
        _timeline_terms(schema_editor.connection, cursor, decrypt)


class Migration(migrations.Migration):
    dependencies = [("cases", "0018_register")]

    operations = [
        migrations.AlterField(
            model_name="case",
            name="summary",
            field=models.TextField(blank=True, verbose_name="summary"),
        ),
        migrations.AlterField(
            model_name="party",
            name="name",
            field=models.TextField(max_length=200, verbose_name="name"),
        ),
        migrations.AlterField(
            model_name="term",
            name="description",
            field=models.TextField(verbose_name="description"),
        ),
        migrations.AlterField(
            model_name="compliancecheck",
            name="notes",
            field=models.TextField(blank=True, verbose_name="notes"),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
    ]
