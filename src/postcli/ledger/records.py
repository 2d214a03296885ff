"""The ledger's rows as values: a send, a recipient, and the recipient counts of a send."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from postcli.model import Edition, Mode, RecipientStatus, SendStatus, edition
from postcli.times import iso_or_none, parse_time, utc_now


@dataclass(frozen=True)
class SendRecord:
    id: int
    issue_id: str
    variant: Edition
    provider: str
    mode: Mode
    generation: int
    status: SendStatus
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
        return self.status.done

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
            "scheduled_for": iso_or_none(self.scheduled_for),
            "remote_id": self.remote_id,
            "error": self.error,
            "created_at": iso_or_none(self.created_at),
            "updated_at": iso_or_none(self.updated_at),
            "sent_at": iso_or_none(self.sent_at),
        }


@dataclass(frozen=True)
class RecipientRecord:
    email: str
    tier: str | None
    status: RecipientStatus
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


def _time_or_now(text: str | None) -> datetime:
    return parse_time(text) or utc_now()


# How each column that is not stored as its value is read back (the rest are taken as stored).
_SEND_COLUMNS: Mapping[str, Callable[[Any], Any]] = {
    "variant": edition,
    "mode": Mode,
    "status": SendStatus,
    "scheduled_for": parse_time,
    "created_at": _time_or_now,
    "updated_at": _time_or_now,
    "sent_at": parse_time,
}
_RECIPIENT_COLUMNS: Mapping[str, Callable[[Any], Any]] = {
    "status": RecipientStatus,
    "possibly_duplicate": bool,
}
_SEND_FIELDS = tuple(f.name for f in fields(SendRecord))
_RECIPIENT_FIELDS = tuple(f.name for f in fields(RecipientRecord))


def _read(
    row: sqlite3.Row, names: tuple[str, ...], columns: Mapping[str, Callable[[Any], Any]]
) -> dict[str, Any]:
    """Each field of a record from the column of its name, read back where `columns` says how."""
    return {name: columns[name](row[name]) if name in columns else row[name] for name in names}


def send_record(row: sqlite3.Row) -> SendRecord:
    return SendRecord(**_read(row, _SEND_FIELDS, _SEND_COLUMNS))


def recipient_record(row: sqlite3.Row) -> RecipientRecord:
    return RecipientRecord(**_read(row, _RECIPIENT_FIELDS, _RECIPIENT_COLUMNS))
