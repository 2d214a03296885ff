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
from postcli.errors import PostcliError, ProviderRefused, SendInProgress
from postcli.ledger import Ledger, SendRecord, issue_lock
from postcli.model import Edition, Mode, Outcome, PlanAction, RemoteStatus, SendStatus, Variant
from postcli.providers.base import (
    Campaign,
    CampaignProvider,
    Delivery,
    RemoteCampaign,
    Transport,
    is_campaign_provider,
    is_movable,
    is_recipient_provider,
)
from postcli.send import _faults
from postcli.send.decide import decide
from postcli.send.plan import (
    Plan,
    SendOptions,
    VariantPlan,
    file_times,
    plan_send,
    schedules_natively,
    sender_domain,
    show_time,
    taken_time,
)
from postcli.send.recipients import Progress, deliver_recipients
from postcli.send.report import SendReport, VariantReport
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
                    _move(plan, v, ledger, result)
                elif v.action is PlanAction.SCHEDULE:
                    _schedule(plan, v, ledger, result)
                elif is_recipient_provider(provider):
                    assert transport is not None
                    record = _begin(plan, v, ledger)
                    deliver_recipients(
                        plan, provider, v, ledger, transport, result, progress, now, record
                    )
                elif is_campaign_provider(provider):
                    _deliver_campaign(plan, provider, v, ledger, result)
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


def _outcome(delivery: Delivery) -> Outcome:
    return Outcome.SCHEDULED if delivery.status is SendStatus.SCHEDULED else Outcome.SENT


def _schedule(plan: Plan, v: VariantPlan, ledger: Ledger, result: VariantReport) -> None:
    when = v.at or plan.when  # a schedule that follows the file takes the file's time
    assert when is not None
    record = _begin(plan, v, ledger)
    when_text = show_time(when, plan.settings)
    provider = plan.provider
    if schedules_natively(provider) and is_campaign_provider(provider):
        record = _generation_name(ledger, v, record)
        campaign = _campaign(plan, v, record, send_at=when)
        ledger.set_status(record.id, SendStatus.SENDING, scheduled_for=when)
        delivery = _call_provider(provider, ledger, record, campaign)
        taken = delivery.scheduled_for or when  # Mailchimp rounds up to a quarter hour
        ledger.set_status(
            record.id, delivery.status, remote_id=delivery.remote_id, scheduled_for=taken
        )
        when_text = show_time(taken, plan.settings)
        result.action, result.remote_id = _outcome(delivery), delivery.remote_id
        result.message = (
            f"scheduled on the provider for {when_text}"
            if delivery.status is SendStatus.SCHEDULED
            else f"{delivery.status} (campaign {delivery.remote_id or '?'})"
        )
    else:
        ledger.set_status(record.id, SendStatus.SCHEDULED, scheduled_for=when)
        result.action = Outcome.SCHEDULED
        result.message = f"scheduled for {when_text}; 'postcli send --due' (cron) sends it then"
        if v.reason:  # "moved from X to Y"
            result.message = f"{v.reason}; {result.message}"


def _move(plan: Plan, v: VariantPlan, ledger: Ledger, result: VariantReport) -> None:
    """A campaign the provider holds follows the file: updated in place where the API allows,
    else cancelled and replaced. The ledger records each step before the remote call it
    prepares, so a kill anywhere leaves one live campaign or a rerun that makes it one: the
    old one is cancelled (and forgotten) before a new one is made."""
    when = v.at or plan.when  # the file's time (or the old one, when only the text changed)
    assert when is not None
    provider = plan.provider
    if not is_movable(provider):
        raise ProviderRefused(
            f"{plan.provider_name} cannot change or cancel a scheduled campaign; the one it "
            "holds would send the old version",
            hint="cancel or delete it on the provider, then run this again with --force",
        )
    record = _begin(plan, v, ledger)  # takes the new content hash and name
    old = record.remote_id
    record = ledger.set_status(record.id, SendStatus.SENDING, scheduled_for=when)
    _faults.step("move-begun")
    campaign = _campaign(plan, v, record, send_at=when)
    try:
        delivery = provider.update_campaign(campaign) if old else None
        _faults.step("move-updated")
        if delivery is None and old:
            provider.cancel_campaign(old)
            _faults.step("move-cancelled")
            ledger.forget_remote(record.id)
            record = ledger.get(record.id)
            _faults.step("move-forgotten")
    except PostcliError as error:
        _move_failed(plan, v, ledger, record, old, error)
        raise
    if delivery is None:
        fresh = dataclasses.replace(campaign, remote_id=None)
        delivery = _call_provider(provider, ledger, record, fresh)
        _faults.step("move-created")
    taken = delivery.scheduled_for or when
    ledger.set_status(record.id, delivery.status, remote_id=delivery.remote_id, scheduled_for=taken)
    result.action, result.remote_id = Outcome.MOVED, delivery.remote_id
    how = "updated in place" if delivery.remote_id == old else f"replaces campaign {old}"
    if not old:
        how = "made anew"
    result.message = (
        f"{v.reason}; scheduled on the provider for {show_time(taken, plan.settings)} "
        f"(campaign {delivery.remote_id}, {how})"
    )


def _move_failed(
    plan: Plan,
    v: VariantPlan,
    ledger: Ledger,
    record: SendRecord,
    old: str | None,
    error: PostcliError,
) -> None:
    """The provider refused the change of a scheduled campaign, or was unavailable (429, 5xx,
    a timeout, after retries): the ledger records what the provider holds, never a half state,
    and the message says so. The provider is asked: a campaign left a draft (Mailchimp and
    SendGrid unschedule before they update) or gone is recorded failed (nothing goes out); one
    still scheduled, or not known, is recorded as it was scheduled (its earlier text, at its
    earlier time). `postcli status` then shows it scheduled, `send --due` reports it
    changed, and `postcli send ISSUE` tries the move again (an update that did take effect
    after all is made again, to the same end). A move that was already the rerun of an
    interrupted one stays failed: what the provider holds then is not known."""
    before = v.previous
    restorable = (
        old is not None
        and before is not None
        and before.status is SendStatus.SCHEDULED
        and before.remote_id == old
    )
    provider = plan.provider
    if restorable and old is not None and is_movable(provider):
        try:
            found = provider.fetch(old)
        except PostcliError:
            found = RemoteCampaign(old, RemoteStatus.SCHEDULED)  # not known: as before
        if found is None or found.status is not RemoteStatus.SCHEDULED:
            # Left a draft (Mailchimp and SendGrid unschedule before they update), or gone:
            # nothing goes out now, and the ledger must not say it will.
            ledger.set_status(record.id, SendStatus.FAILED, error=redact(str(error)))
            left = "as a draft" if found is not None else "no longer"
            error.message = (
                f"{error.message}; {plan.provider_name} holds campaign {old} {left}, so it "
                "does not go out"
            )
            error.hint = f"run 'postcli send {plan.issue.id}' again to schedule it" + (
                f" ({error.hint})" if error.hint else ""
            )
            return
    if not restorable or before is None:
        ledger.set_status(record.id, SendStatus.FAILED, error=redact(str(error)))
        return
    ledger.begin(
        plan.issue.id,
        v.variant,
        plan.provider_name,
        content_hash=before.content_hash,
        campaign_name=before.campaign_name,
        subject=before.subject,
    )
    ledger.set_status(
        record.id,
        SendStatus.SCHEDULED,
        remote_id=old,
        scheduled_for=before.scheduled_for,
        error=redact(str(error)),
    )
    held = (
        f"campaign {old} scheduled for {show_time(before.scheduled_for, plan.settings)} with "
        "the earlier text"
    )
    if isinstance(error, ProviderRefused):
        error.message = f"{error.message}; nothing moved: {plan.provider_name} still has {held}"
    else:  # the answer may have been lost after the change took effect: not known either way
        error.message = (
            f"{error.message}; the change was not confirmed, so the ledger keeps what "
            f"{plan.provider_name} is known to have: {held}"
        )
    error.hint = f"run 'postcli send {plan.issue.id}' again to move it" + (
        f" ({error.hint})" if error.hint else ""
    )


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
        post=v.post,
    )


def _call_provider(
    provider: CampaignProvider, ledger: Ledger, record: SendRecord, campaign: Campaign
) -> Delivery:
    try:
        return provider.send_campaign(
            campaign, lambda remote_id: ledger.set_remote_id(record.id, remote_id)
        )
    except PostcliError as error:
        ledger.set_status(record.id, SendStatus.FAILED, error=redact(str(error)))
        raise


def _deliver_campaign(
    plan: Plan,
    provider: CampaignProvider,
    v: VariantPlan,
    ledger: Ledger,
    result: VariantReport,
) -> None:
    """One campaign for the variant: find what an earlier run made before making another."""
    record = _begin(plan, v, ledger)
    record = _generation_name(ledger, v, record)
    failed = record.status in (SendStatus.SENDING, SendStatus.FAILED)
    interrupted = failed or record.remote_id is not None
    if interrupted and provider.features.find_by_name:
        found = provider.find_campaign(record.campaign_name or v.campaign_name)
        if found is not None and found.status.value in (SendStatus.SENT, SendStatus.SCHEDULED):
            status = SendStatus(found.status.value)
            ledger.set_status(record.id, status, remote_id=found.remote_id)
            result.action = Outcome(found.status.value)
            result.remote_id = found.remote_id
            result.message = f"{found.status} by an earlier run (campaign {found.remote_id})"
            return
        if found is not None:
            ledger.set_remote_id(record.id, found.remote_id)
            record = ledger.get(record.id)
    ledger.set_status(record.id, SendStatus.SENDING)
    delivery = _call_provider(provider, ledger, record, _campaign(plan, v, record, send_at=None))
    ledger.set_status(record.id, delivery.status, remote_id=delivery.remote_id)
    result.action, result.remote_id = _outcome(delivery), delivery.remote_id
    count = f" to {delivery.recipients} subscribers" if delivery.recipients is not None else ""
    result.message = f"{delivery.status}{count} (campaign {delivery.remote_id or '?'})"


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
            campaign = dataclasses.replace(_campaign(plan, v, record, send_at=None), email=email)
            delivery = provider.send_test(campaign, address)
            result.remote_id = delivery.remote_id
    except PostcliError as error:
        ledger.set_status(record.id, SendStatus.FAILED, error=redact(str(error)))
        raise
    ledger.set_status(record.id, SendStatus.SENT, remote_id=result.remote_id)
    result.sent = 1
    result.message = f"test copy sent to {address}"
    return result
