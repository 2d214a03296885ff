"""What is planned, read once: every issue file and the ledger, handed to the pure planner
(`schedule.plan`). `send --due` carries out the rows' cron actions and `postcli status` shows
the same rows, so status always says what cron will do.

Reads the issue files, the ledger and the issue locks; changes nothing and contacts no provider.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from postcli import schedule
from postcli.config import Settings
from postcli.errors import PostcliError
from postcli.issues import Issue, iter_issue_files, load_issue
from postcli.ledger import Ledger, RecipientCounts, SendRecord, lock_held
from postcli.ledger.schema import LEDGER_NAME
from postcli.model import Audience, Edition, Mode, SendStatus, edition

log = logging.getLogger("postcli.agenda")


@dataclass
class Agenda:
    rows: list[schedule.Row]
    issues: dict[str, Issue]
    records: dict[tuple[str, Edition], SendRecord] = field(default_factory=dict)
    counts: dict[int, RecipientCounts] = field(default_factory=dict)  # by send id
    duplicated: dict[int, list[str]] = field(default_factory=dict)  # possibly twice, by send id
    # Locally scheduled sends whose issue file is gone or unreadable.
    orphans: list[SendRecord] = field(default_factory=list)
    # The ledger's other rows: live sends through another provider, and --test copies.
    others: list[SendRecord] = field(default_factory=list)


def load_issues(settings: Settings) -> dict[str, Issue]:
    issues: dict[str, Issue] = {}
    for path in iter_issue_files(settings.issues_dir):
        try:
            issues[path.stem] = load_issue(path)
        except PostcliError as error:
            # A draft being written may be broken for a while: say so, but it blocks nothing.
            log.warning("skipping %s: %s", path.name, error)
    return issues


def times_of(issue: Issue, settings: Settings, *, self_gated: bool = False) -> schedule.IssueTimes:
    """`self_gated`: the provider takes one gated post for both tiers (Ghost, beehiiv)."""
    send_at = issue.front.send_at
    at = schedule.resolve(send_at, settings.newsletter.tz).utc if send_at is not None else None
    variants: tuple[Edition, ...] = issue.front.audience.variants
    if self_gated and len(variants) > 1:
        variants = (Audience.ALL,)
    return schedule.IssueTimes(issue.id, variants, at, issue.front.draft, issue.front.title)


def gather(
    settings: Settings,
    now: datetime,
    *,
    provider: str,
    native: bool,
    late_ok: bool = False,
    self_gated: bool = False,
    issues: dict[str, Issue] | None = None,
    lock_is_ours: bool = False,
) -> Agenda:
    """The planner's rows for the configured `provider` (`native`: it schedules by itself).
    `lock_is_ours`: the caller holds the issue locks, so no other run is sending."""
    issues = load_issues(settings) if issues is None else issues
    timing = schedule.Timing(
        provider,
        native,
        timedelta(hours=settings.schedule.max_lateness_hours),
        late_ok,
    )
    agenda = Agenda([], issues)
    facts: dict[tuple[str, Edition], schedule.LedgerFacts] = {}
    held: set[tuple[str, Edition]] = set()
    if (settings.state_dir / LEDGER_NAME).exists():
        with Ledger.open(settings.state_dir) as ledger:
            locked: dict[str, bool] = {}
            # Per (issue, variant): the configured provider's send, else another provider's
            # (an issue sent through smtp is not sent again after a switch to another).
            chosen: dict[tuple[str, Edition], SendRecord] = {}
            for record in ledger.latest_live():
                variant = record.variant
                if record.issue_id not in issues:
                    local = record.status is SendStatus.SCHEDULED and record.remote_id is None
                    if record.provider == provider and local:
                        agenda.orphans.append(record)
                    else:
                        agenda.others.append(record)
                    continue
                key = (record.issue_id, variant)
                if key in chosen and chosen[key].provider == provider:
                    agenda.others.append(record)
                    continue
                if key in chosen:
                    agenda.others.append(chosen[key])
                chosen[key] = record
            for (_, variant), record in chosen.items():
                counts = agenda.counts[record.id] = ledger.counts(record.id)
                if counts.possibly_duplicate:
                    agenda.duplicated[record.id] = [
                        r.email
                        for r in ledger.recipients(record.id).values()
                        if r.possibly_duplicate
                    ]
                running = False
                if record.status in (SendStatus.SENDING, SendStatus.PENDING) and not lock_is_ours:
                    if record.issue_id not in locked:
                        locked[record.issue_id] = lock_held(settings.state_dir, record.issue_id)
                    running = locked[record.issue_id]
                agenda.records[(record.issue_id, variant)] = record
                facts[(record.issue_id, variant)] = schedule.LedgerFacts(
                    record.status,
                    scheduled_for=record.scheduled_for,
                    remote_id=record.remote_id,
                    sent_at=record.sent_at,
                    error=record.error,
                    done=counts.sent,
                    total=counts.total,
                    running=running,
                    provider=record.provider,
                )
            for issue_id, held_variant, held_provider in ledger.holds():
                if held_provider == provider:
                    held.add((issue_id, edition(held_variant)))
            agenda.others += ledger.sends(mode=Mode.TEST)
    agenda.rows = schedule.plan(
        [times_of(issue, settings, self_gated=self_gated) for issue in issues.values()],
        facts,
        held,
        now,
        timing,
    )
    return agenda
