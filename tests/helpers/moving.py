"""What the tests of provider schedules that follow the file share: the issue whose `send_at`
moves, written anew for each step, a time to move it to, and the schedules a fake holds."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

SEOUL = ZoneInfo("Asia/Seoul")
ISSUE_ID = "2026-12-03-moving"


def days_ahead(days: int) -> datetime:
    """A whole hour `days` ahead, Seoul time (a quarter hour, so Mailchimp takes it as is)."""
    now = datetime.now(SEOUL)
    return (now + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)


def write_moving(root: Path, template: str, when: datetime, marker: str, **fields: str) -> Path:
    """The workspace's only issue: `template` with `send_at` = `when` (local time, as an
    editor writes it), `marker` in the text and any other `fields`."""
    for old in (root / "issues").glob("*.md"):
        old.unlink()
    path = root / "issues" / f"{ISSUE_ID}.md"
    send_at = when.replace(tzinfo=None).isoformat(sep=" ")
    path.write_text(template.format(send_at=send_at, marker=marker, **fields), encoding="utf-8")
    return path


def live_schedules(fake: Any) -> list[Any]:
    """The schedules the provider would carry out (a cancelled one is dropped by the fake)."""
    return list(fake.sends("schedule"))
