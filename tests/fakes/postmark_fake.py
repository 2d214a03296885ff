"""A fake Postmark Email API: `POST /email/batch` and `POST /email`, the way Postmark answers.

- Checks `X-Postmark-Server-Token` (401 with ErrorCode 10 otherwise) and validates every header
  set and body against tests/contracts/postmark/ (422 with ErrorCode 300, and a recorded
  violation, for anything the contract refuses, more than 500 messages included).
- A batch is answered 200 with one result per message, in order: ErrorCode 0 for each message it
  stores; 406 for a recipient marked inactive (`inactive`); 1235 for a message stream the
  server does not have; 429 for a recipient the fake throttles (`throttle_recipient`); a
  message without a personal List-Unsubscribe header is refused too (300).
- Faults from bulk_server: `status` (429 with Retry-After, 500, 503...), `delay`, `drop`.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any

import httpx

from fakes.bulk_server import BulkFake, Fault, Recorded, contract_errors

TOKEN = "pm-test-0a1b2c3d-4e5f-6789-abcd-ef0123456789"


@dataclass(frozen=True)
class Stored:
    to: str  # the bare address
    message: dict[str, Any]
    message_id: str  # Postmark's

    def header(self, name: str) -> str | None:
        for header in self.message.get("Headers") or []:
            if header["Name"].lower() == name.lower():
                return str(header["Value"])
        return None


class PostmarkFake(BulkFake):
    default_base_url = "http://postmark.fake.invalid"

    def __init__(self, *, token: str = TOKEN, streams: tuple[str, ...] = ("broadcast",)) -> None:
        super().__init__()
        self.token = token
        self.streams = streams
        self.messages: list[Stored] = []
        self.inactive: set[str] = set()
        self._throttled: dict[str, int] = {}
        self.batch_sizes: list[int] = []

    def throttle_recipient(self, address: str, times: int = 1) -> None:
        self._throttled[address.lower()] = times

    def status(
        self, times: int = 1, *, status: int, retry_after: int | None = None, **options: Any
    ) -> None:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        self.fault("status", times, status=status, headers=headers, **options)

    def count_by_recipient(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for stored in self.messages:
            counts[stored.to] = counts.get(stored.to, 0) + 1
        return counts

    def to(self, address: str) -> list[Stored]:
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
        if fault.status == 429:
            body = {"ErrorCode": 429, "Message": "Rate limit exceeded."}
        elif fault.status == 401:
            body = {
                "ErrorCode": 10,
                "Message": "Request does not contain a valid Server API token.",
            }
        else:
            body = {"ErrorCode": 500, "Message": "Internal Server Error"}
        return self._json(fault.status, body, fault.headers)

    def answer(self, record: Recorded, url: str) -> httpx.Response:
        if record.path not in ("/email", "/email/batch"):
            return self._json(404, {"ErrorCode": 404, "Message": "Not found"})
        if record.method != "POST":
            return self._json(405, {"ErrorCode": 405, "Message": "Method not allowed"})
        header_errors = contract_errors("postmark", "headers", record.headers)
        if (
            "x-postmark-server-token" not in record.headers
            or record.headers["x-postmark-server-token"] != self.token
        ):
            return self._json(
                401,
                {"ErrorCode": 10, "Message": "Request does not contain a valid Server API token."},
            )
        if header_errors:
            for where, message in header_errors:
                self.violation(record, where, message)
            return self._json(422, {"ErrorCode": 409, "Message": "JSON data required"})
        try:
            body = json.loads(record.raw)
        except ValueError:
            return self._json(422, {"ErrorCode": 402, "Message": "Invalid JSON"})
        contract = "batch" if record.path == "/email/batch" else "email"
        errors = contract_errors("postmark", contract, body)
        if errors:
            for where, message in errors:
                self.violation(record, where, message)
            return self._json(
                422, {"ErrorCode": 300, "Message": f"Invalid email request: {errors[0][1]}"}
            )
        if contract == "email":
            result = self._one(body)
            if result["ErrorCode"]:
                return self._json(
                    422, {"ErrorCode": result["ErrorCode"], "Message": result["Message"]}
                )
            return self._json(200, result)
        self.batch_sizes.append(len(body))
        return self._json(200, [self._one(message) for message in body])

    def _one(self, message: dict[str, Any]) -> dict[str, Any]:
        to = parseaddr(message["To"])[1].lower()
        now = datetime.now(UTC).isoformat()
        if message["MessageStream"] not in self.streams:
            return {
                "ErrorCode": 1235,
                "Message": f"The message stream '{message['MessageStream']}' was not found "
                "on this server.",
            }
        if to in self.inactive:
            return {
                "ErrorCode": 406,
                "Message": "You tried to send to recipient(s) that have been marked as "
                f"inactive. Inactive recipients: {to}.",
                "To": message["To"],
                "SubmittedAt": now,
            }
        left = self._throttled.get(to, 0)
        if left:
            self._throttled[to] = left - 1
            return {"ErrorCode": 429, "Message": "Rate limit exceeded.", "To": message["To"]}
        headers = {h["Name"].lower(): h["Value"] for h in message.get("Headers") or []}
        unsubscribe = headers.get("list-unsubscribe", "")
        if not unsubscribe.startswith("<") or to not in unsubscribe.lower().replace("%40", "@"):
            return {
                "ErrorCode": 300,
                "Message": "Invalid email request: no personal List-Unsubscribe",
            }
        stored = Stored(to, message, str(uuid.uuid4()))
        self.messages.append(stored)
        return {
            "ErrorCode": 0,
            "Message": "OK",
            "MessageID": stored.message_id,
            "SubmittedAt": now,
            "To": message["To"],
        }
