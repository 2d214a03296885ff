"""The `ses` provider: Amazon SES API v2, one personalised message per subscriber.

Per-recipient like `smtp`: the same subscribers file, ledger, resume and "possibly delivered
twice" rules (the loop is `postcli.send`'s). Each message is postcli's own MIME (`mime.py`: the
text and HTML parts, RFC 2047 headers, the personal List-Unsubscribe) sent unchanged as the Raw
content of one `SendEmail` call. The first delivery of a run asks `GetAccount` for the account's
`MaxSendRate`, and calls are paced to it (capped by `rate`); each call carries one recipient, so
none carries more than a second's worth. Throttling (HTTP 429 `TooManyRequestsException`, or
v1's `Throttling`) is waited out and retried, never dropped.

Requests are signed with botocore's SigV4 signer (the `postcli[ses]` extra) and carried by httpx;
credentials come from botocore's standard chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY /
AWS_SESSION_TOKEN, AWS_PROFILE and the shared files, SSO, roles). No key, token or signature is
ever put in a message, a log line or a file. See docs/providers/ses.md.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any, ClassVar

from postcli.errors import ConfigError, ProviderRefused
from postcli.providers._batch import BulkUnavailable
from postcli.providers._bulk import (
    BulkSettings,
    BulkTransport,
    Pacer,
    bulk_schema,
)
from postcli.providers._settings import require_unsubscribe_url
from postcli.providers.base import Accepted, Key, RecipientRefused, SettingsSchema

log = logging.getLogger("postcli.providers.ses")

SIGNING_NAME = "ses"  # the service model's signingName
SEND_PATH = "/v2/email/outbound-emails"  # SendEmail's requestUri
ACCOUNT_PATH = "/v2/email/account"  # GetAccount's requestUri
# Error codes that mean "slow down": v2's HTTP 429, and v1's (and some proxies') 400 Throttling.
THROTTLING = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException"})
# Refusals of one message: the rest of the list goes on.
PER_MESSAGE = frozenset({"MessageRejected", "BadRequestException"})
_TAG_SAFE_RE = re.compile(r"[^A-Za-z0-9_-]+")


def error_code(response: Any) -> str:
    """The AWS error code of an answer: `x-amzn-ErrorType` (rest-json), else the body's
    `__type` or `code`, without any namespace or URL."""
    code = str(response.headers.get("x-amzn-ErrorType", ""))
    if not code:
        with contextlib.suppress(ValueError, AttributeError):
            data = response.json()
            code = str(data.get("__type") or data.get("code") or data.get("Code") or "")
    return code.split(":")[0].rpartition("#")[2].strip()


def error_message(response: Any) -> str:
    with contextlib.suppress(ValueError, AttributeError):
        data = response.json()
        for key in ("message", "Message"):
            if data.get(key):
                return str(data[key])
    return str(response.text[:300])


def is_throttled(response: Any) -> bool:
    return response.status_code == 429 or (
        response.status_code == 400 and error_code(response) in THROTTLING
    )


def tag_value(text: str) -> str:
    """A message tag value: ASCII letters, digits, _ and - only, at most 256 characters."""
    return (_TAG_SAFE_RE.sub("-", text).strip("-") or "issue")[:256]


class _Signer:
    """botocore's SigV4 signer over the standard credential chain; the credentials live only
    here and are never shown (repr included)."""

    def __init__(self, region: str) -> None:
        try:
            import botocore.session
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest
        except ImportError:
            raise ConfigError(
                "the ses provider needs botocore, which is not installed",
                hint="pip install 'postcli[ses]'",
            ) from None
        # botocore logs the canonical request (the session token in it) and the signature at
        # DEBUG: never let `postcli -v` show them.
        logging.getLogger("botocore").setLevel(logging.WARNING)
        self._auth_class = SigV4Auth
        self._request_class = AWSRequest
        self.region = region
        session = botocore.session.get_session()
        try:
            self._credentials = session.get_credentials()
        except Exception as exc:  # botocore's chain raises its own kinds (a broken profile)
            raise ConfigError(
                f"cannot read the AWS credentials: {type(exc).__name__}",
                hint="check AWS_PROFILE and ~/.aws/credentials, or set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY",
            ) from None
        if self._credentials is None:
            raise ConfigError(
                "no AWS credentials found for the ses provider",
                hint="set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), "
                "or AWS_PROFILE, in the environment or .env; never in postcli.toml",
            )

    def __repr__(self) -> str:
        return f"<SigV4 signer {self.region}>"

    def secrets(self) -> list[str]:
        frozen = self._credentials.get_frozen_credentials()
        return [v for v in (frozen.secret_key, frozen.token, frozen.access_key) if v]

    def headers(self, method: str, url: str, body: bytes) -> dict[str, str]:
        """The headers of one signed request; signed anew for every try (they carry the time)."""
        request = self._request_class(
            method=method, url=url, data=body, headers={"Content-Type": "application/json"}
        )
        frozen = self._credentials.get_frozen_credentials()
        self._auth_class(frozen, SIGNING_NAME, self.region).add_auth(request)
        return dict(request.headers.items())


class _SesTransport(BulkTransport):
    """One run's channel to SES: GetAccount on the first delivery, then paced SendEmail calls."""

    def __init__(self, provider: SesProvider, issue_id: str) -> None:
        super().__init__(provider, issue_id)
        self._signer: _Signer | None = None
        self._pacer: Pacer | None = None

    def secrets(self) -> list[str]:
        self._signer = self._provider.signer()
        return self._signer.secrets()

    def _signed(self, method: str, path: str, body: bytes) -> Any:
        url = self._provider.endpoint + path
        caller = self.caller  # makes the signer too
        signer = self._signer
        assert signer is not None
        return caller.call(
            method,
            url,
            content=body or None,
            headers=lambda: signer.headers(method, url, body),
            throttled=is_throttled,
        )

    def _start(self) -> Pacer:
        """The account's sending rate, from GetAccount, capped by `rate`."""
        reply = self._signed("GET", ACCOUNT_PATH, b"")
        response = reply.response
        if response.status_code != 200:
            raise self.refused(response)
        account = response.json()
        quota = account.get("SendQuota") or {}
        account_rate = float(quota.get("MaxSendRate") or 1.0)
        rate = min(account_rate, self._provider.rate) if self._provider.rate else account_rate
        if account.get("SendingEnabled") is False:
            raise ProviderRefused(
                "ses: sending is paused for this account in this region",
                hint="see the SES console (reputation, account status); then run again",
            )
        if account.get("ProductionAccessEnabled") is False:
            log.warning(
                "ses: the account is in the SES sandbox: it sends only to verified addresses, "
                "at most %s a day",
                quota.get("Max24HourSend"),
            )
        log.info("ses: sending at %.1f messages a second (account: %.1f)", rate, account_rate)
        return Pacer(rate, sleep=self._provider.sleep, clock=self._provider.clock)

    def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> Accepted:
        """Send one message; `possibly_twice` when an earlier try of it may have gone through."""
        from postcli import mime

        if self._pacer is None:
            self._pacer = self._start()
        self._pacer.wait(1)
        request: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": [recipient]},
            "Content": {"Raw": {"Data": base64.b64encode(mime.as_bytes(message)).decode("ascii")}},
            "EmailTags": [{"Name": "postcli-issue", "Value": tag_value(self._issue_id)}],
        }
        if self._provider.configuration_set:
            request["ConfigurationSetName"] = self._provider.configuration_set
        body = json.dumps(request, separators=(",", ":")).encode("ascii")
        # BulkUnavailable passes through: with `maybe_delivered` the recipient stays 'sending'
        # (resent by the next run and reported), else 'pending'.
        reply = self._signed("POST", SEND_PATH, body)
        response = reply.response
        if 200 <= response.status_code < 300:
            return Accepted(possibly_twice=reply.maybe_twice)
        code = error_code(response)
        words = self.caller.redact(error_message(response))
        if code in PER_MESSAGE and not self._names_sender(words, sender):
            raise RecipientRefused(f"SES refused it: {code}: {words}", recipient=recipient)
        if code == "LimitExceededException":  # the day's quota: nothing lost, run again later
            raise BulkUnavailable(
                f"ses: the account's sending quota is used up: {words}",
                hint="run again later (cron will); nobody is skipped",
            )
        raise self.refused(response)

    @staticmethod
    def _names_sender(words: str, sender: str) -> bool:
        """A rejection about the From address (not verified) refuses every message alike."""
        return bool(sender) and sender.lower() in words.lower()

    def refused(self, response: Any) -> ProviderRefused:
        code = error_code(response) or str(response.status_code)
        words = error_message(response)
        hints = {
            "UnrecognizedClientException": "check the AWS credentials (AWS_ACCESS_KEY_ID...)",
            "InvalidSignatureException": "check AWS_SECRET_ACCESS_KEY",
            "SignatureDoesNotMatch": "check AWS_SECRET_ACCESS_KEY",
            "AccessDeniedException": "the credentials may not call ses:SendEmail",
            "NotFoundException": "check configuration_set in [providers.ses]",
            "MailFromDomainNotVerifiedException": "verify the From domain in SES",
            "AccountSuspendedException": "see the SES console: the account cannot send",
            "SendingPausedException": "see the SES console: sending is paused",
        }
        return self.caller.refused(
            response, f"{code}: {words}", hint=hints.get(code, "see docs/providers/ses.md")
        )


class SesProvider(BulkSettings, builtin="ses"):
    """Sends through Amazon SES API v2 (SendEmail with Raw content)."""

    settings_schema: ClassVar[SettingsSchema] = bulk_schema(
        region=Key((str,), must="an AWS region, like us-east-1"),
        configuration_set=Key((str,), must="its name"),
    )

    def __init__(
        self, settings: Any, *, clock: Callable[[], float] = time.monotonic, **kwargs: Any
    ) -> None:
        super().__init__(settings, **kwargs)  # client, rules, sleep: see BulkSettings
        self.clock = clock
        self.region_setting = self.text_option("region")
        if self.region_setting is not None and not re.fullmatch(
            r"[a-z]{2}(-[a-z]+)+-\d", self.region_setting
        ):
            raise self.invalid("region")
        self.configuration_set = self.text_option("configuration_set")

    @property
    def region(self) -> str:
        """The region: the setting, else AWS_REGION / AWS_DEFAULT_REGION / the profile's."""
        if self.region_setting:
            return self.region_setting
        try:
            import botocore.session

            found = botocore.session.get_session().get_config_variable("region")
        except Exception:  # botocore missing or a broken profile: validate() says which
            found = None
        return str(found) if found else ""

    @property
    def endpoint(self) -> str:
        """`base_url` wins over `region` (a proxy, a VPC endpoint, the tests' emulator)."""
        return self.base_url_setting or f"https://email.{self.region}.amazonaws.com"

    def signer(self) -> _Signer:
        return _Signer(self.region or "us-east-1")

    def validate(self) -> None:
        require_unsubscribe_url(self.settings, self.name)
        if not self.region and not self.base_url_setting:
            raise self.bad(
                "region",
                "[providers.ses] needs 'region' (or AWS_REGION in the environment)",
                hint='add region = "us-east-1" (the region where your SES identity is verified)',
            )
        self.signer()  # botocore installed, and credentials found

    def describe(self) -> str:
        where = self.base_url_setting or f"region {self.region}"
        extra = f", configuration set {self.configuration_set}" if self.configuration_set else ""
        return f"Amazon SES ({where}{extra})"

    def transport(self, issue_id: str) -> _SesTransport:
        return _SesTransport(self, issue_id)
