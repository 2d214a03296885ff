"""The ledger's steps for per-recipient sends: the recipients table, a row per subscriber of a
send, with the state of its one message (see store.py). A part of `Ledger`, kept apart."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from postcli.ledger import schema
from postcli.ledger.records import RecipientCounts, RecipientRecord, recipient_record
from postcli.model import RecipientStatus

# SQLite's planner, without statistics, prefers the primary key (send_id, email) and scans a
# send's every row for `lower(email) = ?`: the lookups by address without case name the index.
_BY_FOLDED = f"INDEXED BY {schema.FOLDED_INDEX_NAME}"


class RecipientsMixin:
    """Mixed into `Ledger`, whose transaction, reader and clock these use."""

    _folded: bool  # whether the ledger has the recipients_folded index (Ledger sets it)

    if TYPE_CHECKING:  # provided by Ledger; declared here for the type checker only

        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _read(self, sql: str, args: Sequence[object] = ()) -> sqlite3.Cursor: ...

        def _now(self) -> str: ...

    def add_recipients(self, send_id: int, recipients: Iterable[tuple[str, str | None]]) -> None:
        """Add (email, tier) rows in 'pending'; ones already there keep their state."""
        now = self._now()
        with self._transaction() as db:
            db.execute(schema.FOLDED_INDEX)  # a ledger older than the index gets it here
            db.executemany(
                "INSERT OR IGNORE INTO recipients (send_id, email, tier, status, updated_at)"
                " VALUES (?, ?, ?, ?, ?)",
                [
                    (send_id, email, tier, RecipientStatus.PENDING.value, now)
                    for email, tier in recipients
                ],
            )

    def add_new_recipients(
        self, send_id: int, recipients: Iterable[tuple[str, str | None]]
    ) -> None:
        """`add_recipients` for the (email, tier) rows whose address, without case, the send
        has no row for yet (an earlier run may have written it with other capitals)."""
        now = self._now()
        pending = RecipientStatus.PENDING.value
        with self._transaction() as db:
            db.execute(schema.FOLDED_INDEX)  # a ledger older than the index gets it here
            db.executemany(
                "INSERT OR IGNORE INTO recipients (send_id, email, tier, status, updated_at)"
                " SELECT ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM recipients"
                f" {_BY_FOLDED} WHERE send_id = ? AND lower(email) = ?)",
                [
                    (send_id, email, tier, pending, now, send_id, email.lower())
                    for email, tier in recipients
                ],
            )

    def recipient_states(self, send_id: int, emails: Sequence[str]) -> dict[str, RecipientRecord]:
        """The rows of these addresses (at most 500), by their address lower-cased; one query
        on the index, so a long list is looked up a chunk at a time."""
        if not emails:
            return {}
        marks = ", ".join("?" * len(emails))
        indexed = _BY_FOLDED if self._has_folded_index() else ""
        rows = self._read(
            f"SELECT * FROM recipients {indexed} WHERE send_id = ? AND lower(email) IN ({marks})",
            (send_id, *(email.lower() for email in emails)),
        ).fetchall()
        return {row["email"].lower(): recipient_record(row) for row in rows}

    def _has_folded_index(self) -> bool:
        """Whether the ledger has `recipients_folded` yet (an older one gets it on the first
        recipient write); once it has, it keeps it."""
        if not self._folded:
            row = self._read(
                "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?",
                (schema.FOLDED_INDEX_NAME,),
            ).fetchone()
            self._folded = row is not None
        return self._folded

    def recipients(self, send_id: int) -> dict[str, RecipientRecord]:
        rows = self._read(
            "SELECT * FROM recipients WHERE send_id = ? ORDER BY rowid", (send_id,)
        ).fetchall()
        return {row["email"]: recipient_record(row) for row in rows}

    def mark_sending(self, send_id: int, email: str, message_id: str) -> bool:
        """Committed right before the transaction with the server. Returns True when the
        recipient was already 'sending': a previous run died not knowing if it went out."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT status FROM recipients WHERE send_id = ? AND email = ?", (send_id, email)
            ).fetchone()
            sending = RecipientStatus.SENDING
            in_flight = row is not None and row["status"] == sending
            db.execute(
                "UPDATE recipients SET status = ?, message_id = ?, attempts = attempts + 1,"
                " possibly_duplicate = possibly_duplicate OR ?, error = NULL, updated_at = ?"
                " WHERE send_id = ? AND email = ?",
                (sending.value, message_id, int(in_flight), self._now(), send_id, email),
            )
        return in_flight

    def mark_sent(self, send_id: int, email: str, *, possibly_duplicate: bool = False) -> None:
        """Committed right after the server's 250. `possibly_duplicate`: the transport resent it
        after a lost reply."""
        self.mark_recipients(send_id, [(email, RecipientStatus.SENT, None, possibly_duplicate)])

    def mark_failed(self, send_id: int, email: str, error: str) -> None:
        """Refused for good, with the server's answer: no later run sends it."""
        self.mark_recipients(send_id, [(email, RecipientStatus.FAILED, error, False)])

    def put_back(self, send_id: int, email: str, error: str | None) -> None:
        """Not sent after all (the reason kept, if known): back to 'pending', for the next run."""
        self.mark_recipients(send_id, [(email, RecipientStatus.PENDING, error, False)])

    def mark_sending_many(self, send_id: int, rows: Sequence[tuple[str, str]]) -> set[str]:
        """`mark_sending` for a batch of (email, message_id), in one commit, right before the one
        call that carries them all. Returns the emails that were already 'sending'."""
        now = self._now()
        wanted = {email for email, _ in rows}
        sending = RecipientStatus.SENDING.value
        with self._transaction() as db:
            in_flight = {
                row["email"]
                for row in db.execute(
                    "SELECT email FROM recipients WHERE send_id = ? AND status = ?",
                    (send_id, sending),
                )
                if row["email"] in wanted
            }
            # Every expression of an UPDATE reads the row as it was: `status = ?` in the SET of
            # possibly_duplicate is the old status.
            db.executemany(
                "UPDATE recipients SET possibly_duplicate = possibly_duplicate OR"
                " (status = ?), status = ?, message_id = ?,"
                " attempts = attempts + 1, error = NULL, updated_at = ?"
                " WHERE send_id = ? AND email = ?",
                [(sending, sending, message_id, now, send_id, email) for email, message_id in rows],
            )
        return in_flight

    def mark_recipients(
        self, send_id: int, outcomes: Iterable[tuple[str, RecipientStatus, str | None, bool]]
    ) -> None:
        """Recipients' outcomes, (email, status, error, possibly_duplicate) each, in one commit:
        a bulk provider's answer to a batch, or one recipient's (mark_sent, mark_failed,
        put_back)."""
        now = self._now()
        rows = [
            (RecipientStatus(status).value, error, now, int(duplicate), send_id, email)
            for email, status, error, duplicate in outcomes
        ]
        with self._transaction() as db:
            db.executemany(
                "UPDATE recipients SET status = ?, error = ?, updated_at = ?,"
                " possibly_duplicate = possibly_duplicate OR ?"
                " WHERE send_id = ? AND email = ?",
                rows,
            )

    def counts(self, send_id: int) -> RecipientCounts:
        row = self._read(
            "SELECT COUNT(*) AS total,"
            " SUM(status = ?) AS pending, SUM(status = ?) AS sending,"
            " SUM(status = ?) AS sent, SUM(status = ?) AS failed,"
            " SUM(possibly_duplicate) AS possibly_duplicate"
            " FROM recipients WHERE send_id = ?",
            (
                RecipientStatus.PENDING.value,
                RecipientStatus.SENDING.value,
                RecipientStatus.SENT.value,
                RecipientStatus.FAILED.value,
                send_id,
            ),
        ).fetchone()
        per_status = {status.value: row[status.value] or 0 for status in RecipientStatus}
        return RecipientCounts(
            total=row["total"] or 0,
            possibly_duplicate=row["possibly_duplicate"] or 0,
            **per_status,
        )
