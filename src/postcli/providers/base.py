"""What a provider is: the provider protocols, the values that cross them, and the guards that
tell the kinds apart.

A provider is one of three kinds, and says which in its `features`:

- a **campaign** provider (`CampaignProvider`: the HTTP APIs) gets one `Campaign` per variant and
  sends or schedules it remotely (`send_campaign`), finds one it made before by its stable name
  (`find_campaign`), and sends test copies (`send_test`);
- a **self-gated** campaign provider (`SelfGatedProvider`: Ghost-like platforms, `features.
  self_gated`) gets one post for everyone, variant `Audience.ALL`, carrying the premium email and
  the free one beside it (`Campaign.free_email`); the platform gates premium content itself;
- a **per-recipient** provider (`RecipientProvider`: `file`, `smtp`, the bulk senders) gets one
  personalised message per subscriber. It implements `subscribers()` and `open_transport()`;
  `postcli.send` runs the loop around the transport, recording every recipient in the ledger
  before and after each delivery, so all of them share the same crash and resume behaviour.

`is_recipient_provider`, `is_campaign_provider` and `is_self_gated` are the guards `send`
branches on; the registry checks when it loads a class that it has the methods its kind needs.
What a provider declares about itself as class attributes (secret variables, merge tag,
settings schema) is what `postcli.registry` and `postcli.providers` read.

Provider errors are the `ProviderRefused` (exit 3) and `ProviderUnavailable` (exit 4) of
`postcli.errors`; a provider never lets a library's exception escape. This module imports neither
httpx nor the ledger.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeGuard

from postcli.errors import PostcliError, ProviderRefused, ProviderUnavailable, RecipientRefused
from postcli.model import Delivered, Edition, RemoteStatus, SendStatus, Variant

if TYPE_CHECKING:
    from postcli.config import Settings
    from postcli.render import RenderedEmail
    from postcli.render.gated import GatedPost
    from postcli.subscribers import Subscriber

__all__ = [
    "Accepted",
    "Campaign",
    "CampaignProvider",
    "Checkpoint",
    "Delivery",
    "Features",
    "Key",
    "MovableProvider",
    "ParallelTransport",
    "Provider",
    "ProviderRefused",
    "ProviderUnavailable",
    "RecipientProvider",
    "RecipientRefused",
    "RemoteCampaign",
    "SelfGatedProvider",
    "SettingsSchema",
    "Transport",
    "campaign_name",
    "content_hash",
    "is_campaign_provider",
    "is_movable",
    "is_parallel",
    "is_recipient_provider",
    "is_self_gated",
]


@dataclass(frozen=True)
class Features:
    """What a provider can do; `postcli.send` plans around these."""

    per_recipient: bool = False  # one message per subscriber, looped by postcli (file, smtp)
    self_gated: bool = False  # one post for all; the provider gates premium content itself
    native_schedule: bool = False  # the provider sends at a set time on its own
    test_sends: bool = True  # `send --test ADDR` works
    find_by_name: bool = False  # find_campaign() can find a campaign made by an earlier run
    movable: bool = False  # a MovableProvider: scheduled campaigns can be changed and cancelled


@dataclass(frozen=True)
class Key:
    """One allowed key of `[providers.NAME]`: the TOML types it may have, and what to say when
    it has another: `message` whole, or "'KEY' in [providers.NAME] must be " and `must`
    (default: "a TYPE")."""

    types: tuple[type, ...]
    message: str | None = None
    must: str | None = None


# The allowed keys of a provider's `[providers.NAME]` table.
SettingsSchema = Mapping[str, Key]


def content_hash(email: RenderedEmail, salt: str = "") -> str:
    """A short stable hash of what a variant says: subject, preheader, HTML and text."""
    digest = hashlib.sha256(salt.encode("utf-8"))
    for part in (email.subject, email.preheader or "", email.html, email.text):
        digest.update(part.encode("utf-8"))
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def campaign_name(issue_id: str, variant: Edition, hash_: str) -> str:
    """The stable name a provider gives the campaign, so a later run can find it."""
    return f"postcli:{issue_id}:{variant}:{hash_}"


@dataclass(frozen=True)
class Campaign:
    """One variant of one issue, as a campaign provider gets it."""

    issue_id: str
    variant: Edition  # a Variant; Audience.ALL for a self-gated post
    name: str  # campaign_name(...): postcli:<issue-id>:<variant>:<content-hash>
    email: RenderedEmail  # rendered with the provider's own unsubscribe tag
    sender: str
    reply_to: str | None
    send_at: datetime | None = None  # UTC; None means now
    remote_id: str | None = None  # a draft an earlier run made and did not finish
    # A self-gated post (variant Audience.ALL) carries the premium email, and the free one as
    # extra["free_email"] for the provider to gate.
    extra: dict[str, RenderedEmail] = field(default_factory=dict)
    # A self-gated provider's one post, cut into sections by who may read them.
    post: GatedPost | None = None

    @property
    def free_email(self) -> RenderedEmail | None:
        """The free variant beside the premium one, in a self-gated post."""
        return self.extra.get("free_email")


@dataclass(frozen=True)
class RemoteCampaign:
    """What find_campaign() found on the provider."""

    remote_id: str
    status: RemoteStatus
    url: str | None = None

    def __post_init__(self) -> None:
        # The boundary: a plug-in may hand the provider's word in as a plain string.
        object.__setattr__(self, "status", RemoteStatus(self.status))


@dataclass(frozen=True)
class Delivery:
    """What a provider did with a campaign or a test."""

    status: Delivered
    remote_id: str | None = None
    url: str | None = None
    recipients: int | None = None  # when the provider says
    scheduled_for: datetime | None = None  # the time the provider took, if not the one asked

    def __post_init__(self) -> None:
        # The boundary: a plug-in may hand the status in as a plain string.
        status = SendStatus(self.status)
        if status not in (SendStatus.SENT, SendStatus.SCHEDULED):
            raise ValueError(f"a delivery is sent or scheduled, not {status}")
        object.__setattr__(self, "status", status)


@dataclass(frozen=True)
class Accepted:
    """What a transport says of one message it delivered: `possibly_twice` when it had to send
    it again after the server's reply was lost, so the recipient may have it twice."""

    possibly_twice: bool = False


# Campaign providers call this with a remote id the moment one exists (a draft created, say),
# so the ledger holds it before the next remote call and a later run can pick up from it.
Checkpoint = Callable[[str], None]


class Transport(Protocol):
    """One open delivery channel of a per-recipient provider (an SMTP connection, a folder)."""

    def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> Accepted | None:
        """Deliver one message; return only when it was accepted, with what the transport knows
        of it (None: accepted, nothing more to say). Raises RecipientRefused for a
        permanent refusal of this recipient, ProviderUnavailable when the channel is down
        after retries, ProviderRefused when nothing can go (authentication)."""
        ...


class ParallelTransport(Transport, Protocol):
    """A transport that delivers over several channels at once (`[providers.smtp]
    connections`). `postcli.send` runs one worker per channel and keeps the ledger in one
    thread: it marks a recipient 'sending' before handing it to a worker, so no two channels
    ever hold the same one, and 'sent' after the worker reports the acceptance."""

    connections: int  # channels at once, at least 2

    def channel(self) -> AbstractContextManager[Transport]:
        """One more channel (its own connection, opened lazily), used by one thread only;
        every channel shares the transport's rate cap."""
        ...

    def connection_lost(self, error: PostcliError) -> bool:
        """Whether `error` (raised by a channel's `deliver`) means that channel is gone after
        its own retries, so the message it held may go over another one."""
        ...


def is_parallel(transport: Transport) -> TypeGuard[ParallelTransport]:
    """Delivers over several channels at once."""
    connections = getattr(transport, "connections", 1)
    return isinstance(connections, int) and connections > 1 and hasattr(transport, "channel")


class Provider(Protocol):
    """A provider postcli can send through. Built-ins and plug-ins register the same way, under
    the entry-point group `postcli.providers`; the class is constructed as
    `cls(settings, client=client)` where `client` is an `httpx.Client` or None."""

    name: ClassVar[str]
    features: ClassVar[Features]
    # What the registry reads without constructing it (see ProviderInfo): the merge tag the
    # provider fills with each reader's unsubscribe link (None: newsletter.unsubscribe_url),
    # the environment variables holding its secrets, and the keys of [providers.NAME].
    unsubscribe_tag: ClassVar[str | None]
    secret_variables: ClassVar[tuple[str, ...]]
    settings_schema: ClassVar[SettingsSchema]

    def __init__(self, settings: Settings, *, client: object = None) -> None: ...

    def validate(self) -> None:
        """Raise ConfigError (naming postcli.toml and the key) for a setting that is missing or
        wrong, or a secret that is not set; never contacts the provider."""
        ...

    def describe(self) -> str:
        """One line for the confirmation prompt: where the mail goes."""
        ...

    def close(self) -> None:
        """Release what the provider holds (an HTTP client); called once a send is over."""
        ...


class CampaignProvider(Provider, Protocol):
    def find_campaign(self, name: str) -> RemoteCampaign | None:
        """A campaign made earlier under this stable name, or None."""
        ...

    def send_campaign(self, campaign: Campaign, checkpoint: Checkpoint) -> Delivery:
        """Create (or reuse campaign.remote_id) and send or schedule the campaign."""
        ...

    def send_test(self, campaign: Campaign, address: str) -> Delivery:
        """Send one test copy to `address`; subject already carries '[TEST] '."""
        ...


class MovableProvider(CampaignProvider, Protocol):
    """A campaign provider whose scheduled campaigns follow the issue file (`features.movable`):
    `postcli send` moves them when the issue's time or text changed, `postcli unschedule`
    cancels them. Without it, both say the provider cannot, and change nothing."""

    def schedule_time(self, when: datetime) -> datetime:
        """The time the provider's scheduler takes for `when` (Mailchimp: the next quarter hour)."""
        ...

    def update_campaign(self, campaign: Campaign) -> Delivery | None:
        """Change the campaign `campaign.remote_id` (scheduled, or a draft an interrupted move
        left) in place to `campaign`'s text and `send_at`, and have it scheduled then. None
        when the API cannot change it in place: postcli then cancels it and makes a new one.
        Safe to call again with the same campaign (a rerun after a crash does)."""
        ...

    def cancel_campaign(self, remote_id: str) -> None:
        """Stop a scheduled campaign from going out (unschedule it to a draft, or delete it).
        A draft, a deleted or an unknown campaign is left as it is; ProviderRefused when it
        went out already."""
        ...

    def fetch(self, remote_id: str) -> RemoteCampaign | None:
        """What the provider holds under `remote_id` now (None: nothing, or deleted). Asked
        after a change failed midway, so the ledger records what the provider has."""
        ...


class SelfGatedProvider(CampaignProvider, Protocol):
    """A campaign provider that takes one post for everyone (`Campaign.free_email` beside the
    premium email) and gates premium content itself; `features.self_gated` is set."""


class RecipientProvider(Provider, Protocol):
    @property
    def subscribers_file(self) -> Path | None:
        """The subscribers file the settings name, or None when they name none."""
        ...

    def subscribers(self) -> Collection[Subscriber]:
        """Everyone on the list, as the provider's settings name it; [] for none. The
        built-ins return a `postcli.subscribers.SubscriberList`, read as a stream and held on
        disk; any other collection is copied into one."""
        ...

    def open_transport(
        self, issue_id: str, *, test_variant: Variant | None = None
    ) -> AbstractContextManager[Transport]:
        """The delivery channel for one run (for a test send of one variant when
        `test_variant` is set); connects lazily, on the first delivery, and closes on exit."""
        ...

    def variant_copy(self, issue_id: str, variant: Variant, message: EmailMessage) -> None:
        """Deliver the per-variant copy, if the provider keeps one (the file outbox)."""
        ...


# The methods each kind needs; the registry refuses a class that lacks one.
_COMMON = ("validate", "describe", "close")
RECIPIENT_METHODS = (*_COMMON, "subscribers", "open_transport", "variant_copy")
CAMPAIGN_METHODS = (*_COMMON, "find_campaign", "send_campaign", "send_test")


def is_recipient_provider(provider: Provider) -> TypeGuard[RecipientProvider]:
    """One message per subscriber, looped by postcli."""
    return provider.features.per_recipient


def is_campaign_provider(provider: Provider) -> TypeGuard[CampaignProvider]:
    """One campaign per variant (or one self-gated post), sent by the provider."""
    return not provider.features.per_recipient


def is_movable(provider: Provider) -> TypeGuard[MovableProvider]:
    """Scheduled campaigns can be changed in place or cancelled (`features.movable`)."""
    features = provider.features
    return features.movable and not features.per_recipient


def is_self_gated(provider: Provider) -> TypeGuard[SelfGatedProvider]:
    """One post for everyone; the provider gates premium content itself."""
    return provider.features.self_gated and not provider.features.per_recipient
