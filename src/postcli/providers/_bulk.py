"""What the bulk senders (`ses`, `postmark`, `mailgun`) share.

They are per-recipient providers like `smtp`: the same subscribers file, the same per-recipient
ledger and resume, the unsubscribe link from `newsletter.unsubscribe_url`. This module owns:

- reading their `[providers.<name>]` tables (unknown keys, `subscribers`, `rate`, `timeout`,
  `base_url`), each bad key reported with its line;
- `Pacer`, the rate cap: at most `rate` recipients a second, a call of N recipients taking N
  slots;
- `Caller`, one API call that knows whether the provider may have acted on it. None of these APIs
  takes an idempotency key, so an answer that was lost (a timeout or a dropped connection after
  the request went out, a 500/502/504) is retried but reported as `maybe_twice`; throttling (429,
  and whatever the adapter also counts as throttling) is waited out and retried, for as long as
  `patience` allows, never dropped; a 503 or a connection that never opened is retried as safe;
- the batch seam is `postcli.providers._batch` (no httpx there).

This module never touches the ledger or the rendering, and never logs a header.
"""

from __future__ import annotations

import logging
import random
import re
import time
from abc import abstractmethod
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from postcli.config import Settings
from postcli.errors import ProviderRefused
from postcli.model import Variant
from postcli.providers._batch import BulkUnavailable
from postcli.providers._settings import (
    ProviderTable,
    http_schema,
    require_unsubscribe_url,
    subscribers_path,
)
from postcli.providers.base import Accepted, Features, Key, SettingsSchema
from postcli.redact import Redactor

if TYPE_CHECKING:
    from postcli.subscribers import Subscriber

log = logging.getLogger("postcli.providers.bulk")

# Statuses after which the provider may have carried the request out, though it did not say so.
LOST_STATUSES = frozenset({500, 502, 504})
DEFAULT_TIMEOUT = 30.0


# -- settings ----------------------------------------------------------------------------------


def bulk_schema(**extra: Key) -> SettingsSchema:
    """The keys every bulk sender takes, with the provider's own."""
    return {
        "subscribers": Key((str,), must="the path of a CSV file"),
        "rate": Key((int, float), must="messages per second (0: no cap)"),
        **http_schema(),
        **extra,
    }


class BulkSettings(ProviderTable):
    """`[providers.<name>]` of a bulk sender, read and checked; the provider classes build on it.

    A subclass says how one run's transport is made (`transport`)."""

    features: ClassVar[Features] = Features(per_recipient=True)

    def __init__(
        self,
        settings: Settings,
        *,
        client: Any = None,
        rules: RetryRules | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(settings)
        self.client = client  # an httpx client to use (tests pass one); None: each run makes one
        self.rules = rules
        self.sleep = sleep
        self._subscribers_file: Path | None = subscribers_path(settings, self.name, self.options)
        if self._subscribers_file is None:
            raise self.bad(
                "subscribers",
                f"[providers.{self.name}] needs 'subscribers', the CSV of who gets mail",
            )
        rate = self.options.get("rate")
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0
        ):
            raise self.bad(
                "rate", f"'rate' in [providers.{self.name}] must be messages per second (0: no cap)"
            )
        self.rate: float | None = float(rate) if rate else None

    @property
    def subscribers_file(self) -> Path | None:
        return self._subscribers_file

    def close(self) -> None:
        """Each run's transport closes its own HTTP client; nothing is held between runs."""

    def text_option(self, key: str, *, required: bool = False, what: str = "") -> str | None:
        value = self.options.get(key)
        if value is None:
            if required:
                raise self.bad(key, f"[providers.{self.name}] needs '{key}'{what}")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.bad(key, f"'{key}' in [providers.{self.name}] must be text{what}")
        return value.strip()

    def validate(self) -> None:
        """The unsubscribe link and every secret variable (SES, whose credentials come from
        the AWS chain, checks its own)."""
        require_unsubscribe_url(self.settings, self.name)
        for variable in self.secret_variables:
            self.require_secret(variable)

    def subscribers(self) -> Collection[Subscriber]:
        from postcli.subscribers import read_subscribers

        assert self._subscribers_file is not None
        return read_subscribers(self._subscribers_file)

    def variant_copy(self, issue_id: str, variant: Any, message: Any) -> None:
        """Bulk senders keep no copy of their own; the ledger is the record."""

    @abstractmethod
    def transport(self, issue_id: str) -> BulkTransport:
        """A new transport for one run of `issue_id`."""

    @contextmanager
    def open_transport(
        self, issue_id: str, *, test_variant: Variant | None = None
    ) -> Iterator[BulkTransport]:
        transport = self.transport(issue_id)
        try:
            yield transport
        finally:
            transport.close()


# -- the rate cap ------------------------------------------------------------------------------


class BulkTransport:
    """What every bulk sender's per-run transport shares: its Caller, made on first use, counted
    and closed here; a subclass says which secrets the calls carry."""

    def __init__(self, provider: Any, issue_id: str) -> None:
        self._provider = provider  # the BulkSettings subclass this run sends for
        self._issue_id = issue_id
        self._caller: Caller | None = None

    @property
    def caller(self) -> Caller:
        if self._caller is None:
            p = self._provider
            self._caller = Caller(
                provider=p.name,
                client=p.client,
                timeout=p.timeout,
                secrets=self.secrets(),
                rules=p.rules,
                sleep=p.sleep,
            )
        return self._caller

    @abstractmethod
    def secrets(self) -> list[str]:
        """The secrets this run's calls carry, redacted from all they say."""

    @abstractmethod
    def refused(self, response: httpx.Response) -> ProviderRefused:
        """The provider's refusal of a whole call, in its own words, with a hint (exit 3)."""

    def accepted(self, reply: Reply) -> Accepted:
        """The answer to one message (a test copy): Accepted on a 200, else the refusal."""
        if reply.response.status_code != 200:
            raise self.refused(reply.response)
        return Accepted(possibly_twice=reply.maybe_twice)

    @property
    def calls(self) -> int:
        return self._caller.calls if self._caller else 0

    def close(self) -> None:
        if self._caller is not None:
            self._caller.close()


class BatchTransport(BulkTransport):
    """A bulk transport whose calls each carry up to `batch_limit` recipients (the provider's
    limit), paced by `[providers.NAME] rate`."""

    batch_limit: ClassVar[int]

    def __init__(self, provider: Any, issue_id: str) -> None:
        super().__init__(provider, issue_id)
        self._pacer = Pacer(provider.rate, sleep=provider.sleep)
        self.batch_size = self._pacer.per_call(self.batch_limit)


class Pacer:
    """At most `rate` recipients a second (None: no cap). A call for N recipients waits for N
    slots, so a batch never carries more than its share."""

    def __init__(
        self,
        rate: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate if rate and rate > 0 else None
        self._clock = clock
        self._sleep = sleep
        self._next: float | None = None

    def wait(self, count: int = 1) -> None:
        if self.rate is None:
            return
        now = self._clock()
        slot = now if self._next is None else max(self._next, now)
        if slot > now:
            self._sleep(slot - now)
        self._next = slot + count / self.rate

    def per_call(self, limit: int) -> int:
        """How many recipients one call may carry: `limit`, and no more than a second's worth."""
        if self.rate is None:
            return limit
        return max(1, min(limit, int(self.rate)))


# -- one careful call --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    response: httpx.Response
    maybe_twice: bool  # an earlier try of this call may have gone through too


@dataclass(frozen=True)
class RetryRules:
    attempts: int = 5  # tries after a 5xx or a lost answer, the first included
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_delay: float = 30.0
    patience: float = 900.0  # seconds of throttling waited out before "run again later"


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait, from `Retry-After` (seconds or an HTTP date) or `X-RateLimit-Reset`
    (a Unix time, or seconds when small); None when the answer does not say."""
    from postcli.providers._http import _retry_after

    found = _retry_after(response)
    if found is not None:
        return found
    # Mailgun says it in words: "... limit exceeded, try again after 120 seconds".
    match = _AFTER_RE.search(response.text[:500]) if response.status_code == 429 else None
    return float(match.group(1)) if match else None


_AFTER_RE = re.compile(r"try again after (\d+) seconds?")


def is_429(response: httpx.Response) -> bool:
    return response.status_code == 429


class Caller:
    """Makes API calls for one provider: retries, waits and redaction (see the module docstring).

    `client` is an httpx.Client the caller passed in (tests use a mock transport), or None to
    make one. Secrets in `secrets` and every secret of the environment are removed from every
    message."""

    def __init__(
        self,
        *,
        provider: str,
        client: httpx.Client | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        secrets: Iterable[str] = (),
        rules: RetryRules | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.provider = provider
        self._owns_client = client is None
        self._client = client or httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=False
        )
        self._secrets = [s for s in secrets if s]
        self.rules = rules or RetryRules()
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        self.calls = 0  # requests made, retries included (the benchmarks count them)

    def __repr__(self) -> str:
        return f"<Caller {self.provider}>"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def add_secret(self, value: str) -> None:
        if value and value not in self._secrets:
            self._secrets.append(value)

    def _redactor(self) -> Redactor:
        from postcli.config import redactor

        return Redactor.of(self._secrets) + redactor()

    def redact(self, text: str) -> str:
        return self._redactor().redact(text)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self.rules.max_delay, self.rules.backoff * 2.0 ** (attempt - 1))
        return ceiling / 2 + self._jitter() * ceiling / 2

    def call(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        data: Mapping[str, Any] | None = None,
        files: Any = None,
        headers: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
        auth: Any = None,
        throttled: Callable[[httpx.Response], bool] = is_429,
    ) -> Reply:
        """Send one request until it is answered; return the answer (2xx or 4xx) to the adapter.

        `headers` may be a callable, made again for every try (a SigV4 signature carries the
        time). Raises BulkUnavailable when the provider stays down, or throttles past
        `patience` seconds."""
        shown = self.redact(f"{method} {url}")
        form_type: dict[str, str] = {}
        if files is not None or data is not None:
            # Encoded once, to bytes: httpx would otherwise write a multipart body part by
            # part (a thousand small writes for a Mailgun batch), and encode it again per try.
            encoded = httpx.Request(method, url, data=data, files=files)
            content = encoded.read()
            form_type = {"Content-Type": encoded.headers["Content-Type"]}
        attempt = 0
        lost = False
        throttled_since: float | None = None
        while True:
            attempt += 1
            made = {**((headers() if callable(headers) else headers) or {}), **form_type}
            self.calls += 1
            try:
                response = self._client.request(
                    method,
                    url,
                    content=content,
                    headers=made,
                    auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
                )
                response.read()
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                never_sent = isinstance(
                    exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
                )
                lost = lost or not never_sent
                reason = self.redact(
                    f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                )
                if attempt < self.rules.attempts:
                    self._wait(self._backoff(attempt), shown, reason, attempt)
                    continue
                raise self._unavailable(f"{shown} failed: {reason}", attempt, lost) from None
            status = response.status_code
            if throttled(response):
                now = self._clock()
                throttled_since = now if throttled_since is None else throttled_since
                asked = retry_after(response)
                delay = asked if asked is not None else self._backoff(min(attempt, 8))
                if now - throttled_since + delay > self.rules.patience:
                    raise self._unavailable(
                        f"{shown} was throttled ({status}) for longer than "
                        f"{self.rules.patience:.0f}s",
                        attempt,
                        lost,
                    )
                self._wait(delay, shown, f"throttled ({status})", attempt)
                attempt -= 1  # throttling is waited out; it uses up no try
                continue
            if status == 503 or status in LOST_STATUSES:
                lost = lost or status in LOST_STATUSES
                if attempt < self.rules.attempts:
                    asked = retry_after(response)
                    delay = asked if asked is not None else self._backoff(attempt)
                    self._wait(min(delay, self.rules.patience), shown, str(status), attempt)
                    continue
                raise self._unavailable(
                    f"{shown} answered {status} {response.reason_phrase}", attempt, lost
                )
            return Reply(response, lost)

    def _wait(self, delay: float, shown: str, reason: str, attempt: int) -> None:
        log.info("%s: %s; retrying in %.1fs (try %d)", shown, reason, delay, attempt + 1)
        if delay > 0:
            self._sleep(delay)

    def _unavailable(self, message: str, attempt: int, lost: bool) -> BulkUnavailable:
        tries = f"tried {attempt} time{'s' if attempt > 1 else ''}"
        twice = (
            "; the last call may have gone through, and its recipients are resent by the next run"
            if lost
            else ""
        )
        return BulkUnavailable(
            f"{self.provider}: {message}",
            maybe_delivered=lost,
            hint=f"{tries}{twice}; run again later (nobody is skipped)",
        )

    def refused(
        self, response: httpx.Response, detail: str, hint: str | None = None
    ) -> ProviderRefused:
        """The provider refused the whole call: exit 3, its own words, no secret."""
        shown = self._redactor().cut(" ".join(detail.split()), 300)  # redacted before it is cut
        return ProviderRefused(
            self.redact(
                f"{self.provider} refused the call: {response.status_code} "
                f"{response.reason_phrase}: {shown}"
            ),
            hint=hint,
        )
