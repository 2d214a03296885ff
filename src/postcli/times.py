"""The clock and the one ISO 8601 form postcli writes times in (the ledger, JSON, provider APIs).

Pure helpers; the clock is read only through `utc_now`, which callers pass on as a parameter so
tests can replace it.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso", "iso_or_none", "parse_time", "utc_now"]


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """An aware instant as ISO 8601 in UTC, to the second: 2026-12-01T00:00:00+00:00."""
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else iso(moment)


def parse_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
