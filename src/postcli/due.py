"""`postcli send --due`: the cron entry point. Sends every (issue, variant) whose time has come
and that the ledger has not sent, exactly once, however runs overlap or crash.

What is done: `postcli.agenda` reads the issue files and the ledger once and the pure planner
(`schedule.plan`) gives every (issue, variant) its state and cron action, the very rows
`postcli status` shows. For local schedules the file is the truth: the send_at it says now
(else the time of `send --at`), and the text it has now. Drafts and held issues are skipped and
listed; stale ones reported. Each send goes through `send.send_one`, which waits at most half a
second for the issue's lock (`postcli status` takes it for an instant to see whether a send is
running): an overlapping run that holds it is left to finish, and this run says so. A send
handed to a provider's own scheduler is the provider's to send; if the issue was edited after
that, this run reports it (exit 1) until `postcli send ISSUE` moves the campaign.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from postcli import schedule
from postcli.config import Settings
from postcli.errors import ExitCode, PostcliError, ScheduledTextChanged, SendInProgress
from postcli.issues import Issue
from postcli.ledger import SendRecord
from postcli.model import (
    CronAction,
    DueOutcome,
    Edition,
    Outcome,
    PlanAction,
    ScheduleState,
    Variant,
)
from postcli.times import utc_now

if TYPE_CHECKING:
    from postcli.send import Progress, SendReport

log = logging.getLogger("postcli.due")


@dataclass
class DueItem:
    issue_id: str
    variant: Edition
    at: datetime | None
    outcome: DueOutcome
    message: str = ""
    exit_code: ExitCode = ExitCode.OK


@dataclass
class DueReport:
    items: list[DueItem] = field(default_factory=list)
    waiting: int = 0  # planned sends whose time has not come

    @property
    def exit_code(self) -> int:
        codes = [item.exit_code for item in self.items if item.exit_code != ExitCode.OK]
        # A refusal needs a person (3) more than bad input (1) or an outage cron retries (4).
        for code in (ExitCode.REFUSED, ExitCode.INPUT, ExitCode.UNAVAILABLE):
            if code in codes:
                return int(code)
        return int(ExitCode.OK)

    def to_json(self) -> dict[str, Any]:
        return {
            "items": [
                {
                    "issue": i.issue_id,
                    "variant": i.variant,
                    "at": i.at.isoformat() if i.at else None,  # as planned, not rounded
                    "outcome": i.outcome,
                    "message": i.message,
                }
                for i in self.items
            ],
            "waiting": self.waiting,
            "exit_code": self.exit_code,
        }


class SendOne(Protocol):
    """`postcli.send.send_one`, or what a test puts in its place."""

    def __call__(
        self,
        settings: Settings,
        issue_arg: str,
        variant: Edition,
        *,
        progress: Progress | None = ...,
        client: object = ...,
    ) -> SendReport: ...


def run_due(
    settings: Settings,
    *,
    now: datetime | None = None,
    late_ok: bool = False,
    dry_run: bool = False,
    client: object = None,
    progress: Progress | None = None,
    send_one: SendOne | None = None,
) -> DueReport:
    """Send what is due now; never asks, never waits out another run's send."""
    from postcli import providers
    from postcli.agenda import gather
    from postcli.providers.base import is_self_gated
    from postcli.send.plan import schedules_natively

    if send_one is None:
        from postcli.send import send_one as default_send_one

        send_one = default_send_one
    moment = (now or utc_now()).astimezone(UTC)
    provider = providers.create(settings, client=client)
    report = DueReport()
    agenda = gather(
        settings,
        moment,
        provider=provider.name,
        native=schedules_natively(provider),
        self_gated=is_self_gated(provider),
        late_ok=late_ok,
    )
    issues = agenda.issues
    for record in agenda.orphans:
        report.items.append(
            DueItem(
                record.issue_id,
                record.variant,
                record.scheduled_for,
                DueOutcome.BROKEN,
                "scheduled, but the issue file is missing or cannot be read",
                ExitCode.INPUT,
            )
        )
    for row in agenda.rows:
        if row.state is ScheduleState.SCHEDULED:
            record = agenda.records[row.key]
            _check_unchanged(settings, issues[row.issue_id], record, report, client)
        if row.cron is CronAction.WAIT:
            report.waiting += 1
        elif row.cron is CronAction.SKIP and row.state is ScheduleState.DRAFT:
            report.items.append(
                DueItem(row.issue_id, row.variant, row.at, DueOutcome.DRAFT, row.note)
            )
        elif row.cron is CronAction.SKIP:
            assert row.at is not None
            hours = (moment - row.at).total_seconds() / 3600
            report.items.append(
                DueItem(
                    row.issue_id,
                    row.variant,
                    row.at,
                    DueOutcome.STALE,
                    f"due {hours:.1f} h ago, past the maximum lateness of "
                    f"{settings.schedule.max_lateness_hours:g} h; not sent "
                    "(send it with --late-ok, or remove its send_at)",
                    ExitCode.INPUT,
                )
            )
        elif row.cron is CronAction.SEND and dry_run:
            report.items.append(
                DueItem(row.issue_id, row.variant, row.at, DueOutcome.DRY_RUN, "would send now")
            )
        elif row.cron is CronAction.SEND:
            issue = issues[row.issue_id]
            report.items.append(
                _send(settings, issue, row, send_one, progress=progress, client=client)
            )
    return report


def _send(
    settings: Settings,
    issue: Issue,
    item: schedule.Row,
    send_one: SendOne,
    *,
    progress: Progress | None,
    client: object,
) -> DueItem:
    variant = item.variant  # a Variant, or Audience.ALL for a self-gated provider's one post
    busy, failed = DueOutcome.BUSY, DueOutcome.FAILED
    try:
        result = send_one(settings, str(issue.path), variant, progress=progress, client=client)
    except SendInProgress:
        return DueItem(
            issue.id, variant, item.at, busy, "another postcli run is sending it; left to it"
        )
    except PostcliError as error:
        return DueItem(issue.id, variant, item.at, failed, str(error), error.exit_code)
    variants = list(result.variants)
    message = "; ".join(v.message for v in variants if v.message)
    duplicated = [email for v in variants for email in v.possibly_duplicated]
    if duplicated:  # a kill in flight: the one message the server may have had twice
        message += f"; possibly delivered twice (same Message-ID): {', '.join(duplicated)}"
    if result.error is not None:
        failure = result.error
        return DueItem(issue.id, variant, item.at, failed, str(failure), failure.exit_code)
    if any(v.action is Outcome.BUSY for v in variants):
        return DueItem(issue.id, variant, item.at, busy, message)
    if result.exit_code:
        return DueItem(issue.id, variant, item.at, failed, message, ExitCode(result.exit_code))
    outcome = DueOutcome(variants[0].action) if variants else DueOutcome.SENT
    return DueItem(issue.id, variant, item.at, outcome, message)


def _check_unchanged(
    settings: Settings,
    issue: Issue,
    record: SendRecord,
    report: DueReport,
    client: object,
) -> None:
    """A campaign scheduled on the provider carries the text and time it was given: an edit
    since then does not reach it until `postcli send ISSUE` moves it. Say so loudly, every run,
    until someone does."""
    from postcli.send import SendOptions, plan_send

    def report_item(outcome: DueOutcome, message: str, exit_code: ExitCode) -> None:
        item = DueItem(issue.id, record.variant, record.scheduled_for, outcome, message, exit_code)
        report.items.append(item)

    variant = record.variant if isinstance(record.variant, Variant) else None
    try:
        plan = plan_send(
            settings, str(issue.path), SendOptions(variant=variant, dry_run=True), client=client
        )
    except ScheduledTextChanged as changed:  # the file now says "now": a person decides
        report_item(DueOutcome.CHANGED, f"{changed.message} ({changed.hint})", ExitCode.INPUT)
        return
    except PostcliError as error:
        why = f"scheduled on the provider, but the issue no longer renders: {error}"
        report_item(DueOutcome.FAILED, why, error.exit_code)
        return
    plan.provider.close()
    for v in plan.variants:
        if v.action is PlanAction.MOVE:
            report_item(
                DueOutcome.CHANGED,
                f"the issue changed after it was scheduled on the provider (campaign "
                f"{record.remote_id}), which would send the old version ({v.reason}); "
                f"run 'postcli send {issue.id}' to update it",
                ExitCode.INPUT,
            )
