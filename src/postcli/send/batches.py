"""The per-recipient loop in batches, for the bulk senders whose API takes many recipients a call
(Postmark 500, Mailgun 1,000): the same ledger rules as the one-at-a-time loop of `smtp`.

For each batch, in this order:

1. every recipient of it is marked 'sending', in one commit, with its deterministic Message-ID;
2. one call carries them all (`BatchTransport.deliver_batch`);
3. every recipient's answer is committed at once: 'sent', or 'failed' with the provider's reason
   (the rest of the list goes on; the run then exits 3), while the ones it throttled inside a
   successful reply are sent again in a later call, after a pause, never dropped.

A kill between 1 and 3, or an answer that was lost (`maybe_delivered`), leaves the batch
'sending': the next run sends those recipients again, with the same Message-IDs, and reports
them as possibly delivered twice. An error before the provider could have acted puts them back
to 'pending'. Recipients the ledger has as 'sent' are skipped; the subscribers are read once and
handed over a batch at a time. This module only drives the ledger through its methods.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from postcli.config import redact
from postcli.errors import PostcliError, ReplyError
from postcli.model import RecipientStatus
from postcli.providers._batch import Batch, BatchResult, BatchStopped, BulkUnavailable, Letter
from postcli.send import _faults

if TYPE_CHECKING:
    from postcli.ledger import Ledger, RecipientRecord
    from postcli.providers._batch import BatchTransport
    from postcli.render import RenderedEmail

log = logging.getLogger("postcli.send")

# Rounds of resending recipients a provider throttled inside a successful reply.
THROTTLED_ROUNDS = 8


def deliver_batches(
    *,
    transport: BatchTransport,
    ledger: Ledger,
    send_id: int,
    recipients: Iterable[Any],  # Subscribers getting this variant
    states: dict[str, RecipientRecord],  # the ledger's rows, by casefolded address
    email: RenderedEmail,
    variant: str,
    sender: str,
    reply_to: str | None,
    unsubscribe_template: str | None,
    message_id: Callable[[str], str],
    result: Any,  # send.VariantReport
    progress: Callable[[str, int, int], None] | None,
    now: Callable[[], datetime],
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    from postcli import mime

    size = max(1, transport.batch_size)
    capacity = getattr(transport, "capacity", None)
    if callable(capacity):
        size = max(1, min(size, int(capacity(email))))
    total = result.total
    done = 0
    queue: list[tuple[Letter, str]] = []  # (letter, the address as the ledger has it)

    def flush() -> None:
        nonlocal done
        if queue:
            _one_batch(
                transport,
                ledger,
                send_id,
                list(queue),
                Batch(email, [], sender, reply_to, unsubscribe_template, now(), variant),
                result,
                sleep,
            )
            done += len(queue)
            queue.clear()
            if progress:
                progress(variant, done, total)

    for subscriber in recipients:
        state = states.get(subscriber.email.casefold())
        if state is not None and state.status is RecipientStatus.SENT:
            result.skipped += 1
            done += 1
            continue
        address = subscriber.email
        letter = Letter(
            email=address,
            name=subscriber.name,
            message_id=message_id(address),
            unsubscribe_url=mime.unsubscribe_link(unsubscribe_template, address),
        )
        queue.append((letter, state.email if state is not None else address))
        if len(queue) >= size:
            flush()
    flush()
    if progress:
        progress(variant, done, total)


def _one_batch(
    transport: BatchTransport,
    ledger: Ledger,
    send_id: int,
    queue: list[tuple[Letter, str]],
    template: Batch,
    result: Any,
    sleep: Callable[[float], None],
) -> None:
    rows = {letter.email.casefold(): row for letter, row in queue}
    letters = [letter for letter, _ in queue]
    marked = ledger.mark_sending_many(send_id, [(row, one.message_id) for one, row in queue])
    in_flight = {email.casefold() for email in marked}
    twice: set[str] = set()

    def commit(answer: BatchResult, *, stopping: bool = False) -> list[Letter]:
        """Commit what the provider said; the throttled ones come back (to send again), or go
        back to 'pending' when the run is stopping."""
        outcomes = {o.email.casefold(): o for o in answer.outcomes}
        answered = [one for one in letters if one.email.casefold() in outcomes]
        for _ in answered:  # the test-only kill hooks count recipients, as the one-at-a-time loop
            _faults.accepted()
        if answer.maybe_twice:
            twice.update(one.email.casefold() for one in letters)
        final: list[tuple[str, RecipientStatus, str | None, bool]] = []
        retry: list[Letter] = []
        for letter in answered:
            key = letter.email.casefold()
            outcome = outcomes[key]
            status = outcome.status.recorded
            if status is None:
                retry.append(letter)
                if stopping:
                    pending = RecipientStatus.PENDING
                    final.append((rows[key], pending, redact(outcome.error or ""), False))
                continue
            duplicate = key in twice
            final.append((rows[key], status, outcome.error, duplicate))
            if status is RecipientStatus.SENT:
                result.sent += 1
                if key in in_flight or duplicate:
                    result.possibly_duplicated.append(letter.email)
            else:
                why = redact(outcome.error or "refused")
                result.failed += 1
                result.failures.append((letter.email, why))
                log.debug("refused: %s: %s", letter.email, why)
        ledger.mark_recipients(send_id, final)
        for _ in range(sum(1 for f in final if f[1] is RecipientStatus.SENT)):
            _faults.committed()
        if len(answered) < len(letters):
            # The reply did not say what became of them: as good as lost. They stay 'sending'.
            missing = next(one.email for one in letters if one.email.casefold() not in outcomes)
            raise BulkUnavailable(
                f"the provider's answer did not mention {len(letters) - len(answered)} "
                f"recipient(s) (first: {missing})",
                maybe_delivered=True,
                hint="run again: they are resent and reported as possibly delivered twice",
            )
        return retry

    for round_ in range(1, THROTTLED_ROUNDS + 2):
        batch = Batch(
            template.email,
            letters,
            template.sender,
            template.reply_to,
            template.unsubscribe_template,
            template.date,
            template.variant,
        )
        try:
            answer: BatchResult = transport.deliver_batch(batch)
        except BatchStopped as stopped:
            commit(BatchResult(stopped.outcomes, stopped.maybe_twice), stopping=True)
            raise
        except PostcliError as error:
            why = redact(str(error.message))
            if not (isinstance(error, ReplyError) and error.maybe_delivered):
                # Nothing of this call went out: back to 'pending' for the next run.
                pending = RecipientStatus.PENDING
                ledger.mark_recipients(
                    send_id,
                    [(rows[one.email.casefold()], pending, why, False) for one in letters],
                )
            raise
        retry = commit(answer)
        if not retry:
            return
        if round_ > THROTTLED_ROUNDS:
            ledger.mark_recipients(
                send_id,
                [
                    (rows[one.email.casefold()], RecipientStatus.PENDING, "throttled", False)
                    for one in retry
                ],
            )
            raise BulkUnavailable(
                f"the provider kept throttling {len(retry)} recipient(s)",
                hint="run again later: they are still to be sent",
            )
        letters = retry
        delay = min(30.0, 0.5 * 2 ** (round_ - 1))
        log.info("%d recipient(s) throttled in the reply; again in %.1fs", len(retry), delay)
        sleep(delay)
