"""An Amazon SES API v2 emulator, written from botocore's own service model (`sesv2`).

- Routes every request by the model's `requestUri` and `method`; the operations postcli uses,
  `GetAccount` and `SendEmail`, are carried out, any other known operation answers 501.
- Validates the JSON body against the operation's input shape: types, required members, enums,
  lengths and ranges as the model states them, and no member the model does not know (stricter
  than AWS, which a contract test wants).
- Verifies the SigV4 signature of every request by computing it again with botocore's signer
  and the test credentials: the credential scope (date, region, service `ses`), the signed
  headers, the payload hash and the time (5 minutes of skew, as AWS allows).
- Stores each accepted message, the raw MIME parsed back (`SentMessage.message`), and refuses
  what SES refuses: 8-bit header bytes (a From display name must be RFC 2047-encoded), no From,
  unverified identities in the sandbox, more messages a second than `max_send_rate`.
- Faults: `throttle` (429 TooManyRequestsException), `fail` (500 InternalFailure, 503
  ServiceUnavailable), `delay`, `drop` (the message is accepted and stored, then the connection
  closes unanswered), `reject` (MessageRejected for chosen recipients).

Errors are answered the rest-json way: the status of the error shape, `x-amzn-ErrorType`, and a
body `{"message": ...}`. Only ever listens on 127.0.0.1 (see bulk_server.serve).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.loaders import Loader

from fakes.bulk_server import BulkFake, Fault, Recorded

ACCESS_KEY = "AKIAPOSTCLITEST7EXAMPLE"
SECRET_KEY = "pcTest/SecretKey+9f8e7d6c5b4a3210ZYXWVUTSRQ"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEPostcliTestSessionToken+/=="
REGION = "eu-west-1"
MAX_SKEW = 300.0  # seconds


@functools.cache
def service_model() -> dict[str, Any]:
    model: dict[str, Any] = Loader().load_service_model("sesv2", "service-2")
    return model


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    pattern: re.Pattern[str]
    input: str | None


@functools.cache
def operations() -> tuple[Operation, ...]:
    found = []
    for name, op in service_model()["operations"].items():
        uri = op["http"]["requestUri"].split("?")[0]
        regex = re.sub(r"\{([A-Za-z0-9]+)\+\}", r"(?P<\1>.+)", uri)
        regex = re.sub(r"\{([A-Za-z0-9]+)\}", r"(?P<\1>[^/]+)", regex)
        found.append(
            Operation(
                name, op["http"]["method"], re.compile(regex), (op.get("input") or {}).get("shape")
            )
        )
    return tuple(found)


def shape_errors(shape_name: str, value: Any, where: str = "") -> list[str]:
    """Every way `value` breaks the model's shape `shape_name` (the JSON body members only)."""
    shape = service_model()["shapes"][shape_name]
    kind = shape["type"]
    here = where or "(body)"
    if kind == "structure":
        if not isinstance(value, dict):
            return [f"{here}: expected an object"]
        errors = []
        members = {k: m for k, m in shape.get("members", {}).items() if "location" not in m}
        for key in shape.get("required", []):
            if key in members and key not in value:
                errors.append(f"{where + '.' if where else ''}{key}: required")
        for key, item in value.items():
            if key not in members:
                errors.append(f"{where + '.' if where else ''}{key}: not a member of {shape_name}")
                continue
            errors += shape_errors(
                members[key]["shape"], item, f"{where + '.' if where else ''}{key}"
            )
        return errors
    if kind == "list":
        if not isinstance(value, list):
            return [f"{here}: expected a list"]
        errors = _bounds(shape, len(value), here, "items")
        for number, item in enumerate(value):
            errors += shape_errors(shape["member"]["shape"], item, f"{where}[{number}]")
        return errors
    if kind == "map":
        if not isinstance(value, dict):
            return [f"{here}: expected an object"]
        errors = []
        for key, item in value.items():
            errors += shape_errors(shape["key"]["shape"], key, f"{where}<key>")
            errors += shape_errors(shape["value"]["shape"], item, f"{where}.{key}")
        return errors
    if kind == "string":
        if not isinstance(value, str):
            return [f"{here}: expected a string"]
        errors = _bounds(shape, len(value), here, "characters")
        if "enum" in shape and value not in shape["enum"]:
            errors.append(f"{here}: '{value}' is not one of {shape['enum']}")
        return errors
    if kind == "blob":
        if not isinstance(value, str):
            return [f"{here}: expected base64 text"]
        try:
            base64.b64decode(value, validate=True)
        except binascii.Error:
            return [f"{here}: not valid base64"]
        return []
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            return [f"{here}: expected an integer"]
        return _bounds(shape, value, here, "")
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return [f"{here}: expected a number"]
        return []
    if kind == "boolean":
        return [] if isinstance(value, bool) else [f"{here}: expected true or false"]
    if kind == "timestamp":
        return [] if isinstance(value, int | float | str) else [f"{here}: expected a time"]
    return [f"{here}: unknown shape type {kind}"]


def _bounds(shape: dict[str, Any], size: int, where: str, unit: str) -> list[str]:
    errors = []
    if "min" in shape and size < shape["min"]:
        errors.append(f"{where}: at least {shape['min']} {unit}".rstrip())
    if "max" in shape and size > shape["max"]:
        errors.append(f"{where}: at most {shape['max']} {unit}".rstrip())
    return errors


@dataclass(frozen=True)
class SentMessage:
    ses_id: str
    to: tuple[str, ...]
    from_address: str | None
    raw: bytes
    message: EmailMessage  # the raw MIME parsed back
    configuration_set: str | None
    tags: dict[str, str]

    @property
    def text(self) -> str:
        part = self.message.get_body(preferencelist=("plain",))
        return part.get_content() if part is not None else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        return part.get_content() if part is not None else ""


class SesError(Exception):
    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        shape = service_model()["shapes"].get(code, {})
        self.status = status or shape.get("error", {}).get("httpStatusCode", 400)


@dataclass
class Signature:
    access_key: str
    signature: str
    signed_headers: list[str] = field(default_factory=list)


class SesEmulator(BulkFake):
    """SES v2 on 127.0.0.1 (see the module docstring)."""

    default_base_url = "http://ses.emulator.invalid"

    def __init__(
        self,
        *,
        region: str = REGION,
        credentials: dict[str, tuple[str, str | None]] | None = None,
        max_send_rate: float = 200.0,
        enforce_rate: bool = False,
        sandbox: bool = False,
        verified: tuple[str, ...] = (),
        sending_enabled: bool = True,
    ) -> None:
        super().__init__()
        self.region = region
        self.credentials = credentials or {ACCESS_KEY: (SECRET_KEY, None)}
        self.max_send_rate = max_send_rate
        self.enforce_rate = enforce_rate
        self.sandbox = sandbox
        self.verified = tuple(v.lower() for v in verified)
        self.sending_enabled = sending_enabled
        self.messages: list[SentMessage] = []
        self.rejected: dict[str, str] = {}  # address -> reason, for `reject`
        self.signatures: list[Signature] = []
        self.throttled = 0  # 429s answered for the rate, faults aside
        self._sent_at: list[float] = []

    # -- knobs

    def throttle(
        self, times: int = 1, *, code: str = "TooManyRequestsException", **options: Any
    ) -> None:
        status = 429 if code == "TooManyRequestsException" else 400
        self.fault(
            "status", times, status=status, body=(code, "Maximum sending rate exceeded."), **options
        )

    def fail(self, times: int = 1, *, status: int = 500, **options: Any) -> None:
        code = "InternalFailure" if status == 500 else "ServiceUnavailable"
        self.fault(
            "status",
            times,
            status=status,
            body=(code, "We encountered an internal error."),
            **options,
        )

    def reject(self, address: str, reason: str = "Address blacklisted.") -> None:
        self.rejected[address.lower()] = reason

    # -- looking at what happened

    def to(self, address: str) -> list[SentMessage]:
        return [m for m in self.messages if address.lower() in (a.lower() for a in m.to)]

    def count_by_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for message in self.messages:
            for address in message.to:
                counts[address.lower()] = counts.get(address.lower(), 0) + 1
        return counts

    # -- answering

    def fault_response(self, fault: Fault, record: Recorded) -> httpx.Response:
        code, message = fault.body
        return self._error(SesError(code, message, fault.status))

    def answer(self, record: Recorded, url: str) -> httpx.Response:
        try:
            self._verify_signature(record, url)
            operation, params = self._route(record)
            body: Any = {}
            if record.raw:
                try:
                    body = json.loads(record.raw)
                except ValueError:
                    raise SesError("BadRequestException", "The body is not JSON.") from None
            if operation.input:
                errors = shape_errors(operation.input, body)
                if errors:
                    for error in errors:
                        self.violation(record, "", error)
                    raise SesError("BadRequestException", "; ".join(errors))
            handler = getattr(self, f"op_{operation.name}", None)
            if handler is None:
                raise SesError("NotImplemented", f"{operation.name} is not emulated", 501)
            return self._json(200, handler(body, **params))
        except SesError as error:
            return self._error(error)

    def _route(self, record: Recorded) -> tuple[Operation, dict[str, str]]:
        known_path = False
        for operation in operations():
            match = operation.pattern.fullmatch(record.path)
            if match is None:
                continue
            known_path = True
            if operation.method == record.method:
                return operation, match.groupdict()
        if known_path:
            raise SesError("MethodNotAllowed", f"{record.method} is not allowed here", 405)
        raise SesError("UnknownOperationException", f"no operation at {record.path}", 404)

    def _verify_signature(self, record: Recorded, url: str) -> None:
        header = record.headers.get("authorization", "")
        match = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
            r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})",
            header,
        )
        if match is None:
            raise SesError(
                "MissingAuthenticationTokenException", "Missing Authentication Token", 403
            )
        access_key, day, region, service, signed, signature = match.groups()
        self.signatures.append(Signature(access_key, signature, signed.split(";")))
        if access_key not in self.credentials:
            raise SesError(
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
                403,
            )
        secret, token = self.credentials[access_key]
        if service != "ses" or region != self.region:
            raise SesError(
                "InvalidSignatureException",
                f"Credential should be scoped to a valid region ({self.region}) and service (ses).",
                403,
            )
        amz_date = record.headers.get("x-amz-date", "")
        try:
            moment = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise SesError(
                "IncompleteSignatureException", "X-Amz-Date is missing or malformed.", 403
            ) from None
        if amz_date[:8] != day:
            raise SesError(
                "InvalidSignatureException", "Credential date does not match X-Amz-Date.", 403
            )
        if abs(time.time() - moment.timestamp()) > MAX_SKEW:
            raise SesError("InvalidSignatureException", "Signature expired.", 403)
        names = signed.split(";")
        if "host" not in names or "x-amz-date" not in names:
            raise SesError(
                "IncompleteSignatureException", "host and x-amz-date must be signed.", 403
            )
        if token is not None and record.headers.get("x-amz-security-token") != token:
            raise SesError("UnrecognizedClientException", "The security token is invalid.", 403)
        missing = [n for n in names if n not in record.headers]
        if missing:
            raise SesError(
                "IncompleteSignatureException", f"signed headers missing: {missing}", 403
            )
        # Again with botocore's signer, from what arrived, with the test credentials.
        request = AWSRequest(
            method=record.method,
            url=url,
            data=record.raw,
            headers={name: record.headers[name] for name in names},
        )
        request.context["timestamp"] = amz_date
        auth = SigV4Auth(Credentials(access_key, secret, token), "ses", self.region)
        canonical = auth.canonical_request(request)
        expected = auth.signature(auth.string_to_sign(request, canonical), request)
        if expected != signature:
            raise SesError(
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
                403,
            )

    # -- the operations

    def op_GetAccount(self, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": not self.sandbox,
            "SendQuota": {
                "Max24HourSend": 200.0 if self.sandbox else 1_000_000.0,
                "MaxSendRate": self.max_send_rate,
                "SentLast24Hours": float(len(self.messages)),
            },
            "SendingEnabled": self.sending_enabled,
        }

    def op_SendEmail(self, body: dict[str, Any]) -> dict[str, Any]:
        content = body["Content"]
        if "Raw" not in content:
            raise SesError("BadRequestException", "postcli sends Raw content only (emulator).")
        raw = base64.b64decode(content["Raw"]["Data"])
        head = raw.split(b"\r\n\r\n", 1)[0]
        if not head.isascii():
            raise SesError(
                "BadRequestException",
                "Illegal header: non-ASCII characters must be encoded (RFC 2047).",
            )
        from_address = body.get("FromEmailAddress")
        if from_address is not None and not from_address.isascii():
            raise SesError("BadRequestException", "FromEmailAddress must be ASCII (RFC 2047).")
        message = message_from_bytes(raw, policy=email_policy.default)
        assert isinstance(message, EmailMessage)
        if message["From"] is None:
            raise SesError("MessageRejected", "Missing required header 'From'.")
        to = tuple(body.get("Destination", {}).get("ToAddresses") or ())
        if not to:
            to = tuple(a.addr_spec for a in message["To"].addresses) if message["To"] else ()
        if not to:
            raise SesError("MessageRejected", "Missing final '@domain'")
        sender = from_address or message["From"].addresses[0].addr_spec
        if self.verified and not self._verified(sender):
            raise SesError(
                "MessageRejected",
                "Email address is not verified. The following identities failed the check in "
                f"region {self.region.upper()}: {sender}",
            )
        if not self.sending_enabled:
            raise SesError("SendingPausedException", "Sending is paused for this account.")
        for address in to:
            if address.lower() in self.rejected:
                raise SesError("MessageRejected", self.rejected[address.lower()])
            if self.sandbox and not self._verified(address):
                raise SesError(
                    "MessageRejected",
                    "Email address is not verified. The following identities failed the check "
                    f"in region {self.region.upper()}: {address}",
                )
        if self.enforce_rate:
            now = time.monotonic()
            self._sent_at = [t for t in self._sent_at if now - t < 1.0]
            if len(self._sent_at) >= self.max_send_rate:
                self.throttled += 1
                raise SesError("TooManyRequestsException", "Maximum sending rate exceeded.")
            self._sent_at.append(now)
        ses_id = f"0100{uuid.uuid4().hex}-000000"
        tags = {t["Name"]: t["Value"] for t in body.get("EmailTags") or []}
        self.messages.append(
            SentMessage(
                ses_id, to, from_address, raw, message, body.get("ConfigurationSetName"), tags
            )
        )
        return {"MessageId": ses_id}

    def _verified(self, address: str) -> bool:
        address = address.lower()
        return address in self.verified or address.rpartition("@")[2] in self.verified

    # -- answers

    def _json(self, status: int, body: Any) -> httpx.Response:
        return httpx.Response(
            status,
            headers={"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())},
            content=json.dumps(body).encode(),
        )

    def _error(self, error: SesError) -> httpx.Response:
        return httpx.Response(
            error.status,
            headers={
                "Content-Type": "application/json",
                "x-amzn-ErrorType": f"{error.code}:http://internal.amazon.com/coral/com.amazon.ses/",
                "x-amzn-RequestId": str(uuid.uuid4()),
            },
            content=json.dumps({"message": error.message}).encode(),
        )


def host_of(url: str) -> str:
    return urlsplit(url).netloc
