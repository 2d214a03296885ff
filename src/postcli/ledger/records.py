"""The ledger's rows as values: a send, a recipient, and the recipient counts of a send."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
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


def send_record(row: sqlite3.Row) -> SendRecord:
    return SendRecord(
        id=row["id"],
        issue_id=row["issue_id"],
        variant=edition(row["variant"]),
        provider=row["provider"],
        mode=Mode(row["mode"]),
        generation=row["generation"],
        status=SendStatus(row["status"]),
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


def recipient_record(row: sqlite3.Row) -> RecipientRecord:
    return RecipientRecord(
        email=row["email"],
        tier=row["tier"],
        status=RecipientStatus(row["status"]),
        message_id=row["message_id"],
        attempts=row["attempts"],
        possibly_duplicate=bool(row["possibly_duplicate"]),
        error=row["error"],
    )
