"""`postcli send --due`: the cron entry point. Sends every (issue, variant) whose time has come
and that the ledger has not sent, exactly once, however runs overlap or crash.

Where the times come from, per (issue, variant) and the configured provider:
- a send scheduled locally in the ledger (`postcli send ISSUE --at T` with a provider that has
  no scheduler of its own): its `scheduled_for`;
- otherwise the issue's `send_at`, for variants the ledger has no live send of.

What is done: `schedule.decide` (pure) says send, wait, stale or done; each send goes through
`send.send_one`, which waits at most half a second for the issue's lock (`postcli status`
takes it for an instant to see whether a send is running): an overlapping run that holds it
is left to finish, and this run says so. A send handed to a provider's own scheduler is the
provider's to send; if the issue was edited after that, this run reports it (exit 1), because
the provider would send the old text.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from postcli import schedule
from postcli.config import Settings
from postcli.errors import ExitCode, PostcliError, SendInProgress
from postcli.issues import Issue, iter_issue_files, load_issue
from postcli.ledger import Ledger, SendRecord
from postcli.model import Audience, DueOutcome, Edition, Outcome, SendStatus, Variant
from postcli.providers.base import is_self_gated
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

    if send_one is None:
        from postcli.send import send_one as default_send_one

        send_one = default_send_one
    moment = (now or utc_now()).astimezone(UTC)
    provider = providers.create(settings, client=client)
    provider_name = provider.name
    report = DueReport()
    issues = _load_issues(settings, report)
    max_lateness = timedelta(hours=settings.schedule.max_lateness_hours)

    planned: list[schedule.Planned] = []
    done: set[tuple[str, Edition]] = set()
    handed_over: list[tuple[Issue, SendRecord]] = []
    with Ledger.open(settings.state_dir) as ledger:
        for issue in issues.values():
            variants: tuple[Edition, ...] = issue.front.audience.variants
            if is_self_gated(provider) and len(variants) > 1:
                variants = (Audience.ALL,)  # Ghost, beehiiv: one gated post for both tiers
            for variant in variants:
                record = ledger.current(issue.id, variant, provider_name)
                scheduled = record is not None and record.status is SendStatus.SCHEDULED
                if record is not None and record.status is SendStatus.SENT:
                    done.add((issue.id, variant))
                elif record is not None and scheduled and record.remote_id:
                    done.add((issue.id, variant))
                    handed_over.append((issue, record))
                elif record is not None and scheduled:
                    assert record.scheduled_for is not None
                    planned.append(schedule.Planned(issue.id, variant, record.scheduled_for))
                elif (
                    record is not None
                    and record.scheduled_for is not None
                    and record.remote_id is None
                ):
                    # A local schedule a killed or failed run left unfinished: its time still
                    # stands (the issue may have no send_at of its own, only `--at`).
                    planned.append(schedule.Planned(issue.id, variant, record.scheduled_for))
                elif issue.front.send_at is not None:
                    at = schedule.resolve(issue.front.send_at, settings.newsletter.tz).utc
                    planned.append(schedule.Planned(issue.id, variant, at))
        # A locally scheduled send of an issue whose file is gone or broken is a problem too.
        for record in ledger.latest_live():
            orphan = record.issue_id not in issues and record.status is SendStatus.SCHEDULED
            if orphan and record.remote_id is None and record.provider == provider_name:
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

    for issue, record in handed_over:
        _check_unchanged(settings, issue, record, report, client)

    for decision in schedule.decide(planned, done, moment, max_lateness, late_ok=late_ok):
        item = decision.planned
        if decision.action is schedule.Action.WAIT:
            report.waiting += 1
        elif decision.action is schedule.Action.STALE:
            hours = decision.late_by.total_seconds() / 3600
            report.items.append(
                DueItem(
                    item.issue_id,
                    item.variant,
                    item.at,
                    DueOutcome.STALE,
                    f"due {hours:.1f} h ago, past the maximum lateness of "
                    f"{settings.schedule.max_lateness_hours:g} h; not sent "
                    "(send it with --late-ok, or remove its send_at)",
                    ExitCode.INPUT,
                )
            )
        elif decision.action is schedule.Action.SEND:
            issue = issues[item.issue_id]
            if dry_run:
                report.items.append(
                    DueItem(
                        item.issue_id, item.variant, item.at, DueOutcome.DRY_RUN, "would send now"
                    )
                )
                continue
            report.items.append(
                _send(settings, issue, item, send_one, progress=progress, client=client)
            )
    return report


def _load_issues(settings: Settings, report: DueReport) -> dict[str, Issue]:
    issues: dict[str, Issue] = {}
    for path in iter_issue_files(settings.issues_dir):
        try:
            issue = load_issue(path)
        except PostcliError as error:
            # A draft being written may be broken for a while: say so, but it blocks nothing.
            log.warning("skipping %s: %s", path.name, error)
            continue
        if issue.front.draft:  # a draft is never sent
            log.warning("skipping %s: a draft (draft: true)", path.name)
            continue
        issues[path.stem] = issue
    return issues


def _send(
    settings: Settings,
    issue: Issue,
    item: schedule.Planned,
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
    """A campaign scheduled on the provider carries the text it was given: an edit since then
    would not go out. Say so loudly, every run, until someone acts."""
    from postcli.errors import ScheduledTextChanged
    from postcli.send import SendOptions, plan_send

    variant = record.variant if isinstance(record.variant, Variant) else None
    try:
        plan_send(
            settings,
            str(issue.path),
            SendOptions(variant=variant, dry_run=True),
            client=client,
        )
    except ScheduledTextChanged as changed:
        report.items.append(
            DueItem(
                issue.id,
                record.variant,
                record.scheduled_for,
                DueOutcome.CHANGED,
                f"{changed.message} ({changed.hint})",
                ExitCode.INPUT,
            )
        )
    except PostcliError as error:
        report.items.append(
            DueItem(
                issue.id,
                record.variant,
                record.scheduled_for,
                DueOutcome.FAILED,
                f"scheduled on the provider, but the issue no longer renders: {error}",
                error.exit_code,
            )
        )
