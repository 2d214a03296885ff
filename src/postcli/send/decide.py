"""What to do with one variant, given what the ledger says and when the send is for: send,
schedule, resume, move, or nothing. Pure: it reads nothing and changes nothing but the plan.

A schedule follows the file. A local one (`file`, `smtp`, per-recipient providers) takes the
send_at the file says now and the text it has when `send --due` sends it; one the provider
holds is moved (updated in place, or cancelled and replaced) when its time or text changed.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from postcli.errors import ScheduledTextChanged
from postcli.model import PlanAction, SendStatus

if TYPE_CHECKING:
    from postcli.ledger import SendRecord
    from postcli.send.plan import SendOptions, VariantPlan


def decide(
    plan: VariantPlan,
    previous: SendRecord | None,
    options: SendOptions,
    when: datetime | None,
    tz: tzinfo,
    *,
    native: bool = False,
    held: bool = False,
    file_time: bool = True,
) -> None:
    """Sets plan.action from what the ledger says and when the send is for. `native`: the
    provider schedules future sends itself; `when` is the time it would take (Mailchimp rounds
    up); `held`: `postcli unschedule` held it; `file_time`: the issue has a send_at of its own."""
    plan.previous = previous
    if previous is not None and not options.force:
        if previous.status is SendStatus.SENT:
            plan.action = PlanAction.ALREADY
            plan.reason = f"already sent on {_day(previous.sent_at, tz)}"
            return
        if previous.status is SendStatus.SCHEDULED and previous.remote_id:
            _follow_provider(plan, previous, when, tz)
            return
        if previous.status is SendStatus.SCHEDULED:
            _follow_file(plan, previous, options, when, tz, held=held, file_time=file_time)
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


def _follow_provider(
    plan: VariantPlan, previous: SendRecord, when: datetime | None, tz: tzinfo
) -> None:
    """A campaign the provider holds follows the file: moved when its time or text changed."""
    moved = when is not None and when != previous.scheduled_for
    changed = previous.content_hash != plan.content_hash
    if not (moved or changed):
        plan.action = PlanAction.ALREADY
        plan.reason = f"already scheduled for {_day(previous.scheduled_for, tz)}"
        return
    if when is None:
        raise ScheduledTextChanged(
            f"{plan.variant}: scheduled on the provider for {_day(previous.scheduled_for, tz)} "
            f"(campaign {previous.remote_id}), but the issue now says to send it now",
            hint="run 'postcli unschedule ISSUE', then 'postcli send ISSUE --now'; or give "
            "send_at a future time",
        )
    plan.action = PlanAction.MOVE
    parts = []
    if moved:
        parts.append(f"moved from {_day(previous.scheduled_for, tz)} to {_day(when, tz)}")
    if changed:
        parts.append("the new text replaces the old")
    plan.reason = "; ".join(parts)


def _follow_file(
    plan: VariantPlan,
    previous: SendRecord,
    options: SendOptions,
    when: datetime | None,
    tz: tzinfo,
    *,
    held: bool,
    file_time: bool,
) -> None:
    """A local schedule: the file is the truth; `send --due` sends it with the text it has."""
    if options.due:
        plan.action = PlanAction.SEND  # its time has come: `send --due` sends it
        return
    if when is None and not options.now and not file_time and not held:
        when = previous.scheduled_for  # a `send --at` schedule of an issue without send_at
    if when is None:
        plan.action = PlanAction.SEND
        if previous.scheduled_for is not None:
            plan.reason = f"moved from {_day(previous.scheduled_for, tz)} to now"
        return
    if held or when != previous.scheduled_for:
        plan.action = PlanAction.SCHEDULE
        if not held and previous.scheduled_for is not None:
            plan.reason = f"moved from {_day(previous.scheduled_for, tz)} to {_day(when, tz)}"
        return
    plan.action = PlanAction.ALREADY
    plan.reason = f"already scheduled for {_day(previous.scheduled_for, tz)}"
    if previous.content_hash != plan.content_hash:
        plan.reason += " (the issue changed since; the new text goes out then)"


def _day(moment: datetime | None, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if moment else "an earlier run"
