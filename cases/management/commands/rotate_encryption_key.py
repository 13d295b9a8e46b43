"""`python manage.py rotate_encryption_key`: re-encrypt every encrypted column with the current key (the first of
SULH_ENCRYPTION_KEYS) and recompute the keyed hashes of party names (SULH_HASH_KEY). Batched and idempotent: a
second run rewrites nothing. See config/crypto.py and the README's "Encryption at rest"."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cases.services.opening import party_name_keys_refresh
from config import crypto


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted column with the first key of SULH_ENCRYPTION_KEYS (keep the old keys listed "
        "until this has run) and recompute the keyed hashes of party names under SULH_HASH_KEY."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch", type=int, default=2000, help="Rows per transaction (default 2000).")

    def handle(self, *args: Any, batch: int, **options: Any) -> None:
        if not crypto.enabled():
            self.stderr.write("SULH_ENCRYPTION is off: nothing to encrypt with.")
            return
        total = 0
        for model, field in crypto.encrypted_columns():
            changed, current = crypto.reencrypt_field(model, field, batch=max(1, batch))
            total += changed
            where = f"{model._meta.db_table}.{field.column}"
            self.stdout.write(f"{where}: {changed} re-encrypted, {current} already current")
        changed, current = party_name_keys_refresh(batch=max(1, batch))
        self.stdout.write(f"cases_party.name_key: {changed} recomputed, {current} already current")
        self.stdout.write(f"{total} values re-encrypted, {changed} name hashes recomputed")
