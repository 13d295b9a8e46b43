"""Session lines encrypted at rest (config/crypto.py): a session event's `data` (what was said or proposed, who
joined) becomes one Fernet token in a `text` column instead of jsonb, and so do proposals' text, agenda items'
titles and the names shown for participants and invitations.

The encryption is frozen here, as migrations import no application code: the same keys and tokens as
config.crypto (tests/config/test_encryption.py checks that they agree). Session events are append-only (a
trigger refuses UPDATE): the trigger is told to let this rewrite through, for this transaction only.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, MultiFernet
from django.conf import settings
from django.db import migrations, models

BATCH = 2000
TOKEN_PREFIX = "gAAAAA"
EVENT_TABLE = "deliberation_sessionevent"
EVENT_TRIGGER = "pgtrigger_session_event_append_only_1254a"  # As 0001_sessions installed it.
COLUMNS = [
    ("deliberation_participant", "display_name"),
    ("deliberation_invitation", "display_name"),
    ("deliberation_proposal", "text"),
    ("deliberation_agendaitem", "title"),
    (EVENT_TABLE, "data"),
]


def _fernet():
    """The configured keys, current first, then the development key (the only one when none is configured)."""
    keys = [key.strip() for key in getattr(settings, "SULH_ENCRYPTION_KEYS", []) if key.strip()]
    derived = hashlib.sha256(f"sulh:encryption:{settings.SECRET_KEY}".encode()).digest()
    keys.append(base64.urlsafe_b64encode(derived).decode())
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _rewrite(cursor, table, column, change):
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


def _each_column(schema_editor, change):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        for table, column in COLUMNS:
            guarded = table == EVENT_TABLE and connection.vendor == "postgresql"
            if guarded:  # As pgtrigger.ignore does: the trigger lets this transaction's updates through.
                cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", ["{" + EVENT_TRIGGER + "}"])
            _rewrite(cursor, table, column, change)
            if guarded:
                cursor.execute("SELECT set_config('pgtrigger.ignore', %s, true)", ["{}"])


def encrypt_rows(apps, schema_editor):
    if not getattr(settings, "SULH_ENCRYPTION", True):
        return  # Plain text by choice (benchmarks only): rotate_encryption_key encrypts it later.
    fernet = _fernet()
    _each_column(
        schema_editor,
        lambda value: None if value.startswith(TOKEN_PREFIX) else fernet.encrypt(value.encode()).decode(),
    )


def decrypt_rows(apps, schema_editor):
    fernet = _fernet()
    _each_column(
        schema_editor,
        lambda value: fernet.decrypt(value.encode()).decode() if value.startswith(TOKEN_PREFIX) else None,
    )


class Migration(migrations.Migration):
    dependencies = [("deliberation", "0001_sessions"), ("cases", "0019_encrypted_names")]

    operations = [
        migrations.AlterField(
            model_name="sessionevent",
            name="data",
            field=models.TextField(default=dict),
        ),
        migrations.AlterField(
            model_name="participant",
            name="display_name",
            field=models.TextField(max_length=120, verbose_name="name shown"),
        ),
        migrations.AlterField(
            model_name="invitation",
            name="display_name",
            field=models.TextField(max_length=120, verbose_name="name shown"),
        ),
        migrations.AlterField(
            model_name="proposal",
            name="text",
            field=models.TextField(verbose_name="text"),
        ),
        migrations.AlterField(
            model_name="agendaitem",
            name="title",
            field=models.TextField(max_length=200, verbose_name="title"),
        ),
        migrations.RunPython(encrypt_rows, decrypt_rows),
    ]
