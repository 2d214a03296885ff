"""When things are due: pure functions of (issues, what the ledger says, now).

Owns the meaning of `send_at`: an aware time stands as written; a naive one is wall-clock time in
`newsletter.timezone`. Daylight-saving changes are handled the way a person reading a calendar
expects: a time that does not exist (the clocks jump forward over it) is moved forward by the
length of the jump (02:30 on a spring-forward night in New York is 03:30 EDT); a time that
happens twice (the clocks fall back) means the first occurrence. Both are reported as notes.

This module never reads the clock, the file system or the ledger: callers pass them in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from postcli.model import Variant


@dataclass(frozen=True)
class SendTime:
    """A resolved send time: aware UTC, with a note when the wall clock was ambiguous."""

    utc: datetime
    note: str | None = None


def resolve(when: datetime, tz: tzinfo) -> SendTime:
    """`send_at` or `--at` as written -> an aware UTC instant."""
    if when.tzinfo is not None and when.utcoffset() is not None:
        return SendTime(when.astimezone(UTC))
    naive = when.replace(tzinfo=None)
    first = naive.replace(tzinfo=tz, fold=0)
    second = naive.replace(tzinfo=tz, fold=1)
    if first.utcoffset() == second.utcoffset():
        return SendTime(first.astimezone(UTC))
    # The two folds differ: the wall time is either skipped (a gap) or repeated (a fold).
    round_trip = first.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
    if round_trip != naive:
        # In a gap, fold=0 applies the offset from before the change, which lands the instant
        # as far past the gap's start as the wall time was: the expected "move forward" result.
        moved = first.astimezone(UTC)
        shown = moved.astimezone(tz).strftime("%H:%M %Z")
        return SendTime(
            moved,
            f"{naive:%Y-%m-%d %H:%M} does not exist in {tz} (clocks move forward); "
            f"sending at {shown}",
        )
    return SendTime(
        first.astimezone(UTC),
        f"{naive:%Y-%m-%d %H:%M} happens twice in {tz} (clocks move back); "
        f"sending at the first, {first:%H:%M %Z}",
    )


def parse_when(text: str, tz: tzinfo, now: datetime) -> SendTime:
    """`--at` values: an ISO date-time (naive = newsletter time zone), or `+30m`, `+2h`, `+1d`."""
    text = text.strip()
    if text.startswith("+"):
        units = {"m": 60, "h": 3600, "d": 86400}
        number, unit = text[1:-1], text[-1:]
        if unit not in units or not number.isdigit():
            raise ValueError(f"'{text}' is not a time; write '+30m', '+2h' or '2026-12-01 09:00'")
        return SendTime((now + timedelta(seconds=int(number) * units[unit])).astimezone(UTC))
    try:
        return resolve(datetime.fromisoformat(text), tz)
    except ValueError:
        raise ValueError(
            f"'{text}' is not a time; write '2026-12-01 09:00' or '2026-12-01T09:00+09:00'"
        ) from None


class Action(StrEnum):
    SEND = "send"  # its time has come: send it now
    WAIT = "wait"  # its time has not come
    STALE = "stale"  # later than the maximum lateness: not sent without --late-ok
    DONE = "done"  # the ledger says it was sent (or handed to the provider's scheduler)


@dataclass(frozen=True)
class Planned:
    """One variant of one issue with a send time."""

    issue_id: str
    variant: Variant
    at: datetime  # aware UTC


@dataclass(frozen=True)
class Decision:
    planned: Planned
    action: Action
    late_by: timedelta = timedelta(0)


def decide(
    planned: Iterable[Planned],
    done: set[tuple[str, Variant]],
    now: datetime,
    max_lateness: timedelta,
    *,
    late_ok: bool = False,
) -> list[Decision]:
    """What `send --due` does with each planned send, oldest first.

    `done` holds the (issue_id, variant) pairs the ledger has sent or handed over; `now` is
    aware. An issue exactly `max_lateness` late still goes out; later than that is stale.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    decisions = []
    for item in sorted(planned, key=lambda p: (p.at, p.issue_id, p.variant)):
        if (item.issue_id, item.variant) in done:
            decisions.append(Decision(item, Action.DONE))
        elif item.at > now:
            decisions.append(Decision(item, Action.WAIT))
        else:
            late = now - item.at
            stale = late > max_lateness and not late_ok
            decisions.append(Decision(item, Action.STALE if stale else Action.SEND, late))
    return decisions


def cron_schedule(every: str) -> str:
    """'5m' -> '*/5 * * * *'; minutes divide the hour, hours divide the day."""
    text = every.strip().lower()
    if len(text) < 2 or not text[:-1].isdigit() or text[-1] not in "mh":
        raise ValueError(f"--every '{every}' is not like '1m', '5m', '15m' or '1h'")
    number, unit = int(text[:-1]), text[-1]
    if unit == "m" and 1 <= number < 60:
        return "* * * * *" if number == 1 else f"*/{number} * * * *"
    if unit == "m" and number % 60 == 0:
        number, unit = number // 60, "h"
    if unit == "h" and 1 <= number <= 24:
        return "0 * * * *" if number == 1 else f"0 */{number} * * *"
    raise ValueError(f"--every '{every}' must be between 1m and 24h")
