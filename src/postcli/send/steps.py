"""The steps of one variant's send, each recorded in the ledger before and after the remote call
it makes: `begin` (the ledger's record, made or taken up), `schedule`, `move` (a scheduled
campaign follows the file) and `deliver_campaign`; `execute` runs them in order under the
issue's lock.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from postcli.config import redact
from postcli.errors import PostcliError, ProviderRefused
from postcli.ledger import Ledger, SendRecord
from postcli.model import Outcome, RemoteStatus, SendStatus
from postcli.providers.base import (
    Campaign,
    CampaignProvider,
    Delivery,
    RemoteCampaign,
    is_campaign_provider,
    is_movable,
)
from postcli.send import _faults
from postcli.send.plan import Plan, VariantPlan, schedules_natively, show_time
from postcli.send.report import VariantReport


def begin(plan: Plan, v: VariantPlan, ledger: Ledger) -> SendRecord:
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


def outcome(delivery: Delivery) -> Outcome:
    return Outcome.SCHEDULED if delivery.status is SendStatus.SCHEDULED else Outcome.SENT


def schedule(plan: Plan, v: VariantPlan, ledger: Ledger, result: VariantReport) -> None:
    when = v.at or plan.when  # a schedule that follows the file takes the file's time
    assert when is not None
    record = begin(plan, v, ledger)
    when_text = show_time(when, plan.settings)
    provider = plan.provider
    if schedules_natively(provider) and is_campaign_provider(provider):
        record = generation_name(ledger, v, record)
        campaign = campaign_of(plan, v, record, send_at=when)
        ledger.set_status(record.id, SendStatus.SENDING, scheduled_for=when)
        delivery = call_provider(provider, ledger, record, campaign)
        taken = delivery.scheduled_for or when  # Mailchimp rounds up to a quarter hour
        ledger.set_status(
            record.id, delivery.status, remote_id=delivery.remote_id, scheduled_for=taken
        )
        when_text = show_time(taken, plan.settings)
        result.action, result.remote_id = outcome(delivery), delivery.remote_id
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


def move(plan: Plan, v: VariantPlan, ledger: Ledger, result: VariantReport) -> None:
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
    record = begin(plan, v, ledger)  # takes the new content hash and name
    old = record.remote_id
    record = ledger.set_status(record.id, SendStatus.SENDING, scheduled_for=when)
    _faults.step("move-begun")
    campaign = campaign_of(plan, v, record, send_at=when)
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
        delivery = call_provider(provider, ledger, record, fresh)
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


def generation_name(ledger: Ledger, v: VariantPlan, record: SendRecord) -> SendRecord:
    """A --force re-send is a new campaign: its stable name gets the generation, `-r2`..."""
    if record.generation <= 1:
        return record
    name = f"{v.campaign_name}-r{record.generation}"
    if record.campaign_name != name:
        ledger.rename(record.id, name)
        record = ledger.get(record.id)
    return record


def campaign_of(
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


def call_provider(
    provider: CampaignProvider, ledger: Ledger, record: SendRecord, campaign: Campaign
) -> Delivery:
    try:
        return provider.send_campaign(
            campaign, lambda remote_id: ledger.set_remote_id(record.id, remote_id)
        )
    except PostcliError as error:
        ledger.set_status(record.id, SendStatus.FAILED, error=redact(str(error)))
        raise


def deliver_campaign(
    plan: Plan,
    provider: CampaignProvider,
    v: VariantPlan,
    ledger: Ledger,
    result: VariantReport,
) -> None:
    """One campaign for the variant: find what an earlier run made before making another."""
    record = begin(plan, v, ledger)
    record = generation_name(ledger, v, record)
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
    delivery = call_provider(provider, ledger, record, campaign_of(plan, v, record, send_at=None))
    ledger.set_status(record.id, delivery.status, remote_id=delivery.remote_id)
    result.action, result.remote_id = outcome(delivery), delivery.remote_id
    count = f" to {delivery.recipients} subscribers" if delivery.recipients is not None else ""
    result.message = f"{delivery.status}{count} (campaign {delivery.remote_id or '?'})"
