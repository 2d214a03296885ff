"""What the bulk senders' fakes share (the SES emulator, the Postmark and Mailgun fakes): the
record of every request, the fault knobs, and two ways to reach a fake — in process through
`httpx.MockTransport(fake.handle)`, or behind a real HTTP/1.1 server on 127.0.0.1 (`serve`).

Fault knobs act on the next N matching requests (by method and a path regex):
`status` (answer with a status the fake shapes as its provider would, before looking at the
request, so nothing changes), `delay` (carry the request out, answer only after N seconds),
`drop` (carry it out, then close the connection unanswered). Only 127.0.0.1 is ever listened on.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from helpers.fake_api import FakeServer, serve

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"


@functools.cache
def load_schema(provider: str, name: str) -> dict[str, Any]:
    """The contract tests/contracts/<provider>/<name>.json."""
    path = CONTRACTS / provider / f"{name}.json"
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@functools.cache
def _validator(provider: str, name: str) -> Draft202012Validator:
    schema = load_schema(provider, name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def contract_errors(provider: str, name: str, instance: Any) -> list[tuple[str, str]]:
    """Every way `instance` breaks the contract, as (field path, message); empty if it holds."""
    errors = sorted(
        _validator(provider, name).iter_errors(instance), key=lambda e: list(map(str, e.path))
    )
    return [(".".join(str(p) for p in error.absolute_path), error.message) for error in errors]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    raw: bytes
    status: int | None = None  # None: the connection was dropped
    outcome: str = "answered"  # answered | dropped | late


@dataclass
class Fault:
    kind: str  # status | drop | delay
    remaining: int
    status: int = 0
    seconds: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    method: str | None = None
    path: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.remaining <= 0:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path is None or re.search(self.path, path) is not None


@dataclass
class Outcome:
    response: httpx.Response | None  # None: drop the connection
    delay: float = 0.0


class BulkFake:
    """Recording, faults and the two entry points; subclasses implement `answer(record)` and
    `fault_response(fault)`."""

    default_base_url = "http://fake.invalid"
    prefix = ""  # the API's documented root is the server's own

    def __init__(self) -> None:
        self.base_url = self.default_base_url
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self.lock = threading.RLock()

    # -- knobs

    def fault(self, kind: str, times: int = 1, **options: Any) -> None:
        with self.lock:
            self.faults.append(Fault(kind, times, **options))

    def delay(self, times: int = 1, *, seconds: float = 1.0, **options: Any) -> None:
        self.fault("delay", times, seconds=seconds, **options)

    def drop(self, times: int = 1, **options: Any) -> None:
        self.fault("drop", times, **options)

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self.lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (path is None or re.search(path, r.path))
            ]

    # -- entry points

    def handle(self, request: httpx.Request) -> httpx.Response:
        """The httpx.MockTransport handler."""
        outcome = self.respond(request)
        if outcome.response is None:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        if outcome.delay:
            timeout = request.extensions.get("timeout", {}).get("read")
            if timeout is not None and outcome.delay >= timeout:
                raise httpx.ReadTimeout("The read operation timed out", request=request)
            threading.Event().wait(outcome.delay)
        return outcome.response

    def respond(self, request: httpx.Request) -> Outcome:
        raw = request.read()
        query: dict[str, list[str]] = {}
        for key, value in request.url.params.multi_items():
            query.setdefault(key, []).append(value)
        headers = {k.lower(): v for k, v in request.headers.items()}
        record = Recorded(request.method, request.url.path, query, headers, raw)
        with self.lock:
            self.requests.append(record)
            fault = next((f for f in self.faults if f.matches(record.method, record.path)), None)
            if fault is not None:
                fault.remaining -= 1
            if fault is not None and fault.kind == "status":
                response = self.fault_response(fault, record)
            else:
                response = self.answer(record, str(request.url))
            record.status = response.status_code
        if fault is not None and fault.kind == "drop":
            record.status, record.outcome = None, "dropped"
            return Outcome(None)
        if fault is not None and fault.kind == "delay":
            record.outcome = "late"
            return Outcome(response, delay=fault.seconds)
        return Outcome(response)

    def violation(self, record: Recorded, where: str, message: str) -> None:
        self.violations.append(f"{record.method} {record.path}: {where or '(root)'}: {message}")

    # -- for subclasses

    def answer(self, record: Recorded, url: str) -> httpx.Response:
        raise NotImplementedError

    def fault_response(self, fault: Fault, record: Recorded) -> httpx.Response:
        raise NotImplementedError


# The fake runs behind the HTTP providers' test server: one handler for every fake.
LocalServer = FakeServer
__all__ = ["LocalServer", "serve"]
