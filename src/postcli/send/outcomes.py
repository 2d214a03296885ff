"""What became of one recipient's message, written to the ledger and to the run's report: the
rules both per-recipient loops follow (recipients.py one at a time, parallel.py over N
connections)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from postcli.config import redact
from postcli.errors import PostcliError, RecipientRefused, ReplyError
from postcli.ledger import Ledger
from postcli.model import Edition
from postcli.providers.base import Accepted
from postcli.send import _faults
from postcli.send.report import VariantReport

log = logging.getLogger("postcli.send")


@dataclass
class Outcomes:
    """The outcomes of one variant's recipients; `row` is a recipient's address as the ledger
    has it (an earlier run may have written it with other capitals)."""

    ledger: Ledger
    send_id: int
    result: VariantReport
    variant: Edition

    def sent(
        self, row: str, email: str, message_id: str, accepted: Accepted | None, *,
        in_flight: bool, twice: bool = False,
    ) -> None:  # fmt: skip
        """The server accepted it: 'sent', committed at once. `in_flight`: a killed run had it
        in 'sending'; `twice`: a channel of this run that gave up may have delivered it."""
        twice = twice or (accepted is not None and accepted.possibly_twice)
        _faults.accepted()
        self.ledger.mark_sent(self.send_id, row, possibly_duplicate=twice)
        _faults.committed()
        self.result.sent += 1
        if in_flight or twice:
            self.result.possibly_duplicated.append(email)
        log.debug("sent %s to %s (%s)", self.variant, email, message_id)

    def refused(self, row: str, email: str, refused: RecipientRefused) -> None:
        """The server refused this recipient for good; the run goes on."""
        why = redact(str(refused.message))
        self._failed(row, email, why)
        log.debug("refused: %s: %s", email, why)

    def stopped(self, row: str, email: str, error: PostcliError, *, twice: bool = False) -> None:
        """Nothing more can go now (the server is gone, defers, or refuses us all). A message the
        server deferred failed; one that may have reached it stays 'sending' (the next run sends
        it again and reports it possibly twice); one that never got that far is pending."""
        why = redact(str(error.message))
        reply = error if isinstance(error, ReplyError) else None
        if twice or (reply is not None and reply.maybe_delivered):
            return
        if reply is not None and reply.recipient == email:
            self._failed(row, email, why)
        else:
            self.ledger.put_back(self.send_id, row, why)

    def _failed(self, row: str, email: str, why: str) -> None:
        self.ledger.mark_failed(self.send_id, row, why)
        self.result.failed += 1
        self.result.failures.append((email, why))
