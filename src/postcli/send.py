"""render -> check -> ledger -> provider -> ledger: what `postcli send ISSUE` does.

Two steps, so the command line can ask for confirmation in between:

- `plan_send` renders the variants with the provider's unsubscribe link, runs the pre-flight
  checks, reads the ledger and the subscribers, and decides per variant: send, schedule, resume
  an interrupted send, or nothing (already sent or scheduled). It changes nothing.
- `execute` takes the issue's lock, reads the ledger again (another process may have finished
  meanwhile), and carries the plan out, recording every step in the ledger before and after each
  remote call.

`send_one` is the seam for `send --due`: it sends one (issue, variant) whose time has come,
given what the ledger says about it.

Per-recipient providers (file, smtp) run through `_deliver_recipients`: a recipient is marked
'sending' (committed) right before its delivery and 'sent' (committed) right after the server's
250. A recipient a killed run left in 'sending' is sent again with the same deterministic
Message-ID and reported as possibly delivered twice. This module never imports typer, rich or
httpx; progress goes to a callback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from postcli.config import Settings, redact
from postcli.errors import CheckFailed, InputError, PostcliError, ProviderRefused, UsageError
from postcli.issues import Issue, Variant
from postcli.ledger import Ledger, SendInProgress, SendRecord, issue_lock, utc_now
from postcli.providers.base import (
    Campaign,
    Provider,
    RecipientRefused,
    campaign_name,
    content_hash,
)
from postcli.render import RenderedEmail

log = logging.getLogger("postcli.send")

# Test-only hooks: SIGKILL this process right after committing the Nth 'sent' recipient, or
# right after the Nth server acceptance but before its 'sent' is committed (the in-flight window).
KILL_AFTER_SENT = "POSTCLI_TEST_KILL_AFTER_SENT"
KILL_BEFORE_COMMIT = "POSTCLI_TEST_KILL_BEFORE_COMMIT"

# A time this close to now is "now": no point scheduling a send for 30 seconds ahead.
SCHEDULE_SLACK = timedelta(minutes=1)

# (variant, done, total): after each recipient, and once at the start of a variant.
Progress = Callable[[str, int, int], None]


class ScheduledTextChanged(InputError):
    """The issue was edited after the provider's scheduler got it: refuse, never send old text."""


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
    variant: str  # "free" | "premium", or "all" for a self-gated post
    email: RenderedEmail
    content_hash: str
    campaign_name: str
    action: str  # "send" | "schedule" | "resume" | "already" | "test"
    previous: SendRecord | None = None
    recipients: list[Any] = field(default_factory=list)  # Subscribers getting this variant
    pending: int = 0  # of those, not yet sent according to the ledger
    reason: str = ""  # for "already": what the ledger says
    extra: dict[str, Any] = field(default_factory=dict)  # a self-gated post's free email

    @property
    def active(self) -> bool:
        return self.action != "already"


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
        return self.provider.features.per_recipient

    @property
    def nothing_to_do(self) -> bool:
        return not any(v.active for v in self.variants)

    @property
    def needs_confirmation(self) -> bool:
        """Real sends ask first; a test, a dry run or nothing to do does not."""
        return not (self.options.test or self.options.dry_run or self.nothing_to_do)

    def lines(self) -> list[str]:
        """What will happen, one line per variant, for the prompt and for --dry-run."""
        out = [f"{self.issue.id} via {self.provider.describe()}"]
        for v in self.variants:
            subject = v.email.subject
            if v.action == "already":
                out.append(f"  {v.variant:8} {v.reason}; nothing to do")
            elif v.action == "test":
                out.append(f"  {v.variant:8} test copy to {self.options.test}: [TEST] {subject}")
            else:
                what = {
                    "send": "send now",
                    "resume": "resume the interrupted send",
                    "schedule": f"schedule for {_show_time(self.when, self.settings)}",
                }[v.action]
                who = ""
                if self.per_recipient and self.provider_has_list:
                    skipped = len(v.recipients) - v.pending
                    who = f" to {v.pending} subscriber{'s' if v.pending != 1 else ''}"
                    if skipped and v.action != "schedule":
                        who += f" ({skipped} already sent, skipped)"
                    if v.action == "schedule":
                        who = f" ({len(v.recipients)} subscribers today)"
                out.append(f"  {v.variant:8} {what}{who}: {subject}")
        return out

    @property
    def provider_has_list(self) -> bool:
        return bool(getattr(self.provider, "subscribers_file", None))

    def to_json(self) -> dict[str, Any]:
        return {
            "issue": self.issue.id,
            "provider": self.provider_name,
            "when": _iso(self.when),
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


@dataclass
class VariantReport:
    variant: str
    action: str  # "sent" | "scheduled" | "already" | "failed" | "test" | "dry-run" | "busy"
    total: int = 0  # recipients this run was about
    sent: int = 0
    skipped: int = 0  # already sent by an earlier run
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (address, why)
    possibly_duplicated: list[str] = field(default_factory=list)
    remote_id: str | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "action": self.action,
            "total": self.total,
            "sent": self.sent,
            "skipped": self.skipped,
            "failed": self.failed,
            "failures": [{"email": e, "error": why} for e, why in self.failures],
            "possibly_duplicated": self.possibly_duplicated,
            "remote_id": self.remote_id,
            "message": self.message,
        }


@dataclass
class SendReport:
    plan: Plan
    variants: list[VariantReport] = field(default_factory=list)
    error: PostcliError | None = None  # what stopped the run, after the ledger recorded it

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return int(self.error.exit_code)
        if any(v.failed for v in self.variants):
            return int(ProviderRefused.exit_code)
        return 0

    def summary(self) -> list[str]:
        out = []
        for v in self.variants:
            if v.action in ("already", "dry-run", "scheduled", "test", "busy") or not v.total:
                out.append(f"{v.variant:8} {v.message}")
                continue
            parts = [f"{v.sent} sent", f"{v.skipped} skipped (sent before)", f"{v.failed} failed"]
            if v.possibly_duplicated:
                parts.append(f"{len(v.possibly_duplicated)} possibly delivered twice")
            out.append(f"{v.variant:8} {', '.join(parts)}")
            out += [f"  failed: {email}: {why}" for email, why in v.failures[:20]]
            if len(v.failures) > 20:
                out.append(f"  ... and {len(v.failures) - 20} more (postcli status --json)")
            out += [
                f"  possibly delivered twice (same Message-ID): {email}"
                for email in v.possibly_duplicated
            ]
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            **self.plan.to_json(),
            "results": [v.to_json() for v in self.variants],
            "error": redact(str(self.error)) if self.error else None,
        }


# -- planning ----------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).isoformat(timespec="seconds") if moment else None


def _show_time(moment: datetime | None, settings: Settings) -> str:
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
    elif issue.front.send_at is not None:
        when = schedule.resolve(issue.front.send_at, tz)
    else:
        return None, []
    notes = [when.note] if when.note else []
    return (when.utc if when.utc > now + SCHEDULE_SLACK else None), notes


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

    def line(finding: Any) -> str:
        where = getattr(finding, "location", "")
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


def plan_send(
    settings: Settings,
    issue_arg: str,
    options: SendOptions,
    *,
    now: datetime | None = None,
    client: Any = None,
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
            "the issue is a draft (draft: true); a draft is never sent",
            path=issue.path,
            line=issue.front.lines.get("draft"),
            hint="delete the 'draft: true' line when it is ready; --test sends it to you only",
        )

    wanted = issue.front.audience.variants
    if options.variant is not None:
        if options.variant not in wanted:
            raise UsageError(
                f"--variant {options.variant} is not sent for this issue "
                f"(audience: {issue.front.audience})",
                path=issue.path,
                line=issue.front.lines.get("audience"),
                hint=f"this issue goes out as: {', '.join(v.value for v in wanted)}",
            )
        wanted = (options.variant,)
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

    subscribers: list[Any] = []
    if provider.features.per_recipient and not options.test:
        subscribers = provider.subscribers()  # type: ignore[attr-defined]
        if getattr(provider, "subscribers_file", None) and not subscribers:
            raise InputError(
                "the subscribers file lists nobody",
                path=provider.subscribers_file,  # type: ignore[attr-defined]
                hint="add subscribers (email,name,tier), or remove 'subscribers' from the settings",
            )
        left_out = [s for s in subscribers if s.tier not in wanted]
        if left_out and options.variant is None:
            notes.append(
                f"{len(left_out)} subscriber{'s' if len(left_out) > 1 else ''} of the other tier "
                f"get nothing (audience: {issue.front.audience})"
            )

    plans: list[VariantPlan] = []
    # (ledger variant, email, what goes along): one per variant, or one self-gated post that
    # carries the premium email and the free one beside it for the provider to gate.
    items: list[tuple[str, RenderedEmail, dict[str, Any]]] = [
        (variant.value, email, {}) for variant, email in emails.items()
    ]
    if provider.features.self_gated and options.variant is None and len(emails) > 1:
        items = [("all", emails[Variant.PREMIUM], {"free_email": emails[Variant.FREE]})]
    with Ledger.open(settings.state_dir) as ledger:
        for label, email, extra in items:
            hash_ = content_hash(email)
            if extra:
                hash_ = content_hash(extra["free_email"], hash_)
            plan = VariantPlan(
                variant=label,
                email=email,
                content_hash=hash_,
                campaign_name=campaign_name(issue.id, label, hash_),
                action="test" if options.test else "send",
                recipients=[s for s in subscribers if s.tier.value == label],
                extra=extra,
            )
            if not options.test:
                _decide(
                    plan,
                    ledger.current(issue.id, label, provider_name),
                    options,
                    when,
                    settings.newsletter.tz,
                    native=_schedules_natively(provider),
                )
                plan.pending = _pending(ledger, plan)
                changed = plan.previous and plan.previous.content_hash != hash_
                if changed and plan.action == "resume":
                    notes.append(
                        f"{label}: the issue changed since the interrupted send began; "
                        "the rest get the new version"
                    )
            plans.append(plan)
    if options.force and any(p.previous and p.previous.done for p in plans):
        notes.append("--force: sending again what the ledger says was sent or scheduled")
        for p in plans:
            if p.previous and p.previous.status == "scheduled" and p.previous.remote_id:
                notes.append(
                    f"{p.variant}: the provider still holds scheduled campaign "
                    f"{p.previous.remote_id}; cancel it there or it goes out too"
                )
    return Plan(settings, issue, provider, provider_name, options, when, plans, notes)


def _schedules_natively(provider: Provider) -> bool:
    """A future send is handed to the provider's own scheduler (not kept in the ledger)."""
    features = provider.features
    return features.native_schedule and not features.per_recipient


def _decide(
    plan: VariantPlan,
    previous: SendRecord | None,
    options: SendOptions,
    when: datetime | None,
    tz: Any = UTC,
    *,
    native: bool = False,
) -> None:
    """Sets plan.action from what the ledger says and when the send is for. `native`: the
    provider schedules future sends itself."""
    plan.previous = previous
    if previous is not None and not options.force:
        if previous.status == "sent":
            plan.action, plan.reason = "already", f"already sent on {_day(previous.sent_at, tz)}"
            return
        if previous.status == "scheduled":
            if options.due and previous.remote_id is None:
                plan.action = "send"  # its time has come: `send --due` sends it
                return
            if previous.remote_id and previous.content_hash != plan.content_hash:
                # The provider holds the text it was given; never let it send an old version
                # silently.
                raise ScheduledTextChanged(
                    f"{plan.variant}: the issue changed after it was scheduled on the provider "
                    f"(campaign {previous.remote_id}, for {_day(previous.scheduled_for, tz)}), "
                    "which would send the old text",
                    hint="cancel or delete that campaign on the provider, then run this again "
                    "with --force to schedule the new text",
                )
            plan.action = "already"
            plan.reason = f"already scheduled for {_day(previous.scheduled_for, tz)}"
            return
        if previous.status in ("sending", "failed"):
            # An interrupted hand-over to the provider's scheduler is handed over again, for
            # the time asked now: finishing it as a send would send it at once.
            interrupted_schedule = native and previous.scheduled_for is not None
            plan.action = "schedule" if interrupted_schedule and when is not None else "resume"
            return
    plan.action = "schedule" if when is not None else "send"


def _day(moment: datetime | None, tz: Any = UTC) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z") if moment else "an earlier run"


def _pending(ledger: Ledger, plan: VariantPlan) -> int:
    if plan.previous is None or plan.action in ("already", "schedule") or plan.previous.done:
        return len(plan.recipients)
    sent = {
        e.casefold() for e, r in ledger.recipients(plan.previous.id).items() if r.status == "sent"
    }
    return sum(1 for s in plan.recipients if s.email.casefold() not in sent)


# -- carrying it out ---------------------------------------------------------------------------


def execute(
    plan: Plan,
    *,
    progress: Progress | None = None,
    lock_wait: float = 3.0,
    now: Callable[[], datetime] = utc_now,
) -> SendReport:
    """Carry the plan out under the issue's lock; the report says what happened. A provider
    error stops the run after the ledger recorded it, and comes back in `report.error`."""
    try:
        return _execute(plan, progress=progress, lock_wait=lock_wait, now=now)
    finally:
        close = getattr(plan.provider, "close", None)  # an HTTP provider's client
        if callable(close):
            close()


def _execute(
    plan: Plan,
    *,
    progress: Progress | None,
    lock_wait: float,
    now: Callable[[], datetime],
) -> SendReport:
    report = SendReport(plan)
    options = plan.options
    if options.dry_run:
        for v in plan.variants:
            action = "already" if v.action == "already" else "dry-run"
            message = (
                v.reason + "; nothing to do" if v.action == "already" else "dry run: nothing sent"
            )
            report.variants.append(
                VariantReport(v.variant, action, total=v.pending, message=message)
            )
        return report
    if options.test:
        with Ledger.open(plan.settings.state_dir, clock=now) as ledger:
            for v in plan.variants:
                report.variants.append(_send_test(plan, v, ledger, now))
        return report
    if plan.nothing_to_do:
        report.variants = [
            VariantReport(v.variant, "already", message=v.reason + "; nothing to do")
            for v in plan.variants
        ]
        return report

    with (
        issue_lock(plan.settings.state_dir, plan.issue.id, wait=lock_wait),
        Ledger.open(plan.settings.state_dir, clock=now) as ledger,
        contextlib.ExitStack() as stack,
    ):
        # Another process may have finished (or begun) while this one planned: decide again.
        tz = plan.settings.newsletter.tz
        for v in plan.variants:
            planned = v.previous
            previous = ledger.current(plan.issue.id, v.variant, plan.provider_name)
            _decide(v, previous, options, plan.when, tz, native=_schedules_natively(plan.provider))
            if options.force and previous is not None and previous.done:
                seen_done = (
                    planned is not None
                    and planned.id == previous.id
                    and planned.status == previous.status
                )
                if not seen_done:
                    # --force re-sends what the user saw sent when confirming; this was finished
                    # by another run since, and sending it again would reach everyone twice.
                    v.action = "already"
                    v.reason = f"{previous.status} by another postcli run meanwhile"
        transport = None
        if plan.per_recipient and any(v.action in ("send", "resume") for v in plan.variants):
            # Entered on the stack, so an interruption reaches the transport (no SMTP QUIT then).
            transport = stack.enter_context(
                plan.provider.open_transport(plan.issue.id)  # type: ignore[attr-defined]
            )
        for v in plan.variants:
            if v.action == "already":
                report.variants.append(
                    VariantReport(v.variant, "already", message=v.reason + "; nothing to do")
                )
                continue
            result = VariantReport(v.variant, "failed")
            report.variants.append(result)
            try:
                if v.action == "schedule":
                    _schedule(plan, v, ledger, result)
                elif plan.per_recipient:
                    _deliver_recipients(plan, v, ledger, transport, result, progress, now)
                else:
                    _deliver_campaign(plan, v, ledger, result)
            except PostcliError as error:
                result.action = "failed"
                result.message = redact(str(error.message))
                report.error = error
                break
    return report


def send_one(
    settings: Settings,
    issue_arg: str,
    variant: Variant,
    *,
    progress: Progress | None = None,
    lock_wait: float = 0.5,  # a `postcli status` glancing at the lock holds it for an instant
    client: Any = None,
    now: Callable[[], datetime] = utc_now,
    skip_if_busy: bool = True,
) -> SendReport:
    """Send one (issue, variant) now, from whatever state the ledger holds: the seam for
    `send --due`. A send scheduled in the ledger is sent; one sent already, or scheduled on the
    provider itself, is left alone; an interrupted one is finished.

    When another process holds the issue (after `lock_wait` seconds), the report says "busy"
    and nothing happens, as overlapping cron runs need; with `skip_if_busy=False` that raises
    SendInProgress instead."""
    options = SendOptions(variant=variant, now=True, due=True)
    plan = plan_send(settings, issue_arg, options, now=now(), client=client)
    try:
        return execute(plan, progress=progress, lock_wait=lock_wait, now=now)
    except SendInProgress as busy:
        if not skip_if_busy:
            raise
        message = f"{busy.message}; skipped"
        return SendReport(plan, [VariantReport(variant.value, "busy", message=message)])


def _begin(plan: Plan, v: VariantPlan, ledger: Ledger) -> SendRecord:
    """The ledger's record of this send, made or taken up; a --force re-send of something
    done starts a new generation."""
    return ledger.begin(
        plan.issue.id,
        v.variant,
        plan.provider_name,
        content_hash=v.content_hash,
        campaign_name=v.campaign_name,
        subject=v.email.subject,
        new_generation=plan.options.force and bool(v.previous and v.previous.done),
    )


def _schedule(plan: Plan, v: VariantPlan, ledger: Ledger, result: VariantReport) -> None:
    assert plan.when is not None
    record = _begin(plan, v, ledger)
    when_text = _show_time(plan.when, plan.settings)
    if plan.provider.features.native_schedule and not plan.per_recipient:
        record = _generation_name(ledger, v, record)
        campaign = _campaign(plan, v, record, send_at=plan.when)
        ledger.set_status(record.id, "sending", scheduled_for=plan.when)
        delivery = _call_provider(plan, ledger, record, campaign)
        taken = delivery.scheduled_for or plan.when  # Mailchimp rounds up to a quarter hour
        ledger.set_status(
            record.id, delivery.status, remote_id=delivery.remote_id, scheduled_for=taken
        )
        when_text = _show_time(taken, plan.settings)
        result.action, result.remote_id = delivery.status, delivery.remote_id
        result.message = (
            f"scheduled on the provider for {when_text}"
            if delivery.status == "scheduled"
            else f"{delivery.status} (campaign {delivery.remote_id or '?'})"
        )
    else:
        ledger.set_status(record.id, "scheduled", scheduled_for=plan.when)
        result.action = "scheduled"
        result.message = f"scheduled for {when_text}; 'postcli send --due' (cron) sends it then"


def _generation_name(ledger: Ledger, v: VariantPlan, record: SendRecord) -> SendRecord:
    """A --force re-send is a new campaign: its stable name gets the generation, `-r2`..."""
    if record.generation <= 1:
        return record
    name = f"{v.campaign_name}-r{record.generation}"
    if record.campaign_name != name:
        ledger.rename(record.id, name)
        record = ledger.get(record.id)
    return record


def _campaign(
    plan: Plan, v: VariantPlan, record: SendRecord, *, send_at: datetime | None
) -> Campaign:
    newsletter = plan.settings.newsletter
    return Campaign(
        issue_id=plan.issue.id,
        variant=v.variant,
        name=record.campaign_name or v.campaign_name,
        email=v.email,
        sender=newsletter.from_,
        reply_to=newsletter.reply_to,
        send_at=send_at,
        remote_id=record.remote_id,
        extra=v.extra,
    )


def _call_provider(plan: Plan, ledger: Ledger, record: SendRecord, campaign: Campaign) -> Any:
    try:
        return plan.provider.send_campaign(  # type: ignore[attr-defined]
            campaign, lambda remote_id: ledger.set_remote_id(record.id, remote_id)
        )
    except PostcliError as error:
        ledger.set_status(record.id, "failed", error=redact(str(error)))
        raise


def _deliver_campaign(plan: Plan, v: VariantPlan, ledger: Ledger, result: VariantReport) -> None:
    """One campaign for the variant: find what an earlier run made before making another."""
    record = _begin(plan, v, ledger)
    record = _generation_name(ledger, v, record)
    interrupted = record.status in ("sending", "failed") or record.remote_id is not None
    if interrupted and plan.provider.features.find_by_name:
        name = record.campaign_name or v.campaign_name
        found = plan.provider.find_campaign(name)  # type: ignore[attr-defined]
        if found is not None and found.status in ("sent", "scheduled"):
            ledger.set_status(record.id, found.status, remote_id=found.remote_id)
            result.action, result.remote_id = found.status, found.remote_id
            result.message = f"{found.status} by an earlier run (campaign {found.remote_id})"
            return
        if found is not None:
            ledger.set_remote_id(record.id, found.remote_id)
            record = ledger.get(record.id)
    ledger.set_status(record.id, "sending")
    delivery = _call_provider(plan, ledger, record, _campaign(plan, v, record, send_at=None))
    ledger.set_status(record.id, delivery.status, remote_id=delivery.remote_id)
    result.action, result.remote_id = delivery.status, delivery.remote_id
    count = f" to {delivery.recipients} subscribers" if delivery.recipients is not None else ""
    result.message = f"{delivery.status}{count} (campaign {delivery.remote_id or '?'})"


def _message_id(plan: Plan, variant: str, recipient: str | None, generation: int) -> str:
    from postcli import mime

    label = variant if generation <= 1 else f"{variant}-r{generation}"
    return mime.message_id(plan.issue.id, label, recipient, sender_domain(plan.settings))


def _to_header(name: str, email: str) -> str:
    clean = " ".join(
        name.replace('"', "").replace("\\", "").replace("<", "").replace(">", "").split()
    )
    return f'"{clean}" <{email}>' if clean else email


def _deliver_recipients(
    plan: Plan,
    v: VariantPlan,
    ledger: Ledger,
    transport: Any,
    result: VariantReport,
    progress: Progress | None,
    now: Callable[[], datetime],
) -> None:
    """The per-recipient loop of `file` and `smtp`, with the ledger steps around each delivery."""
    from postcli import mime

    settings = plan.settings
    newsletter = settings.newsletter
    template = newsletter.unsubscribe_url
    record = _begin(plan, v, ledger)
    ledger.set_status(record.id, "sending")
    generation = record.generation

    # The per-variant copy (the file outbox keeps one; smtp does nothing).
    copy = mime.build_message(
        v.email,
        sender=newsletter.from_,
        to=newsletter.from_,
        reply_to=newsletter.reply_to,
        unsubscribe_url=template,
        message_id=_message_id(plan, v.variant, None, generation),
        date=now(),
    )
    plan.provider.variant_copy(plan.issue.id, v.variant, copy)  # type: ignore[attr-defined]

    # Addresses compare without case, as the subscribers file does: a list exported again with
    # other capitals between a crash and its resume must not send anyone a second copy.
    known = {email.casefold() for email in ledger.recipients(record.id)}
    ledger.add_recipients(
        record.id,
        [(s.email, s.tier.value) for s in v.recipients if s.email.casefold() not in known],
    )
    states = {email.casefold(): state for email, state in ledger.recipients(record.id).items()}
    total = result.total = len(v.recipients)
    done = 0
    if progress:
        progress(v.variant, 0, total)
    try:
        for subscriber in v.recipients:
            state = states.get(subscriber.email.casefold())
            if state is not None and state.status == "sent":
                result.skipped += 1
            else:
                row = state.email if state is not None else subscriber.email
                _deliver_one(
                    plan, v, ledger, transport, record.id, generation, subscriber, result, now, row
                )
            done += 1
            if progress:
                progress(v.variant, done, total)
    except PostcliError as error:
        ledger.set_status(record.id, "failed", error=redact(str(error)))
        raise
    if result.failed:
        plural = "s" if result.failed > 1 else ""
        error_text = f"{result.failed} recipient{plural} failed; run again to retry"
        ledger.set_status(record.id, "failed", error=error_text)
        result.action, result.message = "failed", error_text
    else:
        ledger.set_status(record.id, "sent")
        result.action = "sent"
        result.message = f"sent to {result.sent + result.skipped} of {total}"
    if not total:
        if plan.provider_name == "file":
            result.message = f"written to {settings.outbox_dir / plan.issue.id}"
        else:
            result.message = "no subscriber gets this variant"


_counters = {"accepted": 0, "committed": 0}


def _kill_at(variable: str, count: int) -> None:
    limit = os.environ.get(variable)
    if limit and limit.isdigit() and count == int(limit):
        os.kill(os.getpid(), signal.SIGKILL)


def _deliver_one(
    plan: Plan,
    v: VariantPlan,
    ledger: Ledger,
    transport: Any,
    send_id: int,
    generation: int,
    subscriber: Any,
    result: VariantReport,
    now: Callable[[], datetime],
    row: str | None = None,
) -> None:
    """One recipient, with its ledger steps; `row` is the address as the ledger has it (an
    earlier run may have written it with other capitals)."""
    from postcli import mime

    newsletter = plan.settings.newsletter
    template = newsletter.unsubscribe_url
    email = subscriber.email
    row = row or email
    mid = _message_id(plan, v.variant, email, generation)
    message = mime.build_message(
        mime.personalize(v.email, template, email),
        sender=newsletter.from_,
        to=_to_header(subscriber.name, email),
        reply_to=newsletter.reply_to,
        unsubscribe_url=mime.unsubscribe_link(template, email),
        message_id=mid,
        date=now(),
    )
    in_flight = ledger.mark_sending(send_id, row, mid)
    try:
        # Truthy when the transport itself had to resend after a reply was lost (smtp).
        maybe_twice = bool(
            transport.deliver(
                message, sender=mime.envelope_address(newsletter.from_), recipient=email
            )
        )
    except RecipientRefused as refused:
        why = redact(str(refused.message))
        ledger.mark_recipient(send_id, row, "failed", error=why)
        result.failed += 1
        result.failures.append((email, why))
        log.debug("refused: %s: %s", email, why)
        return
    except PostcliError as error:
        # Nothing more can go now: the server is gone, defers, or refuses us all. A message the
        # server deferred failed; one that never got as far as the server is still pending.
        why = redact(str(error.message))
        if getattr(error, "maybe_delivered", False):
            pass  # stays 'sending': the next run resends it and reports it possibly twice
        elif getattr(error, "recipient", None) == email:
            ledger.mark_recipient(send_id, row, "failed", error=why)
            result.failed += 1
            result.failures.append((email, why))
        else:
            ledger.mark_recipient(send_id, row, "pending", error=why)
        raise
    _counters["accepted"] += 1
    _kill_at(KILL_BEFORE_COMMIT, _counters["accepted"])
    ledger.mark_recipient(send_id, row, "sent", possibly_duplicate=maybe_twice)
    _counters["committed"] += 1
    _kill_at(KILL_AFTER_SENT, _counters["committed"])
    result.sent += 1
    if in_flight or maybe_twice:
        result.possibly_duplicated.append(email)
    log.debug("sent %s to %s (%s)", v.variant, email, mid)


def _send_test(
    plan: Plan, v: VariantPlan, ledger: Ledger, now: Callable[[], datetime]
) -> VariantReport:
    """A test copy to one address: '[TEST]' subject, a Message-ID of its own, mode 'test' in the
    ledger, never counted as a send."""
    from postcli import mime

    address = plan.options.test or ""
    newsletter = plan.settings.newsletter
    record = ledger.begin(
        plan.issue.id,
        v.variant,
        plan.provider_name,
        content_hash=v.content_hash,
        campaign_name=v.campaign_name,
        subject=f"[TEST] {v.email.subject}",
        mode="test",
        target=address,
    )
    result = VariantReport(v.variant, "test", total=1)
    try:
        if plan.per_recipient:
            stamp = now().strftime("%Y%m%d%H%M%S%f")
            template = newsletter.unsubscribe_url
            message = mime.build_message(
                mime.personalize(v.email, template, address),
                sender=newsletter.from_,
                to=address,
                reply_to=newsletter.reply_to,
                unsubscribe_url=mime.unsubscribe_link(template, address),
                message_id=mime.message_id(
                    plan.issue.id, f"{v.variant}.test{stamp}", address, sender_domain(plan.settings)
                ),
                date=now(),
                subject_prefix="[TEST]",
            )
            with plan.provider.open_transport(plan.issue.id, test_variant=v.variant) as transport:  # type: ignore[attr-defined]
                transport.deliver(
                    message, sender=mime.envelope_address(newsletter.from_), recipient=address
                )
        else:
            email = dataclasses.replace(v.email, subject=f"[TEST] {v.email.subject}")
            campaign = dataclasses.replace(_campaign(plan, v, record, send_at=None), email=email)
            delivery = plan.provider.send_test(campaign, address)  # type: ignore[attr-defined]
            result.remote_id = delivery.remote_id
    except PostcliError as error:
        ledger.set_status(record.id, "failed", error=redact(str(error)))
        raise
    ledger.set_status(record.id, "sent", remote_id=result.remote_id)
    result.sent = 1
    result.message = f"test copy sent to {address}"
    return result
