"""What `postcli send ISSUE` will do, decided before anything changes.

`plan_send` renders the variants with the provider's unsubscribe link, runs the pre-flight
checks, reads the ledger and the subscribers, and decides per variant (`decide`): send,
schedule, resume an interrupted send, or nothing (already sent or scheduled). It changes
nothing; `postcli.send.execute` carries the plan out. The words shown to the user are `cli/`'s.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from postcli.config import Settings
from postcli.errors import CheckFailed, InputError, UsageError
from postcli.issues import Issue
from postcli.ledger import Ledger, SendRecord
from postcli.model import Audience, Edition, PlanAction, RecipientStatus, SendStatus, Variant
from postcli.providers.base import (
    Provider,
    campaign_name,
    content_hash,
    is_movable,
    is_recipient_provider,
    is_self_gated,
)
from postcli.render import RenderedEmail
from postcli.render.gated import GatedPost, gated_post
from postcli.send.decide import SCHEDULE_SLACK, decide
from postcli.times import iso_or_none, utc_now

if TYPE_CHECKING:
    from postcli.subscribers import Subscriber, SubscriberList


@dataclass(frozen=True)
class SendOptions:
    at: str | None = None  # --at, as typed
    now: bool = False  # --now
    test: str | None = None  # --test ADDR
    variant: Variant | None = None  # --variant
    dry_run: bool = False
    force: bool = False
    due: bool = False  # called by `send --due`: a ledger-scheduled send is what to send


@dataclass
class VariantPlan:
    variant: Edition  # a Variant, or Audience.ALL for a self-gated post
    email: RenderedEmail
    content_hash: str
    campaign_name: str
    action: PlanAction
    previous: SendRecord | None = None
    # Who gets this variant: a view of the subscribers list, read back on each iteration.
    recipients: Collection[Subscriber] = field(default_factory=list)
    pending: int = 0  # of those, not yet sent according to the ledger
    reason: str = ""  # for ALREADY: what the ledger says
    extra: dict[str, RenderedEmail] = field(default_factory=dict)  # a self-gated post's free email
    post: GatedPost | None = None  # a self-gated provider's one post (render.gated)
    # A schedule that follows the file, not the command line: the time it moves to (or stays
    # at, when only the text changed). None: the plan's own time.
    at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.action is not PlanAction.ALREADY


@dataclass
class Plan:
    settings: Settings
    issue: Issue
    provider: Provider
    provider_name: str
    options: SendOptions
    when: datetime | None  # aware UTC when the send is for later; None: now
    variants: list[VariantPlan]
    notes: list[str] = field(default_factory=list)  # warnings to show before confirming

    @property
    def per_recipient(self) -> bool:
        return is_recipient_provider(self.provider)

    @property
    def nothing_to_do(self) -> bool:
        return not any(v.active for v in self.variants)

    @property
    def needs_confirmation(self) -> bool:
        """Real sends ask first; a test, a dry run or nothing to do does not."""
        return not (self.options.test or self.options.dry_run or self.nothing_to_do)

    @property
    def provider_has_list(self) -> bool:
        provider = self.provider
        return is_recipient_provider(provider) and provider.subscribers_file is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "issue": self.issue.id,
            "provider": self.provider_name,
            "when": iso_or_none(self.when),
            "test": self.options.test,
            "dry_run": self.options.dry_run,
            "variants": [
                {
                    "variant": v.variant,
                    "action": v.action,
                    "subject": v.email.subject,
                    "content_hash": v.content_hash,
                    "recipients": len(v.recipients),
                    "pending": v.pending,
                    "reason": v.reason or None,
                }
                for v in self.variants
            ],
            "notes": self.notes,
        }


def show_time(moment: datetime | None, settings: Settings) -> str:
    """A send time as the newsletter's readers' clock shows it."""
    if moment is None:
        return "now"
    return moment.astimezone(settings.newsletter.tz).strftime("%Y-%m-%d %H:%M %Z")


def resolve_when(
    issue: Issue, settings: Settings, options: SendOptions, now: datetime
) -> tuple[datetime | None, list[str]]:
    """When to send: --now, else --at, else the issue's send_at; None means now.

    A send_at that has passed means now (the issue is late); an --at in the past is a mistake
    on the command line."""
    from postcli import schedule

    tz = settings.newsletter.tz
    if options.now or options.test:
        return None, []
    if options.at:
        try:
            when = schedule.parse_when(options.at, tz, now)
        except ValueError as exc:
            raise UsageError(f"--at: {exc}") from None
        if when.utc < now - SCHEDULE_SLACK:
            raise UsageError(
                f"--at {options.at} is in the past",
                hint="give a future time, or use --now to send now",
            )
        send_at = issue.front.send_at
        file_at = schedule.resolve(send_at, tz).utc if send_at is not None else None
        if file_at is not None and file_at != when.utc:
            # The file is the truth for schedules: cron (and a later `postcli send`) follows
            # send_at, so a different --at would be a time nothing keeps to.
            raise UsageError(
                f"--at {options.at} is not the issue's send_at "
                f"({file_at.astimezone(tz):%Y-%m-%d %H:%M %Z})",
                path=issue.path,
                line=issue.front.lines.get("send_at"),
                hint="change send_at in the issue (the file is the truth for schedules), or "
                "delete that line to use --at",
            )
    elif issue.front.send_at is not None:
        when = schedule.resolve(issue.front.send_at, tz)
    else:
        return None, []
    notes = [when.note] if when.note else []
    return (when.utc if when.utc > now + SCHEDULE_SLACK else None), notes


def file_times(
    issue: Issue, settings: Settings, provider: Provider, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """The issue's own send_at, whatever the command line says: (the instant, aware UTC, also
    when it has passed; the time a send for it is for, as the provider would take it, or None
    once it has come). Both None without a send_at."""
    from postcli import schedule

    if issue.front.send_at is None:
        return None, None
    at = schedule.resolve(issue.front.send_at, settings.newsletter.tz).utc
    return at, (taken_time(provider, at) if at > now + SCHEDULE_SLACK else None)


def sender_domain(settings: Settings) -> str:
    from postcli import mime

    address = mime.envelope_address(settings.newsletter.from_)
    return address.rpartition("@")[2] or "postcli.invalid"


def run_checks(
    issue: Issue,
    emails: dict[Variant, RenderedEmail],
    settings: Settings,
    unsubscribe_url: str | None = None,
) -> list[str]:
    """The pre-flight checks of `postcli check` on the very emails about to go out: raise
    CheckFailed on any error; return the warnings as lines."""
    from postcli import check

    findings = check.run_checks(issue, emails, settings, unsubscribe_url=unsubscribe_url)
    errors = [f for f in findings if f.level is check.Level.ERROR]

    def line(finding: check.Finding) -> str:
        where = finding.location
        return f"{where}: {finding.message}" if where else str(finding.message)

    if errors:
        listed = "\n".join(f"  {line(f)}" for f in errors)
        raise CheckFailed(
            f"the pre-flight checks found {len(errors)} error{'s' if len(errors) > 1 else ''}; "
            f"nothing was sent:\n{listed}",
            path=issue.path,
            hint=f"fix them; 'postcli check {issue.id}' shows every finding",
        )
    return [f"warning: {line(f)}" for f in findings]


def _wanted(issue: Issue, options: SendOptions) -> tuple[Variant, ...]:
    wanted = issue.front.audience.variants
    if options.variant is None:
        return wanted
    if options.variant not in wanted:
        raise UsageError(
            f"--variant {options.variant} is not sent for this issue "
            f"(audience: {issue.front.audience})",
            path=issue.path,
            line=issue.front.lines.get("audience"),
            hint=f"this issue goes out as: {', '.join(v.value for v in wanted)}",
        )
    return (options.variant,)


def _subscribers(
    provider: Provider, issue: Issue, options: SendOptions, wanted: tuple[Variant, ...]
) -> tuple[SubscriberList | None, list[str]]:
    """Everyone on a per-recipient provider's list (held on disk, not in memory), and a note
    on who gets nothing."""
    from postcli.subscribers import SubscriberList

    if not is_recipient_provider(provider) or options.test:
        return None, []
    found = provider.subscribers()
    subscribers = found if isinstance(found, SubscriberList) else SubscriberList.of(found)
    if provider.subscribers_file is not None and not len(subscribers):
        subscribers.close()
        raise InputError(
            "the subscribers file lists nobody",
            path=provider.subscribers_file,
            hint="add subscribers (email,name,tier), or remove 'subscribers' from the settings",
        )
    left_out = sum(subscribers.count(tier) for tier in Variant if tier not in wanted)
    if left_out and options.variant is None:
        return subscribers, [
            f"{left_out} subscriber{'s' if left_out > 1 else ''} of the other tier "
            f"get nothing (audience: {issue.front.audience})"
        ]
    return subscribers, []


def plan_send(
    settings: Settings,
    issue_arg: str,
    options: SendOptions,
    *,
    now: datetime | None = None,
    client: object = None,
) -> Plan:
    """Everything `send` will do, decided; nothing changed yet (see module docstring)."""
    from postcli import build, providers

    now = now or utc_now()
    provider = providers.create(settings, client=client)
    provider.validate()
    provider_name = provider.name
    issue = build.load(settings, issue_arg)
    if issue.front.draft and not options.test:
        raise InputError(
            f"{issue.id} is a draft (draft: true); nothing was sent",
            path=issue.path,
            line=issue.front.lines.get("draft"),
            hint="delete that line when the issue is ready to send; --test ADDR sends a copy",
        )
    wanted = _wanted(issue, options)
    if options.test:
        from postcli.subscribers import normalize_address

        try:  # it becomes an SMTP envelope address, a file name and a To header
            normalize_address(options.test)
        except ValueError as exc:
            raise UsageError(f"--test: {exc}".replace("\r", "\\r").replace("\n", "\\n")) from None

    from postcli.render import render_issue

    emails = render_issue(
        issue, settings, variants=wanted, unsubscribe_url=provider.unsubscribe_tag
    )
    notes = run_checks(
        issue,
        emails,
        settings,
        provider.unsubscribe_tag or settings.newsletter.unsubscribe_url,
    )
    when, time_notes = resolve_when(issue, settings, options, now)
    notes += time_notes
    subscribers, subscriber_notes = _subscribers(provider, issue, options, wanted)
    notes += subscriber_notes

    file_at, file_when = file_times(issue, settings, provider, now)
    plans: list[VariantPlan] = []
    # (ledger variant, email, what goes along): one per variant, or one self-gated post that
    # carries the premium email and the free one beside it for the provider to gate.
    items: list[tuple[Edition, RenderedEmail, dict[str, RenderedEmail]]] = [
        (variant, email, {}) for variant, email in emails.items()
    ]
    if is_self_gated(provider) and options.variant is None and len(emails) > 1:
        items = [(Audience.ALL, emails[Variant.PREMIUM], {"free_email": emails[Variant.FREE]})]
    with Ledger.open(settings.state_dir) as ledger:
        holds = ledger.holds()
        for label, email, extra in items:
            hash_ = content_hash(email)
            if extra:
                hash_ = content_hash(extra["free_email"], hash_)
            post = None
            if is_self_gated(provider):  # the platform's one post, cut into gated sections
                split = options.variant is not None and len(issue.front.audience.variants) > 1
                post = gated_post(issue, settings, tuple(emails), split=split)
            plan = VariantPlan(
                post=post,
                variant=label,
                email=email,
                content_hash=hash_,
                campaign_name=campaign_name(issue.id, label, hash_),
                action=PlanAction.TEST if options.test else PlanAction.SEND,
                recipients=(
                    subscribers.tier(label)
                    if subscribers is not None and isinstance(label, Variant)
                    else []
                ),
                extra=extra,
            )
            if not options.test:
                decide(
                    plan,
                    ledger.current(issue.id, label, provider_name),
                    options,
                    taken_time(provider, when),
                    settings.newsletter.tz,
                    now=now,
                    native=schedules_natively(provider),
                    held=(issue.id, str(label), provider_name) in holds,
                    file_at=file_at,
                    file_when=file_when,
                )
                plan.pending = _pending(ledger, plan)
                changed = plan.previous and plan.previous.content_hash != hash_
                if changed and plan.action is PlanAction.RESUME:
                    notes.append(
                        f"{label}: the issue changed since the interrupted send began; "
                        "the rest get the new version"
                    )
            plans.append(plan)
    if options.force and any(p.previous and p.previous.done for p in plans):
        notes.append("--force: sending again what the ledger says was sent or scheduled")
        for p in plans:
            if p.previous and p.previous.status is SendStatus.SCHEDULED and p.previous.remote_id:
                notes.append(
                    f"{p.variant}: the provider still holds scheduled campaign "
                    f"{p.previous.remote_id}; cancel it there or it goes out too"
                )
    return Plan(settings, issue, provider, provider_name, options, when, plans, notes)


def taken_time(provider: Provider, when: datetime | None) -> datetime | None:
    """The time a provider's scheduler would take for `when` (Mailchimp: the next quarter)."""
    if when is not None and is_movable(provider):
        return provider.schedule_time(when)
    return when


def schedules_natively(provider: Provider) -> bool:
    """A future send is handed to the provider's own scheduler (not kept in the ledger)."""
    features = provider.features
    return features.native_schedule and not features.per_recipient


def _pending(ledger: Ledger, plan: VariantPlan) -> int:
    idle = plan.action in (PlanAction.ALREADY, PlanAction.SCHEDULE)
    if plan.previous is None or idle or plan.previous.done:
        return len(plan.recipients)
    from postcli.subscribers import chunked

    sent = 0
    for chunk in chunked(plan.recipients):  # a chunk at a time: the list may be long
        states = ledger.recipient_states(plan.previous.id, [s.email for s in chunk])
        sent += sum(1 for r in states.values() if r.status is RecipientStatus.SENT)
    return len(plan.recipients) - sent
