"""The HTTP client every HTTP provider uses: one `HttpClient` around an `httpx.Client`.

Owns timeouts, retries and what an HTTP failure means for postcli; the adapters own their API's
paths and payloads. Besides the adapters, this is the only module that imports httpx.

    api = HttpClient(
        provider="resend",
        base_url="https://api.resend.com",
        headers={"Authorization": f"Bearer {key}"},
        secrets=[key],
        client=client,            # an httpx.Client the caller passed in, or None to make one
    )
    sent = api.post("/emails", json=payload, idempotency_key=campaign.name).json()
    found = api.get(f"/broadcasts/{id}", allow=(404,))   # 404 comes back instead of raising

What a request can end in:

- a 2xx response (or a status listed in `allow`) is returned;
- 429, 500, 502, 503, 504, a timeout or a dropped connection is retried with exponential backoff
  and jitter, waiting what `Retry-After` asks for when the server says (seconds or an HTTP date);
  after `RetryPolicy.attempts` tries it is `ProviderUnavailable` (exit 4: run again later);
- any other 4xx is `ProviderRefused` (exit 3), with the provider's own error message.

A POST or PATCH is not idempotent: it is retried only where the server cannot have acted on it
(429, 503, a connection that never opened), unless it carries an idempotency key
(`idempotency_key=`, sent as the `Idempotency-Key` header, or under the client's
`idempotency_header`) or the caller says `retry_unsafe=True` because the adapter can tell a
repeat apart (by the campaign's stable name).

Secrets (API keys, tokens) given in `secrets`, and every secret postcli knows from the
environment, are replaced by `***` in every error message and log line, in every form they take
on the wire (`postcli.redact`), before any text is shortened. Headers are never logged.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from postcli import __version__
from postcli.errors import ProviderRefused, ProviderUnavailable

log = logging.getLogger("postcli.http")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Statuses that promise the server did nothing, so even a POST may be sent again.
SAFE_RETRY_STATUSES = frozenset({429, 503})
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
USER_AGENT = f"postcli/{__version__}"
DETAIL_CHARS = 300  # of the provider's own error text, in a message


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # tries in all, the first included
    backoff: float = 0.5  # seconds before the first retry; doubles each time
    max_delay: float = 30.0  # no computed wait is longer
    max_retry_after: float = 120.0  # a longer Retry-After gives up at once: run again later


class HttpClient:
    """Requests to one provider's API, with retries, redaction and postcli's errors."""

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        headers: Mapping[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        secrets: Iterable[str] = (),
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        hint: str | None = None,
        idempotency_header: str = "Idempotency-Key",
    ) -> None:
        self.provider = provider
        self.idempotency_header = idempotency_header  # Buttondown reads X-Idempotency-Key
        self.base_url = base_url.rstrip("/")
        self._headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        self._auth = auth
        from postcli.redact import Redactor

        logins = [auth] if isinstance(auth, tuple) else []
        self._redactor = Redactor.of(secrets, logins)  # the wire forms, computed once
        self._owns_client = client is None
        self._client = client or httpx.Client(
            transport=transport, timeout=timeout, follow_redirects=False
        )
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._jitter = jitter
        self._auth_hint = hint  # e.g. "check RESEND_API_KEY"

    def __repr__(self) -> str:  # never the headers: they hold the key
        return f"<HttpClient {self.provider} {self.base_url}>"

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- redaction ----------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """`text` with every secret of this client and of the environment replaced by ***."""
        from postcli.config import redactor

        return (self._redactor + redactor()).redact(text)

    # -- requests -----------------------------------------------------------------------------

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        allow: Collection[int] = (),
        idempotency_key: str | None = None,
        retry_unsafe: bool = False,
    ) -> httpx.Response:
        """Send one request, retrying what may be retried; see the module docstring."""
        method = method.upper()
        url = self.url(path)
        shown = self.redact(f"{method} {url}")
        merged = {**self._headers, **(headers or {})}
        if idempotency_key:
            merged[self.idempotency_header] = idempotency_key
        repeatable = method in IDEMPOTENT_METHODS or bool(idempotency_key) or retry_unsafe
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self._client.request(
                    method,
                    url,
                    json=json,
                    params=params,
                    headers=merged,
                    auth=self._auth or httpx.USE_CLIENT_DEFAULT,
                )
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                # A request that never reached the server may always go again.
                never_sent = isinstance(
                    exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
                )
                reason = self.redact(
                    f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                )
                log.debug("%s failed after %.2fs: %s", shown, time.monotonic() - started, reason)
                if (repeatable or never_sent) and attempt < self.retry.attempts:
                    self._wait(attempt, None, shown, reason)
                    continue
                raise ProviderUnavailable(
                    f"{self.provider}: {shown} failed: {reason}",
                    hint=self._tries(attempt) + "; run again later",
                ) from None
            log.debug("%s -> %d in %.2fs", shown, response.status_code, time.monotonic() - started)
            status = response.status_code
            if 200 <= status < 300 or status in allow:
                return response
            if status in RETRY_STATUSES:
                retry_after = _retry_after(response)
                safe = repeatable or status in SAFE_RETRY_STATUSES
                too_long = retry_after is not None and retry_after > self.retry.max_retry_after
                if safe and attempt < self.retry.attempts and not too_long:
                    self._wait(attempt, retry_after, shown, f"{status}")
                    continue
                wait_hint = f"; it asked to wait {retry_after:.0f}s" if retry_after else ""
                raise ProviderUnavailable(
                    f"{self.provider}: {shown} answered {status} {response.reason_phrase}"
                    f"{self._detail(response)}",
                    hint=self._tries(attempt) + wait_hint + "; run again later",
                )
            hint = None
            if status in (401, 403):
                hint = self._auth_hint or "check the provider's API key in the environment"
            raise ProviderRefused(
                f"{self.provider} refused {shown}: {status} {response.reason_phrase}"
                f"{self._detail(response)}",
                hint=hint,
            )

    def _tries(self, attempt: int) -> str:
        return f"tried {attempt} time{'s' if attempt > 1 else ''}"

    def _wait(self, attempt: int, retry_after: float | None, shown: str, reason: str) -> None:
        if retry_after is not None:
            delay = retry_after
        else:
            # Exponential backoff with "equal jitter": half fixed, half random, so retries from
            # several clients spread out but never come back at once.
            ceiling = min(self.retry.max_delay, self.retry.backoff * 2 ** (attempt - 1))
            delay = ceiling / 2 + self._jitter() * ceiling / 2
        log.info(
            "%s: %s; retrying in %.1fs (try %d of %d)",
            shown,
            reason,
            delay,
            attempt + 1,
            self.retry.attempts,
        )
        self._sleep(delay)

    def _detail(self, response: httpx.Response) -> str:
        """The provider's own words about the error, on one line, secrets removed."""
        try:
            response.read()
            text = response.text
        except httpx.HTTPError:
            return ""
        detail = text
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in ("message", "detail", "error", "errors", "title"):
                if data.get(key):
                    value = data[key]
                    detail = value if isinstance(value, str) else str(value)
                    break
            # Mailchimp puts a generic `detail` beside the field errors that say what is wrong.
            errors = data.get("errors")
            if isinstance(errors, list) and errors and detail != str(errors):
                detail += " " + "; ".join(
                    f"{e.get('field') or ''}: {e.get('message')}".lstrip(": ")
                    if isinstance(e, dict)
                    else str(e)
                    for e in errors
                )
        from postcli.config import redactor

        # Redact before anything reshapes or shortens the text: a cut through a key would
        # leave the key minus its last characters, which no redaction after it would know.
        redact = self._redactor + redactor()
        detail = redact.cut(" ".join(redact.redact(detail).split()), DETAIL_CHARS)
        return f": {detail}" if detail else ""


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (from seconds or an HTTP date), else `RateLimit-Reset` (beehiiv:
    epoch seconds; a small number is seconds from now); None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return _rate_limit_reset(response)
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import UTC, datetime

    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def _rate_limit_reset(response: httpx.Response) -> float | None:
    """`X-RateLimit-Reset` (SendGrid, Mailgun...) or `RateLimit-Reset` (beehiiv): a Unix time,
    or seconds from now when small."""
    value = (
        response.headers.get("X-RateLimit-Reset") or response.headers.get("RateLimit-Reset") or ""
    ).strip()
    try:
        reset = float(value)
    except ValueError:
        return None
    return max(0.0, reset - time.time()) if reset > 1e9 else max(0.0, reset)
