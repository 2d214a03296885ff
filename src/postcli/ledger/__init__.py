"""The send ledger (`.postcli/ledger.sqlite3`) and the per-issue lock beside it.

    schema.py    the tables, their version, the busy timeout
    records.py   rows as values: SendRecord, RecipientRecord, RecipientCounts
    store.py     Ledger: the only code that writes the database; one commit per step
    lock.py      issue_lock / lock_held: the per-issue process lock

The names below are the package's public face; import them from here.
"""

from __future__ import annotations

from postcli.errors import LedgerBusy, SendInProgress
from postcli.ledger.lock import issue_lock, lock_held
from postcli.ledger.records import RecipientCounts, RecipientRecord, SendRecord
from postcli.ledger.schema import BUSY_TIMEOUT, LEDGER_NAME, SCHEMA_VERSION
from postcli.ledger.store import Ledger

__all__ = [
    "BUSY_TIMEOUT",
    "LEDGER_NAME",
    "SCHEMA_VERSION",
    "Ledger",
    "LedgerBusy",
    "RecipientCounts",
    "RecipientRecord",
    "SendInProgress",
    "SendRecord",
    "issue_lock",
    "lock_held",
]
