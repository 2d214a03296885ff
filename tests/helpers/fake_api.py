"""The machinery of the fake provider APIs (tests/fakes/<provider>.py), in process.

Each fake speaks the endpoints postcli's adapters use, the way the provider does: it checks the
auth header, validates every request body and query string against the JSON Schemas in
tests/contracts/ (an unknown field is an error, as a contract test wants), keeps state (created
emails, broadcasts or campaigns, their status and schedule), answers look-ups with the
provider's own pagination, and answers errors in the provider's own error shape. Every request
is recorded; every send, schedule and test send is a `Delivery`, so a test can count who would
have received what.

Use a fake in one of two ways:

    fake = ButtondownFake()
    client = httpx.Client(base_url=fake.base_url, transport=httpx.MockTransport(fake.handle))

    with serve(fake) as server:            # a real HTTP server on 127.0.0.1
        client = httpx.Client(base_url=server.base_url, timeout=0.5)

Fault knobs act on the next N matching requests (optionally only those whose method and path
match): `throttle` (429 with Retry-After), `fail` (500/503), `refuse` (401, 403, 422... in the
provider's error shape), `delay` (answer only after N seconds: a client whose timeout is shorter
sees a timeout, but the request took effect) and `drop` (the request takes effect, then the
connection closes without an answer). Status faults answer before the request is looked at, so
they change no state.

This module reads only tests/contracts/; it never touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar, Protocol

import httpx
from jsonschema import Draft202012Validator

CONTRACTS = Path(__file__).resolve().parent.parent / "contracts"
PROVIDERS = ("buttondown", "resend", "mailchimp", "listmonk")


# --- contracts ------------------------------------------------------------------------------


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


def schema_names(provider: str) -> list[str]:
    return sorted(p.stem for p in (CONTRACTS / provider).glob("*.json"))


# --- what the fakes record ------------------------------------------------------------------


@dataclass
class Recorded:
    """One request as the fake saw it. `path` is below the base URL (e.g. "/emails")."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any
    raw: bytes
    status: int | None = None  # the answer's status; None when the connection was dropped
    outcome: str = "answered"  # answered | dropped | late


@dataclass(frozen=True)
class Delivery:
    """Something that would reach readers: a send, a schedule, or a test send."""

    kind: str  # send | schedule | test
    object_id: str
    audience: Any  # the provider's own audience: email_type, segment id, list ids...
    at: datetime | None = None  # when scheduled; None for now
    recipients: tuple[str, ...] = ()  # test sends only


@dataclass
class Fault:
    kind: str  # status | drop | delay
    remaining: int
    status: int = 0
    retry_after: int | None = None
    seconds: float = 0.0
    message: str | None = None
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
    """How to answer: a response, or none at all (drop), possibly late."""

    response: httpx.Response | None
    delay: float = 0.0


class Answer(Exception):
    """Raised inside a route to answer at once (errors, mostly)."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


@dataclass(frozen=True)
class Route:
    method: str
    pattern: str
    handler: str
    body: str | None = None  # contract name for the JSON body
    query: str | None = None  # contract name for the query string
    idempotent: bool = False  # honours the provider's idempotency header


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def _parse_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


# --- the shared machinery -------------------------------------------------------------------


class FakeProvider:
    """What every fake shares: recording, faults, auth, contracts, routing, idempotency."""

    name: ClassVar[str]
    default_base_url: ClassVar[str]
    prefix: ClassVar[str] = ""  # the path of the base URL, e.g. "/v1"
    routes: ClassVar[tuple[Route, ...]]
    idempotency_header: ClassVar[str | None] = None
    unsubscribe_tag: ClassVar[str]
    rule_status: ClassVar[int] = 400  # the status of a broken business rule (past date...)

    def __init__(
        self,
        *,
        now: Callable[[], datetime] = _now,
        page_size: int = 20,
        require_unsubscribe: bool = True,
    ) -> None:
        self.now = now
        self.page_size = page_size
        self.require_unsubscribe = require_unsubscribe
        self.base_url = self.default_base_url
        self.requests: list[Recorded] = []
        self.deliveries: list[Delivery] = []
        self.violations: list[str] = []  # contract breaches seen, "METHOD path: field: message"
        self.faults: list[Fault] = []
        self.objects: dict[str, dict[str, Any]] = {}
        self._counter = 0
        self._idempotent: dict[str, tuple[str, int, Any]] = {}
        self._lock = threading.RLock()

    # -- fault knobs

    def throttle(
        self,
        times: int = 1,
        *,
        retry_after: int = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next `times` requests with 429 and a Retry-After of `retry_after` seconds."""
        self._add(Fault("status", times, 429, retry_after, method=method, path=path))

    def fail(
        self,
        times: int = 1,
        *,
        status: int = 503,
        retry_after: int | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next `times` requests with a server error (500, 502, 503...)."""
        self._add(Fault("status", times, status, retry_after, method=method, path=path))

    def refuse(
        self,
        times: int = 1,
        *,
        status: int = 422,
        message: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Refuse the next `times` requests (401, 403, 400, 422...) in the provider's shape."""
        self._add(Fault("status", times, status, message=message, method=method, path=path))

    def delay(
        self,
        times: int = 1,
        *,
        seconds: float = 1.0,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Carry out the next `times` requests but answer only after `seconds`."""
        self._add(Fault("delay", times, seconds=seconds, method=method, path=path))

    def drop(self, times: int = 1, *, method: str | None = "POST", path: str | None = None) -> None:
        """Carry out the next `times` matching requests, then close the connection unanswered.

        By default only POSTs (the creating calls) are dropped: the object exists afterwards,
        the client never learns its id."""
        self._add(Fault("drop", times, method=method, path=path))

    def _add(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    # -- looking at what happened

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        """Recorded requests, optionally only those with this method and a path matching."""
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method.upper())
                and (path is None or re.search(path, r.path))
            ]

    def sends(self, kind: str | None = None) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if kind is None or d.kind == kind]

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
        """Record, inject faults, then route the request; the server and the handler share it."""
        raw = request.read()
        full_path = request.url.path
        path = full_path[len(self.prefix) :] if full_path.startswith(self.prefix) else full_path
        query: dict[str, list[str]] = {}
        for key, value in request.url.params.multi_items():
            query.setdefault(key, []).append(value)
        headers = {k.lower(): v for k, v in request.headers.items()}
        body: Any = None
        body_error = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError as error:
                body_error = str(error)
        record = Recorded(request.method, path, query, headers, body, raw)
        with self._lock:
            self.requests.append(record)
            fault = next((f for f in self.faults if f.matches(request.method, path)), None)
            if fault is not None:
                fault.remaining -= 1
            if fault is not None and fault.kind == "status":
                extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after else {}
                response = self._error(fault.status, fault.message, extra_headers=extra)
            elif not full_path.startswith(self.prefix):
                response = self._error(404, f"No such path: {full_path}")
            else:
                response = self._dispatch(record, body_error)
            record.status = response.status_code
        if fault is not None and fault.kind == "drop":
            record.status, record.outcome = None, "dropped"
            return Outcome(None)
        if fault is not None and fault.kind == "delay":
            record.outcome = "late"
            return Outcome(response, delay=fault.seconds)
        return Outcome(response)

    # -- routing

    def _dispatch(self, record: Recorded, body_error: str | None) -> httpx.Response:
        try:
            self._check_headers(record)
            route, params = self._route(record)
            if body_error is not None:
                self._violation(record, "body", f"not JSON: {body_error}")
                raise Answer(*self._invalid([("body", "the body is not valid JSON")]))
            if record.raw and not record.headers.get("content-type", "").startswith(
                "application/json"
            ):
                self._violation(record, "content-type", "a JSON body needs application/json")
                raise Answer(*self._invalid([("content-type", "expected application/json")]))
            if route.body is not None:
                self._validate(record, route.body, record.body)
            elif record.raw:
                self._violation(record, "body", "this endpoint takes no body")
                raise Answer(*self._invalid([("body", "this endpoint takes no body")]))
            if route.query is not None:
                self._validate(record, route.query, self._query_instance(route.query, record))
            elif record.query:
                names = ", ".join(sorted(record.query))
                self._violation(record, "query", f"unexpected parameters: {names}")
                raise Answer(*self._invalid([("query", f"unexpected parameters: {names}")]))
            key = record.headers.get(self.idempotency_header or "") if route.idempotent else None
            fingerprint = hashlib.sha256(
                f"{record.method} {record.path}".encode() + record.raw
            ).hexdigest()
            if key is not None and key in self._idempotent:
                seen, status, answer = self._idempotent[key]
                if seen != fingerprint:
                    raise Answer(*self._idempotency_conflict())
                return self._response(status, copy.deepcopy(answer))
            saved = (copy.deepcopy(self.objects), list(self.deliveries), self._counter)
            try:
                status, answer = getattr(self, route.handler)(record, **params)
            except Answer:
                self.objects, self.deliveries, self._counter = saved  # all or nothing
                raise
            except ValueError as error:  # a well-formed but impossible date, say
                self.objects, self.deliveries, self._counter = saved
                raise Answer(*self._invalid([("", str(error))])) from error
            if key is not None and 200 <= status < 300:
                self._idempotent[key] = (fingerprint, status, copy.deepcopy(answer))
            return self._response(status, answer)
        except Answer as answer:
            return self._response(answer.status, answer.body, answer.headers)

    def _route(self, record: Recorded) -> tuple[Route, dict[str, str]]:
        path_known = False
        for route in self.routes:
            match = re.fullmatch(route.pattern, record.path)
            if match is None:
                continue
            path_known = True
            if route.method == record.method:
                return route, match.groupdict()
        if path_known:
            raise Answer(*self._error_body(405, f"{record.method} is not allowed here"))
        raise Answer(*self._error_body(404, f"No such endpoint: {record.path}"))

    def _validate(self, record: Recorded, contract: str, instance: Any) -> None:
        errors = contract_errors(self.name, contract, instance)
        if errors:
            for where, message in errors:
                self._violation(record, where, message)
            raise Answer(*self._invalid(errors))

    def _query_instance(self, contract: str, record: Recorded) -> dict[str, Any]:
        """The query as the contract sees it: arrays where it wants arrays, else one string."""
        properties = load_schema(self.name, contract).get("properties", {})
        instance: dict[str, Any] = {}
        for key, values in record.query.items():
            wants_array = properties.get(key, {}).get("type") == "array"
            instance[key] = values if wants_array or len(values) > 1 else values[0]
        return instance

    def _check_headers(self, record: Recorded) -> None:
        errors = contract_errors(self.name, "headers", record.headers)
        if any(where == "" or where == "authorization" for where, _ in errors):
            if "authorization" in record.headers:
                self._violation(record, "authorization", "malformed authorization header")
            raise Answer(*self._unauthorized(missing="authorization" not in record.headers))
        if errors:
            for where, message in errors:
                self._violation(record, where, message)
            raise Answer(*self._invalid(errors))
        if not self._authorized(record.headers["authorization"]):
            raise Answer(*self._unauthorized(missing=False))

    def _violation(self, record: Recorded, where: str, message: str) -> None:
        self.violations.append(f"{record.method} {record.path}: {where or '(root)'}: {message}")

    # -- answers

    def _response(
        self, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        if body is None:
            return httpx.Response(status, headers=headers)
        content = json.dumps(body, ensure_ascii=False).encode("utf-8")
        all_headers = {
            "Content-Type": self.error_content_type if status >= 400 else "application/json",
            **(headers or {}),
        }
        return httpx.Response(status, headers=all_headers, content=content)

    error_content_type: ClassVar[str] = "application/json"

    def _error(
        self,
        status: int,
        message: str | None = None,
        *,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        if status == 401 or status == 403:
            code, body = self._unauthorized(missing=False, status=status, message=message)
        elif status in (400, 422):
            code, body = self._invalid([("", message or "the request is not valid")], status=status)
        else:
            code, body = self._error_body(status, message)
        return self._response(code, body, extra_headers)

    def _new_id(self) -> int:
        self._counter += 1
        return self._counter

    def _get(self, object_id: str) -> dict[str, Any]:
        found = self.objects.get(object_id)
        if found is None:
            raise Answer(*self._error_body(404, None))
        return found

    def _check_unsubscribe(self, *texts: str | None) -> None:
        if not self.require_unsubscribe:
            return
        if not any(text and self.unsubscribe_tag in text for text in texts):
            raise Answer(
                *self._invalid(
                    [("body", f"the content has no unsubscribe link ({self.unsubscribe_tag})")],
                    status=self.rule_status,
                )
            )

    def _future(self, moment: datetime, field_name: str) -> None:
        if moment <= self.now():
            raise Answer(
                *self._invalid([(field_name, "the time must be in the future")], self.rule_status)
            )

    # Provider-specific answers -----------------------------------------------------------

    def _authorized(self, authorization: str) -> bool:
        raise NotImplementedError

    def _unauthorized(
        self, *, missing: bool, status: int | None = None, message: str | None = None
    ) -> tuple[int, Any]:
        raise NotImplementedError

    def _invalid(self, errors: list[tuple[str, str]], status: int | None = None) -> tuple[int, Any]:
        raise NotImplementedError

    def _error_body(self, status: int, message: str | None) -> tuple[int, Any]:
        raise NotImplementedError

    def _idempotency_conflict(self) -> tuple[int, Any]:
        return self._error_body(409, "This idempotency key was used with another request.")


def _page(items: list[Any], page: int, size: int) -> list[Any]:
    return items[(page - 1) * size : page * size]


# --- the real server ------------------------------------------------------------------------


class Served(Protocol):
    """What FakeServer needs of a fake: the HTTP providers' FakeProvider and the bulk
    senders' BulkFake (tests/fakes/bulk_server.py) both are one."""

    prefix: str
    base_url: str
    default_base_url: str

    def respond(self, request: httpx.Request) -> Any: ...


class FakeServer:
    """A fake provider behind a real HTTP/1.1 server on 127.0.0.1, on a free port."""

    def __init__(self, fake: Served) -> None:
        self.fake = fake
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, daemon=True, kwargs={"poll_interval": 0.05}
        )

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """The provider's base URL (its documented root) as served here."""
        return self.origin + self.fake.prefix

    def start(self) -> FakeServer:
        self._thread.start()
        self.fake.base_url = self.base_url
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self.fake.base_url = self.fake.default_base_url

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10  # idle keep-alive connections close after this

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                content = self.rfile.read(length) if length else b""
                request = httpx.Request(
                    self.command,
                    server.origin + self.path,
                    headers=[
                        (k, v)
                        for k, v in self.headers.items()
                        if k.lower() not in ("content-length", "transfer-encoding")
                    ],
                    content=content,
                )
                outcome = server.fake.respond(request)
                if outcome.response is None:
                    self.close_connection = True
                    with suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if outcome.delay and server._stopping.wait(outcome.delay):
                    self.close_connection = True
                    return
                response = outcome.response
                body = response.content
                try:
                    self.send_response(response.status_code)
                    for key, value in response.headers.multi_items():
                        if key.lower() not in ("content-length", "transfer-encoding"):
                            self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        return Handler


@contextmanager
def serve(fake: Served) -> Iterator[FakeServer]:
    """Run `fake` on 127.0.0.1 for the duration of a `with` block."""
    server = FakeServer(fake).start()
    try:
        yield server
    finally:
        server.stop()
