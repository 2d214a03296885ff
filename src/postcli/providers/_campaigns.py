"""What the HTTP campaign providers (Buttondown, Resend, Mailchimp, listmonk) share.

Owns the flow every one of them follows for one variant, so a crash, a lost answer or a second
run can never make a second campaign or send one twice:

1. find what an earlier run made: the remote id the ledger holds, else a look-up by the
   campaign's stable name (`postcli:<issue-id>:<variant>:<hash>`); one already sent or
   scheduled is left alone and reported as it is;
2. otherwise create a draft, and hand its remote id to the ledger's checkpoint at once;
3. send it now or schedule it.

A create or an action whose answer is lost (a timeout, a dropped connection, a 5xx after the
server may have acted) is never simply repeated: the provider is asked first whether it took
effect (by name, or by the campaign's status), and only if not is it tried again.

Also owns `audiences` and the campaign states of an API; the rest of `[providers.<name>]` and the
secrets are `_settings.ProviderTable`'s. The adapters own their API's paths and payloads; this
module never touches the ledger or the rendering.
"""

from __future__ import annotations

import hashlib
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from postcli.config import Settings
from postcli.errors import InputError, PostcliError, ProviderRefused, ProviderUnavailable
from postcli.model import Delivered, RemoteStatus, SendStatus, Variant
from postcli.providers._moves import CampaignMoves
from postcli.providers._settings import ProviderTable, http_schema
from postcli.providers.base import (
    Campaign,
    Checkpoint,
    Delivery,
    Features,
    RemoteCampaign,
    SettingsSchema,
)
from postcli.times import iso as iso_utc

__all__ = [
    "HttpCampaignProvider",
    "delivered",
    "http_schema",
    "iso_utc",
    "issue_of",
    "no_test_send",
    "short_key",
]

log = logging.getLogger("postcli.providers")

T = TypeVar("T")

VARIANTS = tuple(v.value for v in Variant)


def delivered(status: RemoteStatus) -> Delivered:
    """A campaign the provider holds as scheduled or sent, as a delivery status."""
    return SendStatus.SCHEDULED if status is RemoteStatus.SCHEDULED else SendStatus.SENT


def short_key(*parts: str, limit: int = 200) -> str:
    """An idempotency key made of `parts`; hashed when it would be longer than `limit`."""
    key = ":".join(parts)
    return key if len(key) <= limit else hashlib.sha256(key.encode("utf-8")).hexdigest()


def no_test_send(campaign: Campaign, address: str, why: str, instead: str) -> InputError:
    """The error of `send --test` through a platform whose API cannot send a test copy."""
    return InputError(
        why,
        hint="send the test copy through the file or smtp provider instead: "
        f"POSTCLI_PROVIDER=smtp postcli send {campaign.issue_id} --test {address} "
        f"(or POSTCLI_PROVIDER=file), or use {instead}",
    )


def issue_of(name: str) -> str:
    """The issue id inside a stable name `postcli:<issue-id>:<variant>:<hash>`."""
    parts = name.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "postcli" else name


class HttpCampaignProvider(ProviderTable, CampaignMoves, ABC):
    """The shared part of an HTTP campaign provider; subclasses fill in the API calls."""

    features: ClassVar[Features] = Features(native_schedule=True, find_by_name=True, movable=True)
    settings_schema: ClassVar[SettingsSchema] = http_schema()
    DEFAULT_BASE_URL: ClassVar[str | None] = None
    IDEMPOTENCY_HEADER: ClassVar[str] = "Idempotency-Key"
    # How often a create or an action whose answer was lost is tried again, after asking the
    # provider whether the last try took effect.
    TRIES: ClassVar[int] = 3
    # An example of `audiences` for the error when it is missing; None: the API takes none.
    AUDIENCES: ClassVar[str | None] = None
    # The API's words for a campaign's state; any other word means it went out.
    STATUSES: ClassVar[Mapping[str, RemoteStatus]] = {
        "draft": RemoteStatus.DRAFT,
        "scheduled": RemoteStatus.SCHEDULED,
    }

    def __init__(
        self,
        settings: Settings,
        *,
        client: Any = None,
        retry: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(settings)
        self._client = client
        self._retry = retry
        self._sleep = sleep
        self._api: Any = None
        self.base_url: str | None = self.base_url_setting or self.DEFAULT_BASE_URL
        self.audiences: Mapping[str, Any] = {}  # variant -> whom the API sends it to

    # -- settings ------------------------------------------------------------------------------

    def audience_setting(self) -> dict[str, Any]:
        """`audiences = { free = ..., premium = ... }`, checked to name only the two variants."""
        value = self.options.get("audiences", {})
        if not isinstance(value, Mapping):
            raise self.bad(
                "audiences",
                f"'audiences' in [providers.{self.name}] must be a table like "
                "{ free = ..., premium = ... }",
            )
        unknown = [key for key in value if key not in VARIANTS]
        if unknown:
            raise self.bad(
                "audiences",
                f"unknown audience '{unknown[0]}' in [providers.{self.name}] audiences; "
                "known: free, premium",
            )
        return dict(value)

    def audiences_of(self, parse: Callable[[Any], T | None], shape: str) -> dict[str, T]:
        """Each variant's audience as `parse` makes it; a value it refuses (None) is an error
        saying the audience must be `shape`."""
        audiences: dict[str, T] = {}
        for variant, value in self.audience_setting().items():
            parsed = parse(value)
            if parsed is None:
                raise self.bad(
                    "audiences",
                    f"the {variant} audience in [providers.{self.name}] must be {shape}",
                )
            audiences[variant] = parsed
        return audiences

    def audience(self, variant: str) -> Any:
        """The provider's audience for `variant`; ConfigError naming the key when it is missing."""
        if variant not in self.audiences:
            raise self.bad(
                "audiences",
                f"[providers.{self.name}] audiences has no '{variant}': "
                f"postcli does not know whom to send the {variant} variant to",
            )
        return self.audiences[variant]

    def validate(self) -> None:
        for variable in self.secret_variables:
            self.require_secret(variable)
        if self.base_url is None:
            raise self.bad(
                "base_url",
                f"[providers.{self.name}] needs 'base_url', the root of the {self.title} API",
            )
        if self.AUDIENCES is not None and not self.audiences:
            raise self.bad(
                "audiences", f"[providers.{self.name}] needs audiences = {self.AUDIENCES}"
            )

    def bearer(self, variable: str) -> tuple[dict[str, str], Any, list[str]]:
        """`auth()` for an API that takes the secret in `variable` as a bearer token."""
        key = self.require_secret(variable)
        return {"Authorization": f"Bearer {key}"}, None, [key]

    def describe(self) -> str:
        return f"{self.title} at {self.base_url}"

    # -- the HTTP client -----------------------------------------------------------------------

    @abstractmethod
    def auth(self) -> tuple[dict[str, str], Any, list[str]]:
        """(headers, httpx auth, secrets to redact) for every request."""

    @property
    def api(self) -> Any:
        if self._api is None:
            from postcli.providers._http import HttpClient

            self.validate()
            headers, auth, secrets = self.auth()
            assert self.base_url is not None
            self._api = HttpClient(
                provider=self.name,
                base_url=self.base_url,
                headers=headers,
                auth=auth,
                secrets=secrets,
                client=self._client,
                timeout=self.timeout,
                retry=self._retry,
                sleep=self._sleep,
                hint=f"check {' and '.join(self.secret_variables)}",
                idempotency_header=self.IDEMPOTENCY_HEADER,
            )
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    def remote(self, campaign: Mapping[str, Any], url: str | None = None) -> RemoteCampaign:
        """A campaign as the API describes it: its `id`, and its `status` read by STATUSES."""
        status = self.STATUSES.get(str(campaign.get("status")), RemoteStatus.SENT)
        return RemoteCampaign(str(campaign["id"]), status, url)

    # -- what each adapter implements ------------------------------------------------------------

    @abstractmethod
    def lookup(self, name: str, campaign: Campaign | None) -> RemoteCampaign | None:
        """The campaign called `name` on the provider, or None. `campaign`, when given, helps
        narrow the search (Buttondown searches by subject)."""

    @abstractmethod
    def fetch(self, remote_id: str) -> RemoteCampaign | None:
        """The campaign with this remote id, or None when the provider does not know it."""

    @abstractmethod
    def create(self, campaign: Campaign, name: str) -> str:
        """Make a draft of `campaign` called `name`; its remote id."""

    def prepare(self, remote_id: str, campaign: Campaign) -> None:
        """Finish a draft before it goes out (Mailchimp sets its content); idempotent. Most
        providers take the content with the create and need nothing here."""
        return

    @abstractmethod
    def schedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None:
        """Have the provider send the draft at `when` (already what schedule_time allows)."""

    @abstractmethod
    def send_now(self, remote_id: str, campaign: Campaign) -> None:
        """Send the draft now."""

    def test(self, remote_id: str, campaign: Campaign, address: str) -> None:
        """Send one test copy of the draft to `address`. Adapters whose provider tests some
        other way (Resend: an ordinary email) override send_test instead."""
        raise ProviderRefused(f"{self.title} sends no test copy of a draft", hint="use send_test")

    def schedule_time(self, when: datetime) -> datetime:
        """The time the provider can schedule for `when` (Mailchimp: the next quarter hour)."""
        return when

    # -- the Provider protocol -----------------------------------------------------------------

    def find_campaign(self, name: str) -> RemoteCampaign | None:
        return self.lookup(name, None)

    def send_campaign(self, campaign: Campaign, checkpoint: Checkpoint) -> Delivery:
        remote = self._existing(campaign)
        if remote is not None and remote.status is not RemoteStatus.DRAFT:
            log.info(
                "%s: %s is %s already (campaign %s); left alone",
                self.name,
                campaign.name,
                remote.status,
                remote.remote_id,
            )
            return Delivery(delivered(remote.status), remote.remote_id, remote.url)
        remote_id = remote.remote_id if remote else self._create(campaign, campaign.name)
        if remote_id != campaign.remote_id:
            checkpoint(remote_id)
        self.prepare(remote_id, campaign)
        status: Delivered
        when: datetime | None = None
        if campaign.send_at is not None:
            at = when = self.schedule_time(campaign.send_at)
            self._until_done(
                lambda: self.schedule(remote_id, campaign, at),
                remote_id,
                (RemoteStatus.SCHEDULED, RemoteStatus.SENT),
            )
            status = SendStatus.SCHEDULED
        else:
            self._until_done(
                lambda: self.send_now(remote_id, campaign), remote_id, (RemoteStatus.SENT,)
            )
            status = SendStatus.SENT
        found = self._quiet_fetch(remote_id)
        return Delivery(status, remote_id, found.url if found else None, scheduled_for=when)

    def send_test(self, campaign: Campaign, address: str) -> Delivery:
        """A test copy through a draft of its own (`<name>:test`, with the '[TEST]' subject),
        made once and reused by later tests of the same content; the real campaign is never
        touched."""
        name = f"{campaign.name}:test"
        remote = self.lookup(name, campaign)
        remote_id = remote.remote_id if remote is not None else self._create(campaign, name)
        self.prepare(remote_id, campaign)
        self.test(remote_id, campaign, address)
        return Delivery(SendStatus.SENT, remote_id)

    # -- the careful steps -----------------------------------------------------------------------

    def _existing(self, campaign: Campaign) -> RemoteCampaign | None:
        if campaign.remote_id:
            found = self.fetch(campaign.remote_id)
            if found is not None and found.status is not RemoteStatus.DRAFT:
                return found  # it went out (or will): never a second time
        # A draft is reused only under this content's name: the ledger's id may be the draft of
        # an earlier version of the issue.
        return self.lookup(campaign.name, campaign)

    def _quiet_fetch(self, remote_id: str) -> RemoteCampaign | None:
        try:
            return self.fetch(remote_id)
        except PostcliError:
            return None

    def _pause(self, attempt: int) -> None:
        backoff = getattr(self.api.retry, "backoff", 0.5)
        self._sleep(min(30.0, backoff * 2 ** (attempt - 1)))

    def _create(self, campaign: Campaign, name: str) -> str:
        """Create the draft; when the answer is lost, look for it by name before trying again."""
        for attempt in range(1, self.TRIES + 1):
            try:
                return self.create(campaign, name)
            except ProviderUnavailable:
                found = self.lookup(name, campaign)
                if found is not None:
                    log.info(
                        "%s: the answer to creating %s was lost; it exists as campaign %s",
                        self.name,
                        name,
                        found.remote_id,
                    )
                    return found.remote_id
                if attempt == self.TRIES:
                    raise
                self._pause(attempt)
        raise AssertionError("unreachable")

    def _until_done(
        self,
        act: Callable[[], None],
        remote_id: str,
        done: tuple[RemoteStatus, ...],
        *,
        gone: bool = False,
    ) -> None:
        """Run a send or schedule call; when its answer is lost, or it is refused after a retry,
        ask the campaign's status before deciding whether it went through."""
        for attempt in range(1, self.TRIES + 1):
            try:
                act()
                return
            except ProviderUnavailable:
                if self._reached(remote_id, done, gone=gone):
                    return
                if attempt == self.TRIES:
                    raise
                self._pause(attempt)
            except ProviderRefused:
                # A retried call the server had already carried out is refused the second
                # time ("already sent"): what counts is the state it left.
                if self._reached(remote_id, done, gone=gone):
                    return
                raise

    def _reached(
        self, remote_id: str, done: tuple[RemoteStatus, ...], *, gone: bool = False
    ) -> bool:
        """The campaign is in one of `done` (or, with `gone`, deleted) after all."""
        try:
            found = self.fetch(remote_id)
        except PostcliError:
            return False
        return (found is None and gone) or (found is not None and found.status in done)
