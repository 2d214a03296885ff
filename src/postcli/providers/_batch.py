"""The batch seam between `postcli.send_batches` (the loop with its ledger steps) and the bulk
senders that take many recipients a call (Postmark, Mailgun): `Letter` (one recipient of a
batch), `Batch` (one call's worth), `Outcome` (what the provider said about one recipient) and
`BatchTransport`. Imports neither httpx nor the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

from postcli.errors import ProviderRefused, ProviderUnavailable, ReplyError
from postcli.model import LetterStatus

if TYPE_CHECKING:
    from postcli.render import RenderedEmail


class BulkUnavailable(ReplyError, ProviderUnavailable):
    """The provider stayed unreachable or kept throttling (exit 4). `maybe_delivered`: the last
    call may have gone through (its answer was lost), so its recipients stay 'sending' in the
    ledger, and the next run resends them and reports them."""

    def __init__(
        self, message: str, *, maybe_delivered: bool = False, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.maybe_delivered = maybe_delivered


class BatchStopped(ProviderRefused):
    """A successful reply whose messages carry an error that no other message would escape (a
    bad token, the sender): `outcomes` says what did go out (RETRY ones did not), and the run
    stops after recording them."""

    def __init__(
        self, message: str, *, outcomes: list[Outcome], maybe_twice: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(message, **kwargs)
        self.outcomes = outcomes
        self.maybe_twice = maybe_twice


@dataclass(frozen=True)
class Letter:
    """One recipient of a batch, as the send loop hands it over."""

    email: str
    name: str
    message_id: str  # the same for this (issue, variant, recipient) in every run
    unsubscribe_url: str | None  # the recipient's own link


@dataclass(frozen=True)
class Outcome:
    """What the provider said about one recipient of a batch."""

    email: str
    status: LetterStatus
    error: str | None = None
    remote_id: str | None = None


@dataclass(frozen=True)
class Batch:
    """One call's worth: the variant's shared email and its recipients."""

    email: RenderedEmail  # rendered with newsletter.unsubscribe_url (its {email} not filled in)
    letters: Sequence[Letter]
    sender: str  # the From header, as configured
    reply_to: str | None
    unsubscribe_template: str | None
    date: datetime
    variant: str


@dataclass(frozen=True)
class BatchResult:
    outcomes: list[Outcome]
    maybe_twice: bool = False  # the call was repeated after a lost answer


class BatchTransport(Protocol):
    """A delivery channel that takes many recipients a call (Postmark, Mailgun)."""

    batch_size: int  # recipients a call at most (already capped to a second of the rate)

    def deliver_batch(self, batch: Batch) -> BatchResult:
        """One API call for `batch.letters`; an Outcome for each of them, in any order. Raises
        ProviderRefused when nothing can go (authentication), BulkUnavailable when the provider
        stays down (`maybe_delivered` when the call may have gone through)."""

    def deliver(self, message: Any, *, sender: str, recipient: str) -> Any:
        """One message (a `send --test` copy): an `Accepted`, as a `Transport` answers."""


def is_batch_transport(transport: object) -> TypeGuard[BatchTransport]:
    """Takes many recipients a call (a bulk sender's transport with `batch_size` above 1)."""
    size = getattr(transport, "batch_size", 1)
    deliver = getattr(transport, "deliver_batch", None)
    return isinstance(size, int) and size > 1 and callable(deliver)
