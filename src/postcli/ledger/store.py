"""The send ledger's store: the only code that writes `.postcli/ledger.sqlite3`.

A row in `sends` is one send of one (issue, variant, provider, mode): live sends are unique per
generation (`--force` starts a new generation), test sends are rows of their own and never block
anything. Providers that deliver one message per subscriber (file, smtp) add a row per recipient.

Every step is committed on its own before and after each remote call, so a crash or a kill leaves
the ledger telling the truth:

- a send is `pending` -> `sending` -> `sent`, or `scheduled` (with `scheduled_for` in UTC, and a
  `remote_id` when the provider schedules it natively), or `failed` (with the error);
- a recipient is `pending` -> `sending` (committed right before the SMTP transaction) -> `sent`
  (committed right after the server's 250), or `failed`. A recipient found in `sending` by a later
  run is the one message whose fate is unknown: it is sent again with the same Message-ID and
  flagged `possibly_duplicate`.

The states are the enums of `postcli.model`, passed to SQLite as parameters. The database runs in
WAL mode with `synchronous=NORMAL`: a commit survives the process being killed at any point (the
data is in the operating system's hands), and concurrent readers such as `postcli status` never
block a send.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path

from postcli.errors import LedgerBusy
from postcli.ledger import schema
from postcli.ledger.holds import HoldsMixin
from postcli.ledger.recipients import RecipientsMixin
from postcli.ledger.records import (
    SendRecord,
    send_record,
)
from postcli.model import Edition, Mode, SendStatus
from postcli.times import iso, iso_or_none, utc_now

_LIVE = Mode.LIVE.value
# A live row in one of these states is taken up again by the next run instead of a new one.
_UNFINISHED = (SendStatus.PENDING, SendStatus.SENDING, SendStatus.FAILED, SendStatus.SCHEDULED)


def _is_busy(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED (with any extended code): another process holds the file."""
    return exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _busy(path: Path) -> LedgerBusy:
    return LedgerBusy(
        "the send ledger is locked by another process",
        path=path,
        hint="run the same command again; nothing was sent twice",
    )


class Ledger(HoldsMixin, RecipientsMixin):
    """The ledger database; every method that changes it commits before it returns."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.path = path
        self._clock = clock
        self._folded = False  # the index recipients_folded is known to exist
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open every transaction ourselves (BEGIN IMMEDIATE).
        self._db = sqlite3.connect(path, timeout=schema.BUSY_TIMEOUT, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute(f"PRAGMA busy_timeout = {int(schema.BUSY_TIMEOUT * 1000)}")
        # Switching to WAL, and the first schema, can meet SQLITE_BUSY without the busy handler
        # being asked (another process creating the file, or checkpointing as it closes): many
        # cron runs starting at once must wait for each other here, not fail.
        deadline = time.monotonic() + schema.BUSY_TIMEOUT
        while True:
            try:
                self._set_up()
                break
            except (sqlite3.OperationalError, LedgerBusy) as exc:
                busy = isinstance(exc, LedgerBusy) or _is_busy(exc)
                if not busy or time.monotonic() > deadline:
                    self._db.close()
                    if busy:
                        raise _busy(path) from None
                    raise
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                time.sleep(0.05)

    def _set_up(self) -> None:
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._db.execute("PRAGMA foreign_keys = ON")
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version < schema.SCHEMA_VERSION:
            with self._transaction() as db:
                for statement in schema.SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {schema.SCHEMA_VERSION}")

    @classmethod
    def open(cls, state_dir: Path, *, clock: Callable[[], datetime] = utc_now) -> Ledger:
        from postcli.oserrors import ledger_error

        path = state_dir / schema.LEDGER_NAME
        try:
            return cls(path, clock=clock)
        except (sqlite3.DatabaseError, OSError) as exc:  # read-only, damaged, no permission
            raise ledger_error(path, exc) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise _busy(self.path) from None
            from postcli.oserrors import ledger_error

            raise ledger_error(self.path, exc) from None
        try:
            yield self._db
        except BaseException as exc:
            self._db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.DatabaseError) and not _is_busy(exc):
                from postcli.oserrors import ledger_error

                raise ledger_error(self.path, exc) from None  # read-only, damaged
            raise
        self._db.execute("COMMIT")

    def _now(self) -> str:
        return iso(self._clock())

    # -- sends -----------------------------------------------------------------------------

    def _read(self, sql: str, args: Sequence[object] = ()) -> sqlite3.Cursor:
        """A query outside a transaction; a database locked past BUSY_TIMEOUT is LedgerBusy."""
        try:
            return self._db.execute(sql, args)
        except sqlite3.OperationalError as exc:
            if _is_busy(exc):
                raise _busy(self.path) from None
            raise

    def get(self, send_id: int) -> SendRecord:
        row = self._read("SELECT * FROM sends WHERE id = ?", (send_id,)).fetchone()
        if row is None:
            raise KeyError(send_id)
        return send_record(row)

    def current(self, issue_id: str, variant: Edition, provider: str) -> SendRecord | None:
        """The latest live send of (issue, variant, provider), or None."""
        row = self._read(
            "SELECT * FROM sends WHERE issue_id = ? AND variant = ? AND provider = ?"
            " AND mode = ?"
            " ORDER BY generation DESC LIMIT 1",
            (issue_id, str(variant), provider, _LIVE),
        ).fetchone()
        return send_record(row) if row else None

    def sends(self, issue_id: str | None = None, *, mode: Mode | None = None) -> list[SendRecord]:
        """Sends, oldest first; of one issue, and of one mode, when asked."""
        query, args = "SELECT * FROM sends WHERE 1 = 1", list[str]()
        if issue_id is not None:
            query += " AND issue_id = ?"
            args.append(issue_id)
        if mode is not None:
            query += " AND mode = ?"
            args.append(Mode(mode).value)
        rows = self._read(query + " ORDER BY issue_id, variant, id", args).fetchall()
        return [send_record(row) for row in rows]

    def latest_live(self, issue_id: str | None = None) -> list[SendRecord]:
        """The current generation of every live (issue, variant, provider)."""
        latest = []
        for record in self.sends(issue_id, mode=Mode.LIVE):
            current = self.current(record.issue_id, record.variant, record.provider)
            # By id, as it is now: another process may have moved it on since the first read.
            if current is not None and current.id == record.id:
                latest.append(current)
        return latest

    def due(self, now: datetime) -> list[SendRecord]:
        """Live sends scheduled in the ledger (not on the provider) whose time has come."""
        rows = self._read(
            "SELECT * FROM sends AS s WHERE mode = ? AND status = ?"
            " AND remote_id IS NULL AND scheduled_for <= ? AND generation = ("
            "   SELECT MAX(generation) FROM sends WHERE mode = ? AND issue_id = s.issue_id"
            "   AND variant = s.variant AND provider = s.provider)"
            " ORDER BY scheduled_for, id",
            (_LIVE, SendStatus.SCHEDULED.value, iso(now), _LIVE),
        ).fetchall()
        return [send_record(row) for row in rows]

    def begin(
        self,
        issue_id: str,
        variant: Edition,
        provider: str,
        *,
        content_hash: str,
        campaign_name: str | None = None,
        subject: str | None = None,
        mode: Mode = Mode.LIVE,
        target: str | None = None,
        new_generation: bool = False,
    ) -> SendRecord:
        """The send to work on: the current live one when it is unfinished (a resume), else a new
        row in 'pending'. `new_generation` starts over after a finished send (--force)."""
        mode = Mode(mode)
        now = self._now()
        with self._transaction() as db:
            generation = 1
            if mode is Mode.LIVE:
                row = db.execute(
                    "SELECT * FROM sends WHERE issue_id = ? AND variant = ? AND provider = ?"
                    " AND mode = ? ORDER BY generation DESC LIMIT 1",
                    (issue_id, str(variant), provider, _LIVE),
                ).fetchone()
                if row is not None:
                    if not new_generation and row["status"] in _UNFINISHED:
                        db.execute(
                            "UPDATE sends SET content_hash = ?,"
                            " campaign_name = COALESCE(?, campaign_name),"
                            " subject = COALESCE(?, subject), updated_at = ? WHERE id = ?",
                            (content_hash, campaign_name, subject, now, row["id"]),
                        )
                        return send_record(
                            db.execute("SELECT * FROM sends WHERE id = ?", (row["id"],)).fetchone()
                        )
                    generation = row["generation"] + 1
            cursor = db.execute(
                "INSERT INTO sends (issue_id, variant, provider, mode, generation, status,"
                " content_hash, campaign_name, subject, target, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    issue_id,
                    str(variant),
                    provider,
                    mode.value,
                    generation,
                    SendStatus.PENDING.value,
                    content_hash,
                    campaign_name,
                    subject,
                    target,
                    now,
                    now,
                ),
            )
            send_id = cursor.lastrowid
            return send_record(
                db.execute("SELECT * FROM sends WHERE id = ?", (send_id,)).fetchone()
            )

    def set_status(
        self,
        send_id: int,
        status: SendStatus,
        *,
        error: str | None = None,
        remote_id: str | None = None,
        scheduled_for: datetime | None = None,
    ) -> SendRecord:
        """Move a send to `status`; `error` is cleared unless given; ids and times are kept
        unless given."""
        status = SendStatus(status)
        now = self._now()
        with self._transaction() as db:
            db.execute(
                "UPDATE sends SET status = ?, error = ?, remote_id = COALESCE(?, remote_id),"
                " scheduled_for = COALESCE(?, scheduled_for), updated_at = ?,"
                " sent_at = CASE WHEN ? THEN ? ELSE sent_at END WHERE id = ?",
                (
                    status.value,
                    error,
                    remote_id,
                    iso_or_none(scheduled_for),
                    now,
                    status is SendStatus.SENT,
                    now,
                    send_id,
                ),
            )
        return self.get(send_id)

    def set_remote_id(self, send_id: int, remote_id: str) -> None:
        """Record the provider's id as soon as it exists, before the next remote call."""
        with self._transaction() as db:
            db.execute(
                "UPDATE sends SET remote_id = ?, updated_at = ? WHERE id = ?",
                (remote_id, self._now(), send_id),
            )

    def rename(self, send_id: int, campaign_name: str) -> None:
        """The stable campaign name of a send (a --force re-send gets its own)."""
        with self._transaction() as db:
            db.execute(
                "UPDATE sends SET campaign_name = ?, updated_at = ? WHERE id = ?",
                (campaign_name, self._now(), send_id),
            )
