"""Carrying a send plan out: the issue's lock, the ledger read again, then each variant through
the provider, every step recorded in the ledger before and after each remote call.

`send_one` is the seam for `send --due`: it sends one (issue, variant) whose time has come,
given what the ledger says about it. Campaign providers get one campaign per variant (or one
self-gated post); per-recipient providers go through `postcli.send.recipients`.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable
from datetime import datetime

from postcli.config import Settings, redact
from postcli.errors import PostcliError, SendInProgress
from postcli.ledger import Ledger, issue_lock
from postcli.model import Edition, Mode, Outcome, PlanAction, SendStatus, Variant
from postcli.providers.base import (
    Transport,
    is_campaign_provider,
    is_recipient_provider,
)
from postcli.send import steps
from postcli.send.decide import decide
from postcli.send.plan import (
    Plan,
    SendOptions,
    VariantPlan,
    file_times,
    plan_send,
    schedules_natively,
    sender_domain,
    taken_time,
)
from postcli.send.recipients import deliver_recipients
from postcli.send.report import Progress, SendReport, VariantReport
from postcli.times import utc_now


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
        plan.provider.close()  # an HTTP provider's client


def _already(v: VariantPlan) -> VariantReport:
    return VariantReport(v.variant, Outcome.ALREADY, message=v.reason + "; nothing to do")


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
            action, message = Outcome.DRY_RUN, "dry run: nothing sent"
            if not v.active:
                action, message = Outcome.ALREADY, v.reason + "; nothing to do"
            report.variants.append(VariantReport(v.variant, action, v.pending, message=message))
        return report
    if options.test:
        with Ledger.open(plan.settings.state_dir, clock=now) as ledger:
            for v in plan.variants:
                report.variants.append(_send_test(plan, v, ledger, now))
        return report
    if plan.nothing_to_do:
        report.variants = [_already(v) for v in plan.variants]
        return report

    with (
        issue_lock(plan.settings.state_dir, plan.issue.id, wait=lock_wait),
        Ledger.open(plan.settings.state_dir, clock=now) as ledger,
        contextlib.ExitStack() as stack,
    ):
        _decide_again(plan, ledger, now())
        provider = plan.provider
        transport: Transport | None = None
        delivering = (PlanAction.SEND, PlanAction.RESUME)
        if is_recipient_provider(provider) and any(v.action in delivering for v in plan.variants):
            # Entered on the stack, so an interruption reaches the transport (no SMTP QUIT then).
            transport = stack.enter_context(provider.open_transport(plan.issue.id))
        for v in plan.variants:
            if not v.active:
                report.variants.append(_already(v))
                continue
            result = VariantReport(v.variant, Outcome.FAILED)
            report.variants.append(result)
            try:
                if not options.due:  # `postcli send ISSUE` lifts a `postcli unschedule` hold
                    ledger.release(plan.issue.id, v.variant, plan.provider_name)
                if v.action is PlanAction.MOVE:
                    steps.move(plan, v, ledger, result)
                elif v.action is PlanAction.SCHEDULE:
                    steps.schedule(plan, v, ledger, result)
                elif is_recipient_provider(provider):
                    assert transport is not None
                    record = steps.begin(plan, v, ledger)
                    deliver_recipients(
                        plan, provider, v, ledger, transport, result, progress, now, record
                    )
                elif is_campaign_provider(provider):
                    steps.deliver_campaign(plan, provider, v, ledger, result)
            except PostcliError as error:
                result.action = Outcome.FAILED
                result.message = redact(str(error.message))
                report.error = error
                break
    return report


def _decide_again(plan: Plan, ledger: Ledger, now: datetime) -> None:
    """Another process may have finished (or begun) while this one planned: decide again."""
    options = plan.options
    tz = plan.settings.newsletter.tz
    holds = ledger.holds()
    file_at, file_when = file_times(plan.issue, plan.settings, plan.provider, now)
    for v in plan.variants:
        planned = v.previous
        previous = ledger.current(plan.issue.id, v.variant, plan.provider_name)
        held = (plan.issue.id, str(v.variant), plan.provider_name) in holds
        decide(
            v,
            previous,
            options,
            taken_time(plan.provider, plan.when),
            tz,
            now=now,
            native=schedules_natively(plan.provider),
            held=held,
            file_at=file_at,
            file_when=file_when,
        )
        if options.due and held:
            v.action = PlanAction.ALREADY  # unscheduled meanwhile: cron leaves it alone
            v.reason = "held by 'postcli unschedule'"
        if options.force and previous is not None and previous.done:
            seen_done = (
                planned is not None
                and planned.id == previous.id
                and planned.status == previous.status
            )
            if not seen_done:
                # --force re-sends what the user saw sent when confirming; this was finished
                # by another run since, and sending it again would reach everyone twice.
                v.action = PlanAction.ALREADY
                v.reason = f"{previous.status} by another postcli run meanwhile"


def send_one(
    settings: Settings,
    issue_arg: str,
    variant: Edition,
    *,
    progress: Progress | None = None,
    lock_wait: float = 0.5,  # a `postcli status` glancing at the lock holds it for an instant
    client: object = None,
    now: Callable[[], datetime] = utc_now,
    skip_if_busy: bool = True,
) -> SendReport:
    """Send one (issue, variant) now, from whatever state the ledger holds: the seam for
    `send --due`. A send scheduled in the ledger is sent; one sent already, or scheduled on the
    provider itself, is left alone; an interrupted one is finished.

    When another process holds the issue (after `lock_wait` seconds), the report says BUSY
    and nothing happens, as overlapping cron runs need; with `skip_if_busy=False` that raises
    SendInProgress instead."""
    # Audience.ALL: a self-gated provider's one post, which plan_send makes without --variant.
    chosen = variant if isinstance(variant, Variant) else None
    options = SendOptions(variant=chosen, now=True, due=True)
    plan = plan_send(settings, issue_arg, options, now=now(), client=client)
    try:
        return execute(plan, progress=progress, lock_wait=lock_wait, now=now)
    except SendInProgress as busy:
        if not skip_if_busy:
            raise
        message = f"{busy.message}; skipped"
        return SendReport(plan, [VariantReport(variant, Outcome.BUSY, message=message)])


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
        mode=Mode.TEST,
        target=address,
    )
    result = VariantReport(v.variant, Outcome.TEST, total=1)
    provider = plan.provider
    try:
        if is_recipient_provider(provider):
            assert isinstance(v.variant, Variant)
            stamp = now().strftime("%Y%m%d%H%M%S%f")
            template = newsletter.unsubscribe_url
            label = f"{v.variant.value}.test{stamp}"
            message = mime.build_message(
                mime.personalize(v.email, template, address),
                sender=newsletter.from_,
                to=address,
                reply_to=newsletter.reply_to,
                unsubscribe_url=mime.unsubscribe_link(template, address),
                message_id=mime.message_id(
                    plan.issue.id, label, address, sender_domain(plan.settings)
                ),
                date=now(),
                subject_prefix="[TEST]",
            )
            with provider.open_transport(plan.issue.id, test_variant=v.variant) as transport:
                transport.deliver(
                    message, sender=mime.envelope_address(newsletter.from_), recipient=address
                )
        elif is_campaign_provider(provider):
            email = dataclasses.replace(v.email, subject=f"[TEST] {v.email.subject}")
            campaign = dataclasses.replace(
                steps.campaign_of(plan, v, record, send_at=None), email=email
            )
            delivery = provider.send_test(campaign, address)
            result.remote_id = delivery.remote_id
    except PostcliError as error:
        ledger.set_status(record.id, SendStatus.FAILED, error=redact(str(error)))
        raise
    ledger.set_status(record.id, SendStatus.SENT, remote_id=result.remote_id)
    result.sent = 1
    result.message = f"test copy sent to {address}"
    return result
