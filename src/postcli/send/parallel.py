"""The per-recipient loop over a `ParallelTransport` (`[providers.smtp] connections = N`).

The loop runs N workers, each with its own channel, fed by a queue; this thread alone writes the
ledger. It marks a recipient 'sending' before handing it out, so no two channels ever hold the
same one, keeps at most one recipient in flight per live channel, and commits 'sent' when the
worker reports the acceptance. A kill therefore leaves at most N recipients in 'sending': the
"possibly delivered twice" window is N messages wide. A channel that gives up (its connection
dropped or answered 421 through all its reconnects) hands its recipient back to the others and
stops; only when every channel is gone does the run stop, with what is left still to send.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from postcli.config import redact
from postcli.errors import PostcliError, RecipientRefused, ReplyError
from postcli.ledger import Ledger, RecipientRecord, SendRecord
from postcli.model import RecipientStatus
from postcli.providers.base import Accepted, ParallelTransport
from postcli.send.messages import message_id, personal_message
from postcli.send.outcomes import Outcomes
from postcli.send.plan import Plan, VariantPlan
from postcli.send.report import Progress, VariantReport
from postcli.subscribers import Subscriber

log = logging.getLogger("postcli.send")

# Seconds to wait for a worker to finish the message it holds when a run ends (its SMTP
# timeout bounds it anyway); after Ctrl-C nobody waits: the workers are daemon threads.
JOIN_TIMEOUT = 60.0


@dataclass
class _Job:
    """One recipient handed to a worker, marked 'sending' in the ledger first."""

    subscriber: Subscriber
    row: str  # the address as the ledger has it
    message_id: str
    marked: bool = False  # marked 'sending' by this run (a job handed back is not marked again)
    in_flight: bool = False  # it was 'sending' already: a killed run did not know its fate
    twice: bool = False  # a channel of this run that gave up may have delivered it


@dataclass
class _Report:
    """What a worker says of its job (None: its channel never opened)."""

    job: _Job | None
    accepted: Accepted | None = None
    error: BaseException | None = None
    lost: bool = False  # the worker's channel is gone and the worker has stopped


class ParallelLoop:
    """The per-recipient loop over a ParallelTransport: this thread writes the ledger, one
    worker per channel delivers (see the module docstring)."""

    def __init__(
        self,
        plan: Plan,
        v: VariantPlan,
        ledger: Ledger,
        transport: ParallelTransport,
        record: SendRecord,
        result: VariantReport,
        progress: Progress | None,
        now: Callable[[], datetime],
        states: dict[str, RecipientRecord],
    ) -> None:
        from postcli import mime

        self.plan, self.v, self.ledger, self.transport = plan, v, ledger, transport
        self.states = states  # the ledger's rows of the chunk `recipients` is at
        self.send_id, self.generation = record.id, record.generation
        self.result, self.progress, self.now = result, progress, now
        self.sender = mime.envelope_address(plan.settings.newsletter.from_)
        self.jobs: queue.Queue[_Job | None] = queue.Queue()
        self.reports: queue.Queue[_Report] = queue.Queue()
        self.stopping = threading.Event()
        self.done = 0
        self.outcomes = Outcomes(ledger, record.id, result, v.variant)

    # -- the workers ---------------------------------------------------------------------------

    def _work(self) -> None:
        """One worker: its own channel, one job at a time, every outcome reported."""
        try:
            with self.transport.channel() as channel:
                while True:
                    job = self.jobs.get()
                    if job is None or self.stopping.is_set():
                        return
                    try:
                        message = personal_message(
                            self.plan, self.v, job.subscriber, job.message_id, self.now
                        )
                        accepted = channel.deliver(
                            message, sender=self.sender, recipient=job.subscriber.email
                        )
                    except PostcliError as error:
                        lost = self.transport.connection_lost(error)
                        self.reports.put(_Report(job, error=error, lost=lost))
                        if lost:
                            return
                    except BaseException as error:  # handed to the writer, which decides
                        self.reports.put(_Report(job, error=error, lost=True))
                        return
                    else:
                        self.reports.put(_Report(job, accepted=accepted))
        except BaseException as error:  # the channel failed to open or to close
            self.reports.put(_Report(None, error=error, lost=True))

    # -- the writer ----------------------------------------------------------------------------

    def run(self, recipients: Iterator[Subscriber]) -> None:
        count = self.transport.connections
        workers = [
            threading.Thread(target=self._work, name=f"postcli-send-{n}", daemon=True)
            for n in range(1, count + 1)
        ]
        for worker in workers:
            worker.start()
        interrupted = False
        try:
            self._write(recipients, alive=count)
        except KeyboardInterrupt:
            # Ctrl-C: stop the workers where they are. What they still deliver stays 'sending'
            # in the ledger, to be resent and reported by the next run.
            interrupted = True
            self.stopping.set()
            with contextlib.suppress(Exception):
                self._commit_reported()
            raise
        except BaseException:  # an error that stopped the run: no more jobs are taken
            self.stopping.set()
            raise
        finally:
            for _ in workers:
                self.jobs.put(None)
            if not interrupted:  # each finishes what it holds, gives its channel back, ends
                for worker in workers:
                    worker.join(timeout=JOIN_TIMEOUT)

    def _write(self, recipients: Iterator[Subscriber], alive: int) -> None:
        handed_back: deque[_Job] = deque()
        in_flight = 0
        stop: BaseException | None = None
        while True:
            while stop is None and alive and in_flight < alive:
                job = handed_back.popleft() if handed_back else self._next(recipients)
                if job is None:
                    break
                if not job.marked:
                    job.in_flight = self.ledger.mark_sending(self.send_id, job.row, job.message_id)
                    job.marked = True
                self.jobs.put(job)
                in_flight += 1
            if not in_flight:
                break
            if not alive:
                # Every channel is gone: the jobs still queued never left this machine.
                in_flight -= self._take_back_queued(stop)
                if not in_flight:
                    break
            report = self.reports.get()
            job = report.job
            if job is None:
                alive -= 1
                stop = stop or report.error
                continue
            in_flight -= 1
            error = report.error
            if error is None:
                self._sent(job, report.accepted)
            elif isinstance(error, RecipientRefused):
                self._refused(job, error)
            elif report.lost and isinstance(error, PostcliError):
                alive -= 1
                job.twice = job.twice or (isinstance(error, ReplyError) and error.maybe_delivered)
                if alive and stop is None:
                    log.info("a connection gave up (%s); %d left", error.message, alive)
                    handed_back.append(job)  # another channel delivers it
                    continue
                self._stopped(job, error)
                stop = stop or error
            elif isinstance(error, PostcliError):
                self._stopped(job, error)
                stop = stop or error
            else:
                alive -= 1  # a worker died of something unexpected: it stays 'sending'
                stop = stop or error
            self._step()
        if stop is not None:
            if isinstance(stop, PostcliError):
                for job in handed_back:  # given back by a channel that gave up, not taken again
                    self._stopped(job, stop)
            raise stop

    def _next(self, recipients: Iterator[Subscriber]) -> _Job | None:
        """The next recipient still to send (skipping the ones the ledger has as sent)."""
        for subscriber in recipients:
            # `recipients` is _with_states over this send: the chunk's rows are at hand.
            state = self._state(subscriber)
            if state is not None and state.status is RecipientStatus.SENT:
                self.result.skipped += 1
                self._step()
                continue
            row = state.email if state is not None else subscriber.email
            mid = message_id(self.plan, self.v.variant, subscriber.email, self.generation)
            return _Job(subscriber, row, mid)
        return None

    def _state(self, subscriber: Subscriber) -> RecipientRecord | None:
        return self.states.get(subscriber.email.lower())

    def _sent(self, job: _Job, accepted: Accepted | None) -> None:
        email = job.subscriber.email
        self.outcomes.sent(
            job.row, email, job.message_id, accepted, in_flight=job.in_flight, twice=job.twice
        )

    def _refused(self, job: _Job, refused: RecipientRefused) -> None:
        self.outcomes.refused(job.row, job.subscriber.email, refused)

    def _stopped(self, job: _Job, error: PostcliError) -> None:
        self.outcomes.stopped(job.row, job.subscriber.email, error, twice=job.twice)

    def _step(self) -> None:
        self.done += 1
        if self.progress:
            self.progress(self.v.variant, self.done, self.result.total)

    def _take_back_queued(self, stop: BaseException | None) -> int:
        """Jobs no worker took (every channel gone) back to 'pending'; how many."""
        why = redact(str(stop)) if stop is not None else None
        taken = 0
        while True:
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                return taken
            if job is None:
                continue
            taken += 1
            if not (job.twice or job.in_flight):
                self.ledger.put_back(self.send_id, job.row, why)

    def _commit_reported(self) -> None:
        """After an interruption: commit the acceptances already reported, so fewer
        recipients are left as possibly delivered; what is left stays 'sending'."""
        while True:
            try:
                report = self.reports.get_nowait()
            except queue.Empty:
                return
            if report.job is not None and report.error is None:
                self._sent(report.job, report.accepted)
