"""A fake Mailgun messages API: `POST /v3/{domain}/messages` (batch sending with
recipient-variables) and `POST /v3/{domain}/messages.mime`, the way Mailgun answers.

- Checks HTTP Basic `api:KEY` (401 "Forbidden" otherwise) and the domain (404), parses the
  multipart/form-data body and validates every field against tests/contracts/mailgun/ (400 with
  Mailgun's `{"message": ...}`, and a recorded violation).
- Fans a batch out as Mailgun does: one message per `to`, with every `%recipient.NAME%` in the
  subject, the bodies and the `h:` headers replaced from that recipient's variables; a variable
  left unresolved, a recipient missing from recipient-variables, or a List-Unsubscribe that is
  not the recipient's own is a violation (and a 400).
- Answers 200 `{"id", "message": "Queued. Thank you."}`; faults from bulk_server (`status` with
  Retry-After, or Mailgun's "try again after N seconds" wording; `delay`; `drop`).
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from dataclasses import dataclass
from email import message_from_bytes
from email import policy as email_policy
from email.utils import parseaddr
from typing import Any

import httpx

from fakes.bulk_server import BulkFake, Fault, Recorded, contract_errors

API_KEY = "key-postcli-test-5f4e3d2c1b0a99887766"
DOMAIN = "mg.example.com"
_VARIABLE_RE = re.compile(r"%recipient\.([A-Za-z0-9_]+)%")


@dataclass(frozen=True)
class Fanned:
    """One message Mailgun would deliver."""

    to: str  # the bare address
    subject: str
    html: str
    text: str
    headers: dict[str, str]  # h: fields, personalised, by their header name
    batch_id: str
    mime: bytes | None = None  # for messages.mime


def parse_form(content_type: str, raw: bytes) -> dict[str, list[str]]:
    """multipart/form-data -> {name: [values]} (files decoded as UTF-8 text)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = message_from_bytes(head + raw, policy=email_policy.HTTP)
    fields: dict[str, list[str]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        fields.setdefault(str(name), []).append(payload.decode("utf-8"))
    return fields


class MailgunFake(BulkFake):
    default_base_url = "http://mailgun.fake.invalid"

    def __init__(self, *, api_key: str = API_KEY, domain: str = DOMAIN) -> None:
        super().__init__()
        self.api_key = api_key
        self.domain = domain
        self.messages: list[Fanned] = []
        self.batch_sizes: list[int] = []

    def status(
        self,
        times: int = 1,
        *,
        status: int,
        retry_after: int | None = None,
        words: bool = False,
        **options: Any,
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None and not words else {}
        body = (
            f"Domain {self.domain} is not allowed to send: account-requests-per-sec limit "
            f"exceeded, try again after {retry_after} seconds"
            if words
            else None
        )
        self.fault("status", times, status=status, headers=headers, body=body, **options)

    def count_by_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for message in self.messages:
            counts[message.to] = counts.get(message.to, 0) + 1
        return counts

    def to(self, address: str) -> list[Fanned]:
        return [m for m in self.messages if m.to == address.lower()]

    # -- answers

    def _json(
        self, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return httpx.Response(
            status,
            headers={"Content-Type": "application/json", **(headers or {})},
            content=json.dumps(body).encode(),
        )

    def fault_response(self, fault: Fault, record: Recorded) -> httpx.Response:
        words = fault.body or {429: "Too many requests", 500: "Internal Server Error"}.get(
            fault.status, "Service Unavailable"
        )
        return self._json(fault.status, {"message": words}, fault.headers)

    def _authorized(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        try:
            user, _, key = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return user == "api" and key == self.api_key

    def answer(self, record: Recorded, url: str) -> httpx.Response:
        match = re.fullmatch(r"/v3/([^/]+)/(messages|messages\.mime)", record.path)
        if match is None:
            return self._json(404, {"message": "Not Found"})
        if record.method != "POST":
            return self._json(405, {"message": "Method Not Allowed"})
        if not self._authorized(record.headers.get("authorization", "")):
            return httpx.Response(401, content=b"Forbidden")
        for where, message in contract_errors("mailgun", "headers", record.headers):
            self.violation(record, where, message)
            return self._json(400, {"message": f"bad request: {where}: {message}"})
        domain, endpoint = match.groups()
        if domain != self.domain:
            return self._json(404, {"message": f"Domain not found: {domain}"})
        fields = parse_form(record.headers["content-type"], record.raw)
        contract = "messages" if endpoint == "messages" else "messages_mime"
        errors = contract_errors("mailgun", contract, fields)
        if errors:
            for where, message in errors:
                self.violation(record, where, message)
            return self._json(400, {"message": f"{errors[0][0]}: {errors[0][1]}"})
        batch_id = f"<{uuid.uuid4().hex}@{self.domain}>"
        if endpoint == "messages.mime":
            raw = fields["message"][0].encode("utf-8")
            parsed = message_from_bytes(raw, policy=email_policy.default)
            for to in fields["to"]:
                self.messages.append(
                    Fanned(
                        parseaddr(to)[1].lower(), str(parsed["Subject"]), "", "", {}, batch_id, raw
                    )
                )
            return self._json(200, {"id": batch_id, "message": "Queued. Thank you."})
        try:
            variables = json.loads(fields["recipient-variables"][0])
        except ValueError:
            return self._json(400, {"message": "recipient-variables is not valid JSON"})
        fanned = []
        for to in fields["to"]:
            address = parseaddr(to)[1]
            if not address or "@" not in address:
                return self._json(
                    400,
                    {"message": "to parameter is not a valid address. please check documentation"},
                )
            own = variables.get(address)
            if own is None:
                self.violation(record, "recipient-variables", f"no variables for {address}")
                return self._json(400, {"message": f"recipient-variables has no {address}"})

            def fill(text: str, own: dict[str, Any] = own) -> str:
                return _VARIABLE_RE.sub(lambda m: str(own.get(m.group(1), m.group(0))), text)

            headers = {k[2:]: fill(v[0]) for k, v in fields.items() if k.startswith("h:")}
            message = Fanned(
                address.lower(),
                fill(fields["subject"][0]),
                fill(fields["html"][0]),
                fill(fields["text"][0]),
                headers,
                batch_id,
            )
            left = [
                t
                for t in (message.subject, message.html, message.text, *headers.values())
                if "%recipient." in t
            ]
            if left:
                self.violation(
                    record, "recipient-variables", f"unresolved for {address}: {left[0][:80]}"
                )
                return self._json(400, {"message": "unresolved recipient variable"})
            unsubscribe = headers.get("List-Unsubscribe", "")
            if address.lower() not in unsubscribe.lower().replace("%40", "@"):
                self.violation(record, "h:List-Unsubscribe", f"not personal for {address}")
                return self._json(400, {"message": "List-Unsubscribe is not the recipient's"})
            fanned.append(message)
        self.messages += fanned
        self.batch_sizes.append(len(fanned))
        return self._json(200, {"id": batch_id, "message": "Queued. Thank you."})
