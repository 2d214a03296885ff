"""What to do with one variant, given what the ledger says and when the send is for: send,
schedule, resume, move, or nothing. Pure: it reads nothing and changes nothing but the plan.

A schedule follows the file, never the command line (DESIGN section 3): an issue the ledger
says is scheduled is left as it is, and the output says so, unless its `send_at` or its text
changed since it was scheduled. `--now` and `--at` choose the time of a send that is not
scheduled yet; on a scheduled one they change nothing and say how to change it (edit
`send_at`, or `postcli unschedule` first). A local schedule (`file`, `smtp`, per-recipient
providers) takes the send_at the file says now and the text it has when it is sent; one the
provider holds is moved (updated in place, or cancelled and replaced) when its time or text
changed. `tests/test_decide_table.py` holds every combination as a table.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from postcli.errors import ScheduledTextChanged
from postcli.model import PlanAction, SendStatus

if TYPE_CHECKING:
    from postcli.ledger import SendRecord
    from postcli.send.plan import SendOptions, VariantPlan

# A time this close to now is "now": no point scheduling a send for 30 seconds ahead.
SCHEDULE_SLACK = timedelta(minutes=1)


def decide(
    plan: VariantPlan,
    previous: SendRecord | None,
    options: SendOptions,
    when: datetime | None,
    tz: tzinfo,
    *,
    now: datetime,
    native: bool = False,
    held: bool = False,
    file_at: datetime | None = None,
    file_when: datetime | None = None,
) -> None:
    """Sets plan.action (and plan.at, for a schedule that follows the file rather than the
    command line) from what the ledger says. `when`: the time asked (--now, --at, else the
    file's send_at; None: now), as the provider would take it (Mailchimp rounds up);
    `native`: the provider schedules future sends itself; `held`: `postcli unschedule` held
    it; `file_at`: the issue's own send_at (aware UTC, also when it has passed; None: it has
    none); `file_when`: the time a send for it is for (like `when`; None once it has come)."""
    plan.previous = previous
    if previous is not None and not options.force:
        if previous.status is SendStatus.SENT:
            plan.action = PlanAction.ALREADY
            plan.reason = f"already sent on {_day(previous.sent_at, tz)}"
            return
        local = previous.remote_id is None
        if previous.status is SendStatus.SCHEDULED and local and options.due:
            plan.action = PlanAction.SEND  # its time has come: `send --due` sends it
            return
        if previous.status is SendStatus.SCHEDULED and local and held:
            # Held by `postcli unschedule`: this `postcli send` schedules it afresh.
            plan.action = PlanAction.SCHEDULE if when is not None else PlanAction.SEND
            return
        if previous.status is SendStatus.SCHEDULED:
            _follow(plan, previous, options, when, tz, now, file_at, file_when)
            return
        if previous.status in (SendStatus.SENDING, SendStatus.FAILED):
            # An interrupted hand-over to the provider's scheduler is handed over again, for
            # the time asked now: finishing it as a send would send it at once. One that had
            # reached the provider is moved, so whatever it holds ends up as the file says.
            interrupted_schedule = native and previous.scheduled_for is not None
            resume_as_schedule = interrupted_schedule and when is not None
            plan.action = PlanAction.SCHEDULE if resume_as_schedule else PlanAction.RESUME
            if resume_as_schedule and previous.remote_id:
                plan.action = PlanAction.MOVE
                plan.reason = f"for {_day(when, tz)}; finishing the change an earlier run began"
            return
    plan.action = PlanAction.SCHEDULE if when is not None else PlanAction.SEND


def _follow(
    plan: VariantPlan,
    previous: SendRecord,
    options: SendOptions,
    when: datetime | None,
    tz: tzinfo,
    now: datetime,
    file_at: datetime | None,
    file_when: datetime | None,
) -> None:
    """A scheduled send follows the file: moved when the file's send_at changed, its text
    replaced on the provider when the text changed; else left alone, whatever the flags say."""
    old = previous.scheduled_for
    on_provider = previous.remote_id is not None
    come = old is None or old <= now + SCHEDULE_SLACK  # the scheduled time has come
    if file_at is None:
        moved = False  # no send_at of its own: the time of `send --at` stands
    elif file_when is not None:
        moved = file_when != old
    else:
        moved = not come  # the file's time has come, the schedule's has not
    changed = previous.content_hash != plan.content_hash
    if moved and file_when is None and on_provider:
        raise ScheduledTextChanged(
            f"{plan.variant}: scheduled on the provider for {_day(old, tz)} "
            f"(campaign {previous.remote_id}), but the issue's send_at now says "
            f"{_day(file_at, tz)}, which has come",
            hint="give send_at a future time; or run 'postcli unschedule ISSUE', then "
            "'postcli send ISSUE --now'",
        )
    if moved:
        plan.at = file_when
        plan.reason = f"moved from {_day(old, tz)} to {_day(file_when, tz) if file_when else 'now'}"
        if on_provider:
            plan.action = PlanAction.MOVE
            if changed:
                plan.reason += "; the new text replaces the old"
        else:
            plan.action = PlanAction.SCHEDULE if file_when is not None else PlanAction.SEND
        return
    if come and not on_provider:
        plan.action = PlanAction.SEND  # what `send --due` would do now
        plan.reason = f"scheduled for {_day(old, tz)}, which has come"
        return
    if changed and on_provider and not come:
        plan.action = PlanAction.MOVE
        plan.at = old
        plan.reason = f"still for {_day(old, tz)}; the new text replaces the old"
        return
    plan.action = PlanAction.ALREADY
    plan.reason = f"already scheduled for {_day(old, tz)}"
    if changed and on_provider:
        plan.reason += " (the issue changed since, too late to change what the provider sends)"
    elif changed:
        plan.reason += " (the issue changed since; the new text goes out then)"
    if options.now or (options.at is not None and when != old):
        flag = "--now" if options.now else "--at"
        plan.reason += (
            f"; {flag} does not move a schedule: change send_at in the issue, or run "
            "'postcli unschedule ISSUE' first"
        )


def _day(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if moment else "an earlier run"
