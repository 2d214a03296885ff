"""The send ledger: `.postcli/ledger.sqlite3`, and the per-issue process lock beside it.

Owns every write to the ledger database; nothing else in postcli opens it for writing. A row in
`sends` is one send of one (issue, variant, provider, mode): live sends are unique per generation
(`--force` starts a new generation), test sends are rows of their own and never block anything.
Providers that deliver one message per subscriber (file, smtp) add a row per recipient.

Every step is committed on its own before and after each remote call, so a crash or a kill leaves
the ledger telling the truth:

- a send is `pending` -> `sending` -> `sent`, or `scheduled` (with `scheduled_for` in UTC, and a
  `remote_id` when the provider schedules it natively), or `failed` (with the error);
- a recipient is `pending` -> `sending` (committed right before the SMTP transaction) -> `sent`
  (committed right after the server's 250), or `failed`. A recipient found in `sending` by a later
  run is the one message whose fate is unknown: it is sent again with the same Message-ID and
  flagged `possibly_duplicate`.

The database runs in WAL mode with `synchronous=NORMAL`: a commit survives the process being
killed at any point (the data is in the operating system's hands), and concurrent readers such as
`postcli status` never block a send. The lock (`fcntl.flock` on `.postcli/locks/<issue>.lock`)
is released by the operating system when its process dies, even by SIGKILL.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from postcli.errors import ProviderUnavailable

LEDGER_NAME = "ledger.sqlite3"
SCHEMA_VERSION = 1

SEND_STATUSES = ("pending", "scheduled", "sending", "sent", "failed")
RECIPIENT_STATUSES = ("pending", "sending", "sent", "failed")
MODES = ("live", "test")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sends (
    id              INTEGER PRIMARY KEY,
    issue_id        TEXT NOT NULL,
    variant         TEXT NOT NULL,
    provider        TEXT NOT NULL,
    mode            TEXT NOT NULL CHECK (mode IN ('live', 'test')),
    generation      INTEGER NOT NULL DEFAULT 1,
    status          TEXT NOT NULL
                    CHECK (status IN ('pending', 'scheduled', 'sending', 'sent', 'failed')),
    content_hash    TEXT NOT NULL,
    campaign_name   TEXT,
    subject         TEXT,
    target          TEXT,            -- the address of a test send
    scheduled_for   TEXT,            -- UTC, ISO 8601
    remote_id       TEXT,            -- the provider's id of the campaign, post or schedule
    error           TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS sends_live
    ON sends (issue_id, variant, provider, generation) WHERE mode = 'live';
CREATE INDEX IF NOT EXISTS sends_issue ON sends (issue_id);
CREATE INDEX IF NOT EXISTS sends_due ON sends (status, scheduled_for);

CREATE TABLE IF NOT EXISTS recipients (
    send_id             INTEGER NOT NULL REFERENCES sends (id),
    email               TEXT NOT NULL,
    tier                TEXT,
    status              TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    message_id          TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0,
    possibly_duplicate  INTEGER NOT NULL DEFAULT 0,
    error               TEXT,
    updated_at          TEXT NOT NULL,
    PRIMARY KEY (send_id, email)
);
"""


# Seconds a ledger step waits for another process's write (or its opening of the database).
BUSY_TIMEOUT = 30.0


class SendInProgress(ProviderUnavailable):
    """Another postcli process holds the lock of this issue: it is sending it right now."""


class LedgerBusy(ProviderUnavailable):
    """The ledger stayed locked by another process longer than BUSY_TIMEOUT: exit 4, like any
    other "run again later", never a traceback (cron runs overlap)."""


def _is_busy(exc: sqlite3.Error) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _busy(path: Path) -> LedgerBusy:
    return LedgerBusy(
        "the send ledger is locked by another process",
        path=path,
        hint="run the same command again; nothing was sent twice",
    )


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("ledger times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


@dataclass(frozen=True)
class SendRecord:
    id: int
    issue_id: str
    variant: str
    provider: str
    mode: str
    generation: int
    status: str
    content_hash: str
    campaign_name: str | None
    subject: str | None
    target: str | None
    scheduled_for: datetime | None
    remote_id: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None

    @property
    def done(self) -> bool:
        """Sent or scheduled: sending it again needs --force."""
        return self.status in ("sent", "scheduled")

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "issue": self.issue_id,
            "variant": self.variant,
            "provider": self.provider,
            "mode": self.mode,
            "generation": self.generation,
            "status": self.status,
            "content_hash": self.content_hash,
            "campaign_name": self.campaign_name,
            "subject": self.subject,
            "target": self.target,
            "scheduled_for": iso(self.scheduled_for),
            "remote_id": self.remote_id,
            "error": self.error,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "sent_at": iso(self.sent_at),
        }


@dataclass(frozen=True)
class RecipientRecord:
    email: str
    tier: str | None
    status: str
    message_id: str | None
    attempts: int
    possibly_duplicate: bool
    error: str | None


@dataclass(frozen=True)
class RecipientCounts:
    total: int = 0
    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    possibly_duplicate: int = 0

    def to_json(self) -> dict[str, int]:
        return dict(self.__dict__)


def _send_record(row: sqlite3.Row) -> SendRecord:
    return SendRecord(
        id=row["id"],
        issue_id=row["issue_id"],
        variant=row["variant"],
        provider=row["provider"],
        mode=row["mode"],
        generation=row["generation"],
        status=row["status"],
        content_hash=row["content_hash"],
        campaign_name=row["campaign_name"],
        subject=row["subject"],
        target=row["target"],
        scheduled_for=parse_time(row["scheduled_for"]),
        remote_id=row["remote_id"],
        error=row["error"],
        created_at=parse_time(row["created_at"]) or utc_now(),
        updated_at=parse_time(row["updated_at"]) or utc_now(),
        sent_at=parse_time(row["sent_at"]),
    )


class Ledger:
    """The ledger database; every method that changes it commits before it returns."""

    def __init__(self, path: Path, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.path = path
        self._clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open every transaction ourselves (BEGIN IMMEDIATE).
        self._db = sqlite3.connect(path, timeout=BUSY_TIMEOUT, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        # Switching to WAL, and the first schema, can meet SQLITE_BUSY without the busy handler
        # being asked (another process creating the file, or checkpointing as it closes): many
        # cron runs starting at once must wait for each other here, not fail.
        deadline = time.monotonic() + BUSY_TIMEOUT
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
        if version < SCHEMA_VERSION:
            with self._transaction() as db:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @classmethod
    def open(cls, state_dir: Path, *, clock: Callable[[], datetime] = utc_now) -> Ledger:
        from postcli.oserrors import ledger_error

        path = state_dir / LEDGER_NAME
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
        stamp = iso(self._clock())
        assert stamp is not None
        return stamp

    # -- sends -----------------------------------------------------------------------------

    def _read(self, sql: str, args: Any = ()) -> sqlite3.Cursor:
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
        return _send_record(row)

    def current(self, issue_id: str, variant: str, provider: str) -> SendRecord | None:
        """The latest live send of (issue, variant, provider), or None."""
        row = self._read(
            "SELECT * FROM sends WHERE issue_id = ? AND variant = ? AND provider = ?"
            " AND mode = 'live'"
            " ORDER BY generation DESC LIMIT 1",
            (issue_id, variant, provider),
        ).fetchone()
        return _send_record(row) if row else None

    def sends(self, issue_id: str | None = None, *, mode: str | None = None) -> list[SendRecord]:
        """Sends, oldest first; of one issue, and of one mode, when asked."""
        query, args = "SELECT * FROM sends WHERE 1 = 1", []
        if issue_id is not None:
            query += " AND issue_id = ?"
            args.append(issue_id)
        if mode is not None:
            query += " AND mode = ?"
            args.append(mode)
        rows = self._read(query + " ORDER BY issue_id, variant, id", args).fetchall()
        return [_send_record(row) for row in rows]

    def latest_live(self, issue_id: str | None = None) -> list[SendRecord]:
        """The current generation of every live (issue, variant, provider)."""
        latest = []
        for record in self.sends(issue_id, mode="live"):
            current = self.current(record.issue_id, record.variant, record.provider)
            # By id, as it is now: another process may have moved it on since the first read.
            if current is not None and current.id == record.id:
                latest.append(current)
        return latest

    def due(self, now: datetime) -> list[SendRecord]:
        """Live sends scheduled in the ledger (not on the provider) whose time has come."""
        rows = self._read(
            "SELECT * FROM sends AS s WHERE mode = 'live' AND status = 'scheduled'"
            " AND remote_id IS NULL AND scheduled_for <= ? AND generation = ("
            "   SELECT MAX(generation) FROM sends WHERE mode = 'live' AND issue_id = s.issue_id"
            "   AND variant = s.variant AND provider = s.provider)"
            " ORDER BY scheduled_for, id",
            (iso(now),),
        ).fetchall()
        return [_send_record(row) for row in rows]

    def begin(
        self,
        issue_id: str,
        variant: str,
        provider: str,
        *,
        content_hash: str,
        campaign_name: str | None = None,
        subject: str | None = None,
        mode: str = "live",
        target: str | None = None,
        new_generation: bool = False,
    ) -> SendRecord:
        """The send to work on: the current live one when it is unfinished (a resume), else a new
        row in 'pending'. `new_generation` starts over after a finished send (--force)."""
        if mode not in MODES:
            raise ValueError(mode)
        now = self._now()
        with self._transaction() as db:
            generation = 1
            if mode == "live":
                row = db.execute(
                    "SELECT * FROM sends WHERE issue_id = ? AND variant = ? AND provider = ?"
                    " AND mode = 'live' ORDER BY generation DESC LIMIT 1",
                    (issue_id, variant, provider),
                ).fetchone()
                if row is not None:
                    if not new_generation and row["status"] in (
                        "pending",
                        "sending",
                        "failed",
                        "scheduled",
                    ):
                        db.execute(
                            "UPDATE sends SET content_hash = ?,"
                            " campaign_name = COALESCE(?, campaign_name),"
                            " subject = COALESCE(?, subject), updated_at = ? WHERE id = ?",
                            (content_hash, campaign_name, subject, now, row["id"]),
                        )
                        return _send_record(
                            db.execute("SELECT * FROM sends WHERE id = ?", (row["id"],)).fetchone()
                        )
                    generation = row["generation"] + 1
            cursor = db.execute(
                "INSERT INTO sends (issue_id, variant, provider, mode, generation, status,"
                " content_hash, campaign_name, subject, target, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
                (
                    issue_id,
                    variant,
                    provider,
                    mode,
                    generation,
                    content_hash,
                    campaign_name,
                    subject,
                    target,
                    now,
                    now,
                ),
            )
            send_id = cursor.lastrowid
            return _send_record(
                db.execute("SELECT * FROM sends WHERE id = ?", (send_id,)).fetchone()
            )

    def set_status(
        self,
        send_id: int,
        status: str,
        *,
        error: str | None = None,
        remote_id: str | None = None,
        scheduled_for: datetime | None = None,
    ) -> SendRecord:
        """Move a send to `status`; `error` is cleared unless given; ids and times are kept
        unless given."""
        if status not in SEND_STATUSES:
            raise ValueError(status)
        now = self._now()
        with self._transaction() as db:
            db.execute(
                "UPDATE sends SET status = ?, error = ?, remote_id = COALESCE(?, remote_id),"
                " scheduled_for = COALESCE(?, scheduled_for), updated_at = ?,"
                " sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
                (status, error, remote_id, iso(scheduled_for), now, status, now, send_id),
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

    # -- recipients ------------------------------------------------------------------------

    def add_recipients(self, send_id: int, recipients: Iterable[tuple[str, str | None]]) -> None:
        """Add (email, tier) rows in 'pending'; ones already there keep their state."""
        now = self._now()
        with self._transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO recipients (send_id, email, tier, status, updated_at)"
                " VALUES (?, ?, ?, 'pending', ?)",
                [(send_id, email, tier, now) for email, tier in recipients],
            )

    def recipients(self, send_id: int) -> dict[str, RecipientRecord]:
        rows = self._read(
            "SELECT * FROM recipients WHERE send_id = ? ORDER BY rowid", (send_id,)
        ).fetchall()
        return {
            row["email"]: RecipientRecord(
                email=row["email"],
                tier=row["tier"],
                status=row["status"],
                message_id=row["message_id"],
                attempts=row["attempts"],
                possibly_duplicate=bool(row["possibly_duplicate"]),
                error=row["error"],
            )
            for row in rows
        }

    def mark_sending(self, send_id: int, email: str, message_id: str) -> bool:
        """Committed right before the transaction with the server. Returns True when the
        recipient was already 'sending': a previous run died not knowing if it went out."""
        with self._transaction() as db:
            row = db.execute(
                "SELECT status FROM recipients WHERE send_id = ? AND email = ?", (send_id, email)
            ).fetchone()
            in_flight = row is not None and row["status"] == "sending"
            db.execute(
                "UPDATE recipients SET status = 'sending', message_id = ?, attempts = attempts + 1,"
                " possibly_duplicate = possibly_duplicate OR ?, error = NULL, updated_at = ?"
                " WHERE send_id = ? AND email = ?",
                (message_id, int(in_flight), self._now(), send_id, email),
            )
        return in_flight

    def mark_recipient(
        self,
        send_id: int,
        email: str,
        status: str,
        *,
        error: str | None = None,
        possibly_duplicate: bool = False,
    ) -> None:
        """'sent' is committed right after the server's 250; 'failed' with the server's answer.
        `possibly_duplicate`: the transport resent it after a lost reply."""
        if status not in RECIPIENT_STATUSES:
            raise ValueError(status)
        with self._transaction() as db:
            db.execute(
                "UPDATE recipients SET status = ?, error = ?, updated_at = ?,"
                " possibly_duplicate = possibly_duplicate OR ?"
                " WHERE send_id = ? AND email = ?",
                (status, error, self._now(), int(possibly_duplicate), send_id, email),
            )

    def counts(self, send_id: int) -> RecipientCounts:
        row = self._read(
            "SELECT COUNT(*) AS total,"
            " SUM(status = 'pending') AS pending, SUM(status = 'sending') AS sending,"
            " SUM(status = 'sent') AS sent, SUM(status = 'failed') AS failed,"
            " SUM(possibly_duplicate) AS possibly_duplicate"
            " FROM recipients WHERE send_id = ?",
            (send_id,),
        ).fetchone()
        return RecipientCounts(**{key: row[key] or 0 for key in row.keys()})  # noqa: SIM118


# -- the per-issue process lock --------------------------------------------------------------


@contextlib.contextmanager
def issue_lock(
    state_dir: Path,
    issue_id: str,
    *,
    wait: float = 3.0,
    poll: float = 0.05,
) -> Iterator[None]:
    """Hold the lock of one issue while sending it. Waits up to `wait` seconds for another
    process to let go, then raises SendInProgress. The operating system drops the lock when the
    holder dies, however it dies."""
    folder = state_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{issue_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SendInProgress(
                        f"another postcli process is sending {issue_id} right now",
                        path=path,
                        hint="let it finish, then see 'postcli status'; run again if it failed",
                    ) from None
                time.sleep(poll)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_held(state_dir: Path, issue_id: str) -> bool:
    """True while some process holds the lock of this issue (is sending it)."""
    path = state_dir / "locks" / f"{issue_id}.lock"
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock this call took
    return False


# -- what `postcli status` shows -------------------------------------------------------------

# A send scheduled in the ledger is overdue once its time is this far past: `send --due` from
# cron (every 5 minutes by default) has had two chances to send it.
OVERDUE_GRACE_MINUTES = 10


@dataclass(frozen=True)
class StatusRow:
    send: SendRecord
    counts: RecipientCounts
    state: str  # the send's status, or "interrupted" / "overdue" / "in progress"
    problem: bool  # counts toward `status` exiting 1
    possibly_duplicated: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.send.to_json(),
            "state": self.state,
            "problem": self.problem,
            "recipients": self.counts.to_json() if self.counts.total else None,
            "possibly_duplicated": list(self.possibly_duplicated),
        }


def status_rows(state_dir: Path, issue_id: str | None, now: datetime) -> list[StatusRow]:
    """The current live send of every (issue, variant, provider), then the test sends."""
    from datetime import timedelta

    path = state_dir / LEDGER_NAME
    if not path.exists():
        return []
    rows: list[StatusRow] = []
    with Ledger.open(state_dir) as ledger:
        records = ledger.latest_live(issue_id) + ledger.sends(issue_id, mode="test")
        held: dict[str, bool] = {}
        for record in records:
            counts = ledger.counts(record.id)
            state, problem = record.status, False
            if record.mode == "live":
                if record.status == "failed":
                    problem = True
                elif record.status in ("sending", "pending"):
                    if record.issue_id not in held:
                        held[record.issue_id] = lock_held(state_dir, record.issue_id)
                    if held[record.issue_id]:
                        state = "in progress"
                    else:
                        state, problem = "interrupted", True
                elif (
                    record.status == "scheduled"
                    and record.remote_id is None
                    and record.scheduled_for is not None
                    and record.scheduled_for + timedelta(minutes=OVERDUE_GRACE_MINUTES) < now
                ):
                    state, problem = "overdue", True
            duplicated: tuple[str, ...] = ()
            if counts.possibly_duplicate:
                duplicated = tuple(
                    r.email for r in ledger.recipients(record.id).values() if r.possibly_duplicate
                )
            rows.append(StatusRow(record, counts, state, problem, duplicated))
    return rows
