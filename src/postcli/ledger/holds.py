"""The ledger's steps for `postcli unschedule` and for moving a provider's campaign: the holds
table, and forgetting a cancelled campaign's id. A part of `Ledger` (store.py), kept apart."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from postcli.model import Edition


class HoldsMixin:
    """Mixed into `Ledger`, whose transaction, reader and clock these use."""

    if TYPE_CHECKING:  # provided by Ledger; declared here for the type checker only

        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _read(self, sql: str, args: Sequence[object] = ()) -> sqlite3.Cursor: ...

        def _now(self) -> str: ...

    def forget_remote(self, send_id: int) -> None:
        """The provider's campaign was cancelled: the send has no remote campaign any more."""
        with self._transaction() as db:
            db.execute(
                "UPDATE sends SET remote_id = NULL, updated_at = ? WHERE id = ?",
                (self._now(), send_id),
            )

    def hold(self, issue_id: str, variant: Edition, provider: str) -> None:
        """`send --due` leaves (issue, variant, provider) alone until `release`."""
        with self._transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO holds (issue_id, variant, provider, created_at)"
                " VALUES (?, ?, ?, ?)",
                (issue_id, str(variant), provider, self._now()),
            )

    def release(self, issue_id: str, variant: Edition, provider: str) -> bool:
        """Drop a hold; True when there was one."""
        with self._transaction() as db:
            cursor = db.execute(
                "DELETE FROM holds WHERE issue_id = ? AND variant = ? AND provider = ?",
                (issue_id, str(variant), provider),
            )
            return cursor.rowcount > 0

    def holds(self) -> set[tuple[str, str, str]]:
        """Every (issue_id, variant, provider) held."""
        rows = self._read("SELECT issue_id, variant, provider FROM holds").fetchall()
        return {(row["issue_id"], row["variant"], row["provider"]) for row in rows}
