"""The per-recipient loop of `file`, `smtp` and the bulk senders, with the ledger steps around
each delivery.

A recipient is marked 'sending' (committed) right before its delivery and 'sent' (committed)
right after the server's acceptance. A recipient a killed run left in 'sending' is sent again
with the same deterministic Message-ID and reported as possibly delivered twice. Addresses
compare without case, as the subscribers file does.

The subscribers are read back from their list (on disk) and looked up in the ledger a chunk at
a time, so memory stays the same whatever the list's length. Over several SMTP connections the
loop is `send/parallel.py`'s; a bulk sender's batch calls are `send/batches.py`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime

from postcli.config import redact
from postcli.errors import PostcliError, RecipientRefused
from postcli.ledger import Ledger, RecipientRecord, SendRecord
from postcli.model import Outcome, RecipientStatus, SendStatus, Variant
from postcli.providers._batch import is_batch_transport
from postcli.providers.base import (
    RecipientProvider,
    Transport,
    is_parallel,
)
from postcli.send.messages import message_id, personal_message
from postcli.send.outcomes import Outcomes
from postcli.send.parallel import ParallelLoop
from postcli.send.plan import Plan, VariantPlan
from postcli.send.report import Progress, VariantReport
from postcli.subscribers import Subscriber, chunked

log = logging.getLogger("postcli.send")


def _with_states(
    ledger: Ledger,
    send_id: int,
    recipients: Iterable[Subscriber],
    states: dict[str, RecipientRecord],
) -> Iterator[Subscriber]:
    """`recipients`, with `states` holding the ledger's rows of the current chunk (by address
    lower-cased) whenever one of them is yielded."""
    for chunk in chunked(recipients):
        states.clear()
        states.update(ledger.recipient_states(send_id, [s.email for s in chunk]))
        yield from chunk
    states.clear()


def deliver_recipients(
    plan: Plan,
    provider: RecipientProvider,
    v: VariantPlan,
    ledger: Ledger,
    transport: Transport,
    result: VariantReport,
    progress: Progress | None,
    now: Callable[[], datetime],
    record: SendRecord,
) -> None:
    """Every recipient of one variant, under the ledger's `record` of the send."""
    from postcli import mime

    settings = plan.settings
    newsletter = settings.newsletter
    template = newsletter.unsubscribe_url
    record = ledger.set_status(record.id, SendStatus.SENDING)
    generation = record.generation
    assert isinstance(v.variant, Variant), "a per-recipient provider gets one variant at a time"

    # The per-variant copy (the file outbox keeps one; smtp does nothing).
    copy = mime.build_message(
        v.email,
        sender=newsletter.from_,
        to=newsletter.from_,
        reply_to=newsletter.reply_to,
        unsubscribe_url=template,
        message_id=message_id(plan, v.variant, None, generation),
        date=now(),
    )
    provider.variant_copy(plan.issue.id, v.variant, copy)

    # Addresses compare without case, as the subscribers file does: a list exported again with
    # other capitals between a crash and its resume must not send anyone a second copy. Every
    # row is in the ledger before the first delivery, so `status` knows the total.
    # A send's first run adds them as they are: the list itself has no address twice.
    fresh = ledger.counts(record.id).total == 0
    add = ledger.add_recipients if fresh else ledger.add_new_recipients
    for chunk in chunked(v.recipients):
        add(record.id, [(s.email, s.tier.value) for s in chunk])
    states: dict[str, RecipientRecord] = {}  # the ledger's rows of the chunk being sent
    recipients = _with_states(ledger, record.id, v.recipients, states)
    total = result.total = len(v.recipients)
    done = 0
    if progress:
        progress(v.variant, 0, total)
    try:
        if is_batch_transport(transport):  # a bulk sender's batch calls
            from postcli.send.batches import deliver_batches

            variant = v.variant
            deliver_batches(
                transport=transport,
                ledger=ledger,
                send_id=record.id,
                recipients=recipients,
                states=states,
                email=v.email,
                variant=variant,
                sender=newsletter.from_,
                reply_to=newsletter.reply_to,
                unsubscribe_template=template,
                message_id=lambda email: message_id(plan, variant, email, generation),
                result=result,
                progress=progress,
                now=now,
            )
        elif is_parallel(transport):
            ParallelLoop(plan, v, ledger, transport, record, result, progress, now, states).run(
                recipients
            )
        else:
            outcomes = Outcomes(ledger, record.id, result, v.variant)
            for subscriber in recipients:
                state = states.get(subscriber.email.lower())
                if state is not None and state.status is RecipientStatus.SENT:
                    result.skipped += 1
                else:
                    row = state.email if state is not None else subscriber.email
                    _deliver_one(plan, v, transport, outcomes, generation, subscriber, now, row)
                done += 1
                if progress:
                    progress(v.variant, done, total)
    except PostcliError as error:
        ledger.set_status(record.id, SendStatus.FAILED, error=redact(str(error)))
        raise
    if result.failed:
        plural = "s" if result.failed > 1 else ""
        error_text = f"{result.failed} recipient{plural} failed; run again to retry"
        ledger.set_status(record.id, SendStatus.FAILED, error=error_text)
        result.action, result.message = Outcome.FAILED, error_text
    else:
        ledger.set_status(record.id, SendStatus.SENT)
        result.action = Outcome.SENT
        result.message = f"sent to {result.sent + result.skipped} of {total}"
    if not total:
        if plan.provider_name == "file":
            result.message = f"written to {settings.outbox_dir / plan.issue.id}"
        else:
            result.message = "no subscriber gets this variant"


def _deliver_one(
    plan: Plan,
    v: VariantPlan,
    transport: Transport,
    outcomes: Outcomes,
    generation: int,
    subscriber: Subscriber,
    now: Callable[[], datetime],
    row: str,
) -> None:
    """One recipient, with its ledger steps; `row` is the address as the ledger has it."""
    from postcli import mime

    email = subscriber.email
    mid = message_id(plan, v.variant, email, generation)
    message = personal_message(plan, v, subscriber, mid, now)
    in_flight = outcomes.ledger.mark_sending(outcomes.send_id, row, mid)
    sender = mime.envelope_address(plan.settings.newsletter.from_)
    try:
        accepted = transport.deliver(message, sender=sender, recipient=email)
    except RecipientRefused as refused:
        outcomes.refused(row, email, refused)
        return
    except PostcliError as error:
        outcomes.stopped(row, email, error)
        raise
    outcomes.sent(row, email, mid, accepted, in_flight=in_flight)
