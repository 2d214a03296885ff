"""Which issues the web edition shows, and the date it shows for each.

Published means (DESIGN section 7): not a draft, and either sent per the ledger or with a
`send_at` in the past. The date is the `send_at`, else the time it was sent, else the date in
the issue id. `--drafts` shows everything, each marked with why it is not public yet.

`select` is pure: the front matter summaries, what the ledger says was sent, and `now` come
in as values. `sent_times` is the one reader of the ledger, through its public read API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

_ID_DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})")


class State(StrEnum):
    PUBLISHED = "published"
    DRAFT = "draft"
    UPCOMING = "upcoming"  # not sent, and its send_at is in the future or missing


@dataclass(frozen=True)
class Summary:
    """What the site needs of an issue's front matter to decide and to list it."""

    id: str
    title: str
    subtitle: str | None
    description: str | None  # the preheader, else the subtitle, on one line
    tags: tuple[str, ...]
    audience: str
    draft: bool
    send_at: str | None  # ISO, UTC

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "tags": list(self.tags)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Summary:
        return cls(**{**data, "tags": tuple(data["tags"])})


@dataclass(frozen=True)
class Entry:
    """One issue the site shows."""

    summary: Summary
    path: Path
    when: datetime  # aware; the date shown and the order of the index
    state: State

    @property
    def id(self) -> str:
        return self.summary.id


def summarize(issue_id: str, front: Any, tz: ZoneInfo) -> Summary:
    """An issue's front matter (a FrontMatter) as the site keeps it: the body is not needed
    to decide whether, where and how an issue is listed."""
    from postcli.schedule import resolve

    preheader = front.preheader or front.subtitle  # as the emails' preheader, on one line
    send_at = resolve(front.send_at, tz).utc.isoformat() if front.send_at else None
    return Summary(
        id=issue_id,
        title=front.title,
        subtitle=front.subtitle,
        description=" ".join(p.strip() for p in preheader.splitlines() if p.strip())
        if preheader
        else None,
        tags=tuple(front.tags),
        audience=str(front.audience),
        draft=bool(front.draft),
        send_at=send_at,
    )


def sent_times(state_dir: Path, now: datetime) -> dict[str, datetime]:
    """Issue id -> when its first variant went out, per the ledger (nothing when there is
    none yet: the site never creates the ledger). A campaign the provider was to send at a
    time now past counts as sent."""
    from postcli.ledger import LEDGER_NAME, Ledger
    from postcli.model import SendStatus

    if not (state_dir / LEDGER_NAME).is_file():
        return {}
    out: dict[str, datetime] = {}
    with Ledger.open(state_dir) as ledger:
        for record in ledger.latest_live():
            moment: datetime | None = None
            if record.status == SendStatus.SENT:
                moment = record.sent_at or record.updated_at
            elif (
                record.status == SendStatus.SCHEDULED
                and record.remote_id
                and record.scheduled_for is not None
                and record.scheduled_for <= now
            ):
                moment = record.scheduled_for
            if moment is not None and (record.issue_id not in out or moment < out[record.issue_id]):
                out[record.issue_id] = moment
    return out


def _id_date(issue_id: str, tz: ZoneInfo) -> datetime | None:
    match = _ID_DATE_RE.match(issue_id)
    if not match:
        return None
    try:
        day = date.fromisoformat(match.group(1))
    except ValueError:
        return None
    return datetime.combine(day, time(0, 0), tz).astimezone(UTC)


def select(
    summaries: dict[Path, Summary],
    sent: dict[str, datetime],
    now: datetime,
    tz: ZoneInfo,
    *,
    drafts: bool = False,
) -> list[Entry]:
    """The issues to show, newest first (ties by id, so the order is always the same)."""
    entries: list[Entry] = []
    for path, summary in summaries.items():
        send_at = datetime.fromisoformat(summary.send_at) if summary.send_at else None
        sent_at = sent.get(summary.id)
        if summary.draft:
            state = State.DRAFT
        elif sent_at is not None or (send_at is not None and send_at <= now):
            state = State.PUBLISHED
        else:
            state = State.UPCOMING
        if state is not State.PUBLISHED and not drafts:
            continue
        when = send_at or sent_at or _id_date(summary.id, tz) or now
        entries.append(Entry(summary, path, when.astimezone(UTC), state))
    entries.sort(key=lambda e: (e.when, e.id), reverse=True)
    return entries
