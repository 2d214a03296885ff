"""What a provider is: the Provider protocol, the values that cross it, and its errors.

A provider is one of two kinds, and says which in its `features`:

- a **campaign** provider (the HTTP APIs) gets one `Campaign` per variant, or one self-gated post,
  and sends or schedules it remotely (`send_campaign`), finds one it made before by its stable
  name (`find_campaign`), and sends test copies (`send_test`);
- a **per-recipient** provider (`file`, `smtp`) gets one personalised message per subscriber.
  It implements `subscribers()` and `open_transport()`; `postcli.send` runs the loop around the
  transport, recording every recipient in the ledger before and after each delivery, so both
  built-ins share the same crash and resume behaviour.

Provider errors are the `ProviderRefused` (exit 3) and `ProviderUnavailable` (exit 4) of
`postcli.errors`; a provider never lets a library's exception escape. This module imports neither
httpx nor the ledger.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

from postcli.errors import ProviderRefused, ProviderUnavailable

if TYPE_CHECKING:
    from postcli.render import RenderedEmail
    from postcli.subscribers import Subscriber

__all__ = [
    "Campaign",
    "Checkpoint",
    "Delivery",
    "Features",
    "Provider",
    "ProviderRefused",
    "ProviderUnavailable",
    "RecipientRefused",
    "RemoteCampaign",
    "Transport",
    "campaign_name",
    "content_hash",
]


@dataclass(frozen=True)
class Features:
    """What a provider can do; `postcli.send` plans around these."""

    per_recipient: bool = False  # one message per subscriber, looped by postcli (file, smtp)
    self_gated: bool = False  # one post for all; the provider gates premium content itself
    native_schedule: bool = False  # the provider sends at a set time on its own
    test_sends: bool = True  # `send --test ADDR` works
    find_by_name: bool = False  # find_campaign() can find a campaign made by an earlier run


def content_hash(email: RenderedEmail, salt: str = "") -> str:
    """A short stable hash of what a variant says: subject, preheader, HTML and text."""
    digest = hashlib.sha256(salt.encode("utf-8"))
    for part in (email.subject, email.preheader or "", email.html, email.text):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def campaign_name(issue_id: str, variant: str, hash_: str) -> str:
    """The stable name a provider gives the campaign, so a later run can find it."""
    return f"postcli:{issue_id}:{variant}:{hash_}"


@dataclass(frozen=True)
class Campaign:
    """One variant of one issue, as a campaign provider gets it."""

    issue_id: str
    variant: str  # "free" | "premium"; "all" for a self-gated post
    name: str  # campaign_name(...): postcli:<issue-id>:<variant>:<content-hash>
    email: RenderedEmail  # rendered with the provider's own unsubscribe tag
    sender: str
    reply_to: str | None
    send_at: datetime | None = None  # UTC; None means now
    remote_id: str | None = None  # a draft an earlier run made and did not finish
    # A self-gated post (variant "all") carries the premium email, and the free one here as
    # extra["free_email"] for the provider to gate.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RemoteCampaign:
    """What find_campaign() found on the provider."""

    remote_id: str
    status: Literal["draft", "scheduled", "sent"]
    url: str | None = None


@dataclass(frozen=True)
class Delivery:
    """What a provider did with a campaign or a test."""

    status: Literal["sent", "scheduled"]
    remote_id: str | None = None
    url: str | None = None
    recipients: int | None = None  # when the provider says
    scheduled_for: datetime | None = None  # the time the provider took, if not the one asked


# Campaign providers call this with a remote id the moment one exists (a draft created, say),
# so the ledger holds it before the next remote call and a later run can pick up from it.
Checkpoint = Callable[[str], None]


class RecipientRefused(ProviderRefused):
    """The provider refused this one recipient for good (SMTP 5xx); the others go on."""

    def __init__(self, message: str, *, recipient: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.recipient = recipient


class Transport(Protocol):
    """One open delivery channel of a per-recipient provider (an SMTP connection, a folder)."""

    def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        """Deliver one message; return only when it was accepted. Raises RecipientRefused for a
        permanent refusal of this recipient, ProviderUnavailable when the channel is down
        after retries, ProviderRefused when nothing can go (authentication)."""


@runtime_checkable
class Provider(Protocol):
    """A provider postcli can send through. Built-ins and plug-ins register the same way, under
    the entry-point group `postcli.providers`; the class is constructed as
    `cls(settings, client=client)` where `client` is an `httpx.Client` or None."""

    name: ClassVar[str]
    features: ClassVar[Features]
    # The provider's unsubscribe merge tag, or None to use newsletter.unsubscribe_url.
    unsubscribe_tag: ClassVar[str | None]

    def validate(self) -> None:
        """Raise ConfigError (naming postcli.toml and the key) for a setting that is missing or
        wrong, or a secret that is not set; never contacts the provider."""

    def describe(self) -> str:
        """One line for the confirmation prompt: where the mail goes."""


class CampaignProvider(Provider, Protocol):
    def find_campaign(self, name: str) -> RemoteCampaign | None:
        """A campaign made earlier under this stable name, or None."""

    def send_campaign(self, campaign: Campaign, checkpoint: Checkpoint) -> Delivery:
        """Create (or reuse campaign.remote_id) and send or schedule the campaign."""

    def send_test(self, campaign: Campaign, address: str) -> Delivery:
        """Send one test copy to `address`; subject already carries '[TEST] '."""


class RecipientProvider(Provider, Protocol):
    def subscribers(self) -> list[Subscriber]:
        """Everyone on the list, as the provider's settings name it; [] for none."""

    def open_transport(
        self, issue_id: str, *, test_variant: str | None = None
    ) -> AbstractContextManager[Transport]:
        """The delivery channel for one run (for a test send of one variant when
        `test_variant` is set); connects lazily, on the first delivery, and closes on exit."""

    def variant_copy(self, issue_id: str, variant: str, message: EmailMessage) -> None:
        """Deliver the per-variant copy, if the provider keeps one (the file outbox)."""
