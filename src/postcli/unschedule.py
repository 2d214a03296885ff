"""`postcli unschedule ISSUE [--variant V]`: cancel a scheduled send and hold the issue.

A local schedule (a future send_at, or `send --at`, with `file`, `smtp` and the other
per-recipient providers) is held in the ledger: the planner then shows it as `held` and
`send --due` leaves it alone. A campaign the provider holds is cancelled there first
(`MovableProvider.cancel_campaign`), the hold recorded before the remote call, so a kill in
between leaves it held and a rerun finishes the cancel. `postcli send ISSUE` lifts the hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from postcli.config import Settings, redact
from postcli.errors import InputError, PostcliError, ProviderRefused
from postcli.ledger import Ledger, issue_lock
from postcli.model import Audience, Edition, ScheduleState, SendStatus, Variant
from postcli.providers.base import is_movable, is_self_gated
from postcli.send import _faults
from postcli.times import utc_now

# What can be held: anything with a time that has not gone out and is not being sent.
_HOLDABLE = (
    ScheduleState.UPCOMING,
    ScheduleState.SCHEDULED,
    ScheduleState.DUE,
    ScheduleState.OVERDUE,
    ScheduleState.STALE,
    ScheduleState.INTERRUPTED,
    ScheduleState.FAILED,
)


_NOT_HOLDABLE = {
    ScheduleState.SENT: "went out already",
    ScheduleState.HELD: "is held already",
    ScheduleState.DRAFT: "is a draft; nothing sends it",
    ScheduleState.SENDING: "is being sent right now",
}


@dataclass(frozen=True)
class Unscheduled:
    variant: Edition
    held: bool  # False: there was nothing to hold; `message` says why
    message: str


def unschedule(
    settings: Settings,
    issue_arg: str,
    variant: Variant | None = None,
    *,
    client: object = None,
    now: datetime | None = None,
) -> list[Unscheduled]:
    """Cancel and hold every wanted variant that is scheduled; InputError (exit 1) when none
    is, naming what each one is instead."""
    from postcli import build, providers
    from postcli.agenda import gather
    from postcli.send.plan import schedules_natively, show_time

    issue = build.load(settings, issue_arg)
    wanted: tuple[Edition, ...] = issue.front.audience.variants
    if variant is not None:
        if variant not in wanted:
            raise InputError(
                f"--variant {variant} is not sent for this issue (audience: "
                f"{issue.front.audience})",
                path=issue.path,
                line=issue.front.lines.get("audience"),
            )
        wanted = (variant,)
    provider = providers.create(settings, client=client)
    if is_self_gated(provider) and variant is None and len(wanted) > 1:
        wanted = (Audience.ALL,)  # Ghost, beehiiv: one gated post for both tiers
    results: list[Unscheduled] = []
    try:
        with issue_lock(settings.state_dir, issue.id, wait=3.0):
            agenda = gather(
                settings,
                now or utc_now(),
                provider=provider.name,
                native=schedules_natively(provider),
                self_gated=is_self_gated(provider),
                issues={issue.id: issue},
                lock_is_ours=True,
            )
            rows = {row.variant: row for row in agenda.rows}
            with Ledger.open(settings.state_dir) as ledger:
                for v in wanted:
                    row = rows.get(v)
                    if row is None or row.state not in _HOLDABLE:
                        why = "is not scheduled"
                        if row is not None:
                            why = _NOT_HOLDABLE.get(row.state, f"is {row.state}")
                        results.append(Unscheduled(v, False, f"{why}; nothing to do"))
                        continue
                    record = agenda.records.get((issue.id, v))
                    ledger.hold(issue.id, v, provider.name)  # before the remote call
                    _faults.step("unschedule-held")
                    message = f"held (was {row.state} for {show_time(row.at, settings)})"
                    scheduled = record is not None and record.status is SendStatus.SCHEDULED
                    if record is not None and scheduled and record.remote_id:
                        if not is_movable(provider):
                            raise ProviderRefused(
                                f"{provider.name} cannot cancel a scheduled campaign "
                                f"({record.remote_id}); it is held here, but the provider "
                                "still sends it",
                                hint="cancel it on the provider as well",
                            )
                        try:
                            provider.cancel_campaign(record.remote_id)
                        except PostcliError as error:
                            ledger.set_status(
                                record.id,
                                SendStatus.SCHEDULED,
                                error=redact(str(error)),
                            )
                            raise
                        _faults.step("unschedule-cancelled")
                        # Back to a draft on the provider: the next `postcli send` schedules
                        # it again (finding the draft by its name, or making a new one).
                        ledger.set_status(record.id, SendStatus.PENDING)
                        message += f"; the provider's campaign {record.remote_id} is cancelled"
                    results.append(Unscheduled(v, True, message))
    finally:
        provider.close()
    if not any(r.held for r in results):
        listed = "; ".join(f"{r.variant} {r.message}" for r in results)
        raise InputError(
            f"nothing of {issue.id} is scheduled: {listed}",
            path=issue.path,
            hint=f"'postcli status {issue.id}' shows its state",
        )
    return results
