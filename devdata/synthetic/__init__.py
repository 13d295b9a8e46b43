"""Synthetic cases with whole, valid histories: the engine behind `manage.py generate_synthetic`.

generate() adds the cases (run.py); what it writes, and why it looks as it does, is told where it is done:

  vocabulary   what cases are made of (vocabulary.toml), read once into weighted choices
  world        the regions, forums and synthetic staff the cases happen in
  drafts       a case being drafted: its rows, its moves, its pseudonyms, its event data
  validator    every move checked against the forum kind's workflow and its guards as it is made
  drafting     a case's history, step by step (HISTORY_STEPS): what makes the histories valid and plausible
  register     the recurrence register: the earlier cases a new case may be linked to
  run          the run: one random stream, the batches, generate(); what makes it deterministic
  writers      the tables written (TABLES), COPY, the writer threads, a first load's indexes; where the time goes
  encoding     times, amounts and JSON as text
"""

from .drafting import HISTORY_STEPS, REVIEW_TASK_DELAY
from .register import preload_rows, preload_rows_orm, preload_rows_sql
from .run import Report, default_until, generate
from .validator import GenerationError
from .world import history_present, world_ensure
from .writers import BULK_LOAD, TABLE_NAMES, TABLES, copy_batch, copy_text, deferrable_indexes, indexes_restore

__all__ = [
    "BULK_LOAD",
    "HISTORY_STEPS",
    "REVIEW_TASK_DELAY",
    "TABLES",
    "TABLE_NAMES",
    "GenerationError",
    "Report",
    "copy_batch",
    "copy_text",
    "default_until",
    "deferrable_indexes",
    "generate",
    "history_present",
    "indexes_restore",
    "preload_rows",
    "preload_rows_orm",
    "preload_rows_sql",
    "world_ensure",
]
