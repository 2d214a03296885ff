"""When things are due: pure functions of (issues, what the ledger says, now).

`plan` is the one planner: for every (issue, variant) it gives the state `postcli status` shows
and the action the next `send --due` takes (`postcli.due` carries out exactly these actions), so
status is what cron will do. `decide` is the older, time-only view of the same rules.

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

from postcli.model import CronAction, Edition, ScheduleState, SendStatus
from postcli.model import TimeDecision as Action

# A time this far past is still "due" (cron, every 5 minutes by default, has had two chances);
# later than that it is "overdue" until `[schedule] max_lateness`, then "stale".
DUE_GRACE = timedelta(minutes=10)


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
        try:
            moment = now + timedelta(seconds=int(number) * units[unit])
        except OverflowError:
            raise ValueError(f"'{text}' is too far ahead") from None
        _in_range(moment)
        return SendTime(moment.astimezone(UTC))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"'{text}' is not a time; write '2026-12-01 09:00' or '2026-12-01T09:00+09:00'"
        ) from None
    _in_range(when)
    return resolve(when, tz)


def _in_range(when: datetime) -> None:
    from postcli.guards import send_time_problem

    problem = send_time_problem(when)
    if problem:
        raise ValueError(problem)


@dataclass(frozen=True)
class Planned:
    """One variant of one issue (or a self-gated provider's one post) with a send time."""

    issue_id: str
    variant: Edition
    at: datetime  # aware UTC


@dataclass(frozen=True)
class Decision:
    planned: Planned
    action: Action
    late_by: timedelta = timedelta(0)


def decide(
    planned: Iterable[Planned],
    done: set[tuple[str, Edition]],
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


@dataclass(frozen=True)
class IssueTimes:
    """What the planner needs of one issue file."""

    issue_id: str
    variants: tuple[Edition, ...]  # Audience.ALL: a self-gated provider's one post
    send_at: datetime | None  # aware UTC (resolved); None: no send_at
    draft: bool = False
    title: str = ""


@dataclass(frozen=True)
class LedgerFacts:
    """What the ledger says of one (issue, variant) for the configured provider."""

    status: SendStatus
    scheduled_for: datetime | None = None  # aware UTC
    remote_id: str | None = None
    sent_at: datetime | None = None
    error: str | None = None
    done: int = 0  # recipients sent
    total: int = 0  # recipients recorded
    running: bool = False  # a process holds the issue's lock right now
    provider: str | None = None  # the provider of that send, when not the configured one


@dataclass(frozen=True)
class Timing:
    provider: str
    native: bool  # the provider schedules future sends itself
    max_lateness: timedelta
    late_ok: bool = False


@dataclass(frozen=True)
class Row:
    """One (issue, variant): its state, its time, and what the next `send --due` does."""

    issue_id: str
    variant: Edition
    state: ScheduleState
    at: datetime | None  # aware UTC: when it goes (or went) out
    provider: str
    cron: CronAction
    note: str
    done: int = 0
    total: int = 0
    error: str | None = None
    title: str = ""

    @property
    def problem(self) -> bool:
        return self.state.problem

    @property
    def key(self) -> tuple[str, Edition]:
        return (self.issue_id, self.variant)


def plan(
    issues: Iterable[IssueTimes],
    ledger: dict[tuple[str, Edition], LedgerFacts],
    held: set[tuple[str, Edition]],
    now: datetime,
    timing: Timing,
) -> list[Row]:
    """The state of every (issue, variant) that has a time or a ledger record, oldest first."""
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    rows = []
    for issue in issues:
        for variant in issue.variants:
            key = (issue.issue_id, variant)
            row = _one(issue, variant, ledger.get(key), key in held, now, timing)
            if row is not None:
                rows.append(row)
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(rows, key=lambda r: (r.at or far, r.issue_id, r.variant))


def _one(
    issue: IssueTimes,
    variant: Edition,
    facts: LedgerFacts | None,
    held: bool,
    now: datetime,
    timing: Timing,
) -> Row | None:
    def row(state: ScheduleState, at: datetime | None, cron: CronAction, note: str) -> Row:
        done, total = (facts.done, facts.total) if facts else (0, 0)
        error = facts.error if facts and state is ScheduleState.FAILED else None
        return Row(
            issue.issue_id,
            variant,
            state,
            at,
            timing.provider,
            cron,
            note,
            done,
            total,
            error,
            issue.title,
        )

    status = facts.status if facts else None
    if facts is not None and status is SendStatus.SENT:
        return row(ScheduleState.SENT, facts.sent_at, CronAction.NONE, "sent; nothing to do")
    if facts is not None and facts.running:
        return row(
            ScheduleState.SENDING,
            facts.scheduled_for or issue.send_at,
            CronAction.NONE,
            "a postcli run is sending it now",
        )
    if held and facts is not None and status is SendStatus.SCHEDULED and facts.remote_id:
        # Held here, but the cancel on the provider never finished (refused, unavailable, or
        # cut off): the provider still sends it, so status must not say nothing will.
        return row(
            ScheduleState.SCHEDULED,
            facts.scheduled_for,
            CronAction.NONE,
            f"held here, but the provider still sends it (campaign {facts.remote_id}): run "
            "'postcli unschedule ISSUE' again to cancel it",
        )
    if held:
        return row(
            ScheduleState.HELD,
            issue.send_at,
            CronAction.NONE,
            "unscheduled; nothing sends it until 'postcli send ISSUE'",
        )
    if facts is not None and status is SendStatus.SCHEDULED and facts.remote_id:
        note = f"the provider sends it (campaign {facts.remote_id})"
        if issue.draft:
            note += "; the file now says draft: run 'postcli unschedule' to stop it"
        return row(ScheduleState.SCHEDULED, facts.scheduled_for, CronAction.NONE, note)
    if issue.draft:
        if issue.send_at is None and facts is None:
            return None
        return row(
            ScheduleState.DRAFT,
            issue.send_at,
            CronAction.SKIP,
            "draft: true; cron skips it until the line is deleted",
        )
    # The file is the truth for local schedules: its send_at wins over the time recorded when
    # it was scheduled; a schedule from `send --at` stands for a file without one.
    at = issue.send_at or (facts.scheduled_for if facts is not None else None)
    come = at is not None and at <= now
    late = now - at if at is not None else timedelta(0)
    stale = come and late > timing.max_lateness
    cron = CronAction.SEND if come and (not stale or timing.late_ok) else CronAction.WAIT
    if come and stale and not timing.late_ok:
        cron = CronAction.SKIP
    if at is None:
        cron = CronAction.NONE
    if facts is not None and status in (SendStatus.SENDING, SendStatus.PENDING):
        interrupted = facts.total > 0 or status is SendStatus.SENDING
        if interrupted and cron is CronAction.SKIP:
            # Cut off, and later than max_lateness now: cron will not finish it (and says
            # so, exit 1), so status must not promise that it will.
            hours = late.total_seconds() / 3600
            note = (
                f"cut off, and {hours:.1f} h late, past max_lateness; cron will not finish it "
                "(finish it with 'postcli send ISSUE' or 'send --due --late-ok')"
            )
            return row(ScheduleState.STALE, at, cron, note)
        if interrupted or at is None:
            note = "cut off; the next 'postcli send --due' finishes it"
            if at is None:
                note = "cut off; run 'postcli send ISSUE' to finish it"
            elif cron is CronAction.WAIT:
                note = "cut off; finished when its time comes"
            return row(ScheduleState.INTERRUPTED, at, cron, note)
    if facts is not None and status is SendStatus.FAILED:
        note = "failed; the next 'postcli send --due' tries again"
        if cron is not CronAction.SEND:
            note = "failed; fix it, then run 'postcli send ISSUE' again"
        return row(ScheduleState.FAILED, at, cron, note)
    if at is None:
        return None
    if not come:
        return row(ScheduleState.UPCOMING, at, cron, "cron sends it then")
    hours = late.total_seconds() / 3600
    if stale:
        note = (
            f"{hours:.1f} h late, past max_lateness; cron will not send it "
            "(send it with --late-ok, or remove its send_at)"
        )
        return row(ScheduleState.STALE, at, cron, note)
    if late > DUE_GRACE:
        return row(ScheduleState.OVERDUE, at, cron, "late: is cron running? the next run sends it")
    return row(ScheduleState.DUE, at, cron, "the next 'postcli send --due' sends it")


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
