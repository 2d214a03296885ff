"""Fake Buttondown, Resend, Mailchimp and listmonk APIs, in process, for provider tests.

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

import base64
import binascii
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
from typing import Any, ClassVar

import httpx
from jsonschema import Draft202012Validator

CONTRACTS = Path(__file__).resolve().parent / "contracts"
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


# --- Buttondown -----------------------------------------------------------------------------


class ButtondownFake(FakeProvider):
    """Buttondown's /v1 emails API: drafts, publish (now or at publish_date), send-draft."""

    name = "buttondown"
    default_base_url = "https://api.buttondown.com/v1"
    prefix = "/v1"
    idempotency_header = "x-idempotency-key"
    unsubscribe_tag = "{{ unsubscribe_url }}"
    routes = (
        Route("POST", r"/emails", "create", body="create_email", idempotent=True),
        Route("GET", r"/emails", "lookup", query="list_emails_query"),
        Route("GET", r"/emails/(?P<email_id>[^/]+)", "retrieve"),
        Route(
            "PATCH", r"/emails/(?P<email_id>[^/]+)", "update", body="update_email", idempotent=True
        ),
        Route(
            "POST",
            r"/emails/(?P<email_id>[^/]+)/publish",
            "publish",
            body="publish",
            idempotent=True,
        ),
        Route(
            "POST",
            r"/emails/(?P<email_id>[^/]+)/send-draft",
            "send_draft",
            body="send_draft",
            idempotent=True,
        ),
    )

    def __init__(self, *, api_key: str = "test-buttondown-key", **options: Any) -> None:
        super().__init__(**options)
        self.api_key = api_key

    @property
    def emails(self) -> dict[str, dict[str, Any]]:
        return self.objects

    # auth and errors, as Buttondown (a Django REST Framework API) answers them

    def _authorized(self, authorization: str) -> bool:
        return authorization == f"Token {self.api_key}"

    def _unauthorized(
        self, *, missing: bool, status: int | None = None, message: str | None = None
    ) -> tuple[int, Any]:
        default = "Authentication credentials were not provided." if missing else "Invalid token."
        return status or 401, {"detail": message or default}

    def _invalid(self, errors: list[tuple[str, str]], status: int | None = None) -> tuple[int, Any]:
        if status == 400:
            fields = " ".join(where for where, _ in errors)
            code = (
                "publish_date_invalid"
                if "publish_date" in fields
                else "body_invalid"
                if "body" in fields
                else "status_invalid"
            )
            return 400, {"code": code, "detail": "; ".join(m for _, m in errors), "metadata": {}}
        detail = [
            {
                "type": "value_error",
                "loc": ["body", *where.split(".")] if where else ["body"],
                "msg": message,
            }
            for where, message in errors
        ]
        return status or 422, {"detail": detail}

    def _error_body(self, status: int, message: str | None) -> tuple[int, Any]:
        defaults = {
            404: "Not found.",
            405: "Method not allowed.",
            409: "Conflict.",
            429: "Request was throttled.",
            500: "Internal server error.",
        }
        return status, {"detail": message or defaults.get(status, "Service unavailable.")}

    # routes

    def create(self, record: Recorded) -> tuple[int, Any]:
        data = record.body
        status = data.get("status", "about_to_send")  # Buttondown's default: send at once
        if status not in ("draft", "scheduled", "about_to_send"):
            raise Answer(*self._invalid([("status", f"cannot create an email as {status}")], 400))
        number = self._new_id()
        email_id = f"em_0{number:025d}"
        stamp = _iso(self.now())
        email = {
            "id": email_id,
            "creation_date": stamp,
            "modification_date": stamp,
            "publish_date": data.get("publish_date"),
            "subject": data["subject"],
            "body": data.get("body", ""),
            "description": data.get("description", ""),
            "email_type": data.get("email_type", "public"),
            "status": "draft",
            "metadata": data.get("metadata", {}),
            "filters": data.get("filters", {"filters": [], "groups": [], "predicate": "and"}),
            "slug": data.get("slug"),
            "secondary_id": number,
            "source": "api",
            "absolute_url": f"https://buttondown.com/archive/{email_id}",
        }
        self._set_status(email, status, data.get("publish_date"))
        self.objects[email_id] = email
        return 201, email

    def lookup(self, record: Recorded) -> tuple[int, Any]:
        query = record.query
        found = list(self.objects.values())
        if "status" in query:
            found = [e for e in found if e["status"] in query["status"]]
        if "-status" in query:
            found = [e for e in found if e["status"] not in query["-status"]]
        if "email_type" in query:
            found = [e for e in found if e["email_type"] in query["email_type"]]
        if "ids" in query:
            found = [e for e in found if e["id"] in query["ids"]]
        if "subject" in query:
            needle = query["subject"][0].casefold()
            found = [e for e in found if needle in e["subject"].casefold()]
        ordering = query.get("ordering", ["creation_date"])[0]
        key = ordering.lstrip("-")
        found.sort(
            key=lambda e: (e.get(key) or "", e["secondary_id"]), reverse=ordering.startswith("-")
        )
        page = int(query.get("page", ["1"])[0])
        pages = max(1, -(-len(found) // self.page_size))
        if page > pages:
            raise Answer(*self._error_body(404, "Invalid page."))
        url = httpx.URL(self.base_url + "/emails").copy_merge_params(
            [(k, v) for k, vs in query.items() if k != "page" for v in vs]
        )
        return 200, {
            "results": _page(found, page, self.page_size),
            "count": len(found),
            "next": str(url.copy_add_param("page", str(page + 1))) if page < pages else None,
            "previous": str(url.copy_add_param("page", str(page - 1))) if page > 1 else None,
        }

    def retrieve(self, record: Recorded, email_id: str) -> tuple[int, Any]:
        return 200, self._get(email_id)

    def update(self, record: Recorded, email_id: str) -> tuple[int, Any]:
        email = self._get(email_id)
        if email["status"] not in ("draft", "scheduled"):
            raise Answer(
                *self._invalid([("status", f"the email is already {email['status']}")], 400)
            )
        data = {k: v for k, v in record.body.items() if v is not None}
        status = data.pop("status", None)
        publish_date = data.pop("publish_date", None)
        email.update(data)
        email["modification_date"] = _iso(self.now())
        if publish_date == "none":
            email["publish_date"] = None
            if email["status"] == "scheduled":
                self._drop_schedule(email)
                email["status"] = "draft"
        elif publish_date is not None:
            email["publish_date"] = publish_date
        if status is not None and status != email["status"]:
            if email["status"] == "scheduled":
                self._drop_schedule(email)
                email["status"] = "draft"
            self._set_status(email, status, email["publish_date"])
        return 200, email

    def publish(self, record: Recorded, email_id: str) -> tuple[int, Any]:
        email = self._get(email_id)
        if email["status"] != "draft":
            raise Answer(
                *self._invalid([("status", f"the email is already {email['status']}")], 400)
            )
        data = {k: v for k, v in record.body.items() if v is not None}
        publish_date = data.pop("publish_date", None)
        email.update(data)
        if publish_date is not None:  # a past date is refused, not taken as "now"
            self._set_status(email, "scheduled", publish_date)
        else:
            self._set_status(email, "about_to_send", None)
        return 200, email

    def send_draft(self, record: Recorded, email_id: str) -> tuple[int, Any]:
        email = self._get(email_id)
        recipients = tuple(record.body.get("recipients") or record.body.get("subscribers"))
        self.deliveries.append(Delivery("test", email_id, email["email_type"], None, recipients))
        return 200, None

    def _set_status(self, email: dict[str, Any], status: str, publish_date: str | None) -> None:
        if status == "scheduled":
            if not publish_date:
                raise Answer(
                    400,
                    {
                        "code": "publish_date_missing",
                        "detail": "A scheduled email needs a publish_date.",
                        "metadata": {},
                    },
                )
            moment = _parse_time(publish_date)
            self._future(moment, "publish_date")
            self._check_unsubscribe(email["body"])
            email["publish_date"] = _iso(moment)
            self.deliveries.append(Delivery("schedule", email["id"], email["email_type"], moment))
        elif status == "about_to_send":
            self._check_unsubscribe(email["body"])
            email["publish_date"] = _iso(self.now())
            self.deliveries.append(Delivery("send", email["id"], email["email_type"]))
        email["status"] = status

    def _drop_schedule(self, email: dict[str, Any]) -> None:
        self.deliveries = [
            d for d in self.deliveries if not (d.kind == "schedule" and d.object_id == email["id"])
        ]


# --- Resend ---------------------------------------------------------------------------------


class ResendFake(FakeProvider):
    """Resend's broadcasts (create, update, send or schedule, list) and POST /emails for tests."""

    name = "resend"
    default_base_url = "https://api.resend.com"
    prefix = ""
    idempotency_header = "idempotency-key"
    unsubscribe_tag = "{{{RESEND_UNSUBSCRIBE_URL}}}"
    rule_status = 422
    routes = (
        Route("POST", r"/broadcasts", "create", body="create_broadcast"),
        Route("GET", r"/broadcasts", "lookup", query="list_broadcasts_query"),
        Route("GET", r"/broadcasts/(?P<broadcast_id>[^/]+)", "retrieve"),
        Route("PATCH", r"/broadcasts/(?P<broadcast_id>[^/]+)", "update", body="update_broadcast"),
        Route("POST", r"/broadcasts/(?P<broadcast_id>[^/]+)/send", "send", body="send_broadcast"),
        Route("POST", r"/emails", "send_email", body="send_email", idempotent=True),
    )

    def __init__(
        self, *, api_key: str = "re_test_key", segments: set[str] | None = None, **options: Any
    ) -> None:
        super().__init__(**options)
        self.api_key = api_key
        self.segments = segments  # None: any segment id exists

    @property
    def broadcasts(self) -> dict[str, dict[str, Any]]:
        return self.objects

    def _authorized(self, authorization: str) -> bool:
        return authorization == f"Bearer {self.api_key}"

    def _unauthorized(
        self, *, missing: bool, status: int | None = None, message: str | None = None
    ) -> tuple[int, Any]:
        if missing:
            status, name = status or 401, "missing_api_key"
            message = message or "Missing API key in the authorization header"
        else:
            status, name = status or 403, "invalid_api_key"
            message = message or "API key is invalid"
        return status, {"statusCode": status, "name": name, "message": message}

    def _invalid(self, errors: list[tuple[str, str]], status: int | None = None) -> tuple[int, Any]:
        status = status or 422
        message = "; ".join(f"{w}: {m}" if w else m for w, m in errors)
        return status, {"statusCode": status, "name": "validation_error", "message": message}

    def _error_body(self, status: int, message: str | None) -> tuple[int, Any]:
        names = {
            404: ("not_found", "The requested endpoint does not exist."),
            405: ("method_not_allowed", "Method is not allowed for the requested path."),
            409: (
                "invalid_idempotent_request",
                "Same idempotency key used with a different request payload.",
            ),
            429: (
                "rate_limit_exceeded",
                "Too many requests. Please limit the number of requests per second.",
            ),
            500: ("internal_server_error", "An unexpected error occurred."),
        }
        name, default = names.get(status, ("application_error", "Service unavailable."))
        return status, {"statusCode": status, "name": name, "message": message or default}

    def _segment(self, data: dict[str, Any]) -> str:
        segment = data.get("segment_id") or data.get("audience_id")
        if self.segments is not None and segment not in self.segments:
            raise Answer(
                404, {"statusCode": 404, "name": "not_found", "message": "Segment not found"}
            )
        return str(segment)

    def create(self, record: Recorded) -> tuple[int, Any]:
        data = record.body
        segment = self._segment(data)
        number = self._new_id()
        broadcast_id = f"00000000-0000-4000-8000-{number:012d}"
        broadcast = {
            "object": "broadcast",
            "id": broadcast_id,
            "name": data.get("name", ""),
            "segment_id": segment,
            "audience_id": segment,
            "from": data["from"],
            "subject": data["subject"],
            "reply_to": data.get("reply_to"),
            "preview_text": data.get("preview_text"),
            "html": data.get("html"),
            "text": data.get("text"),
            "status": "draft",
            "created_at": _iso(self.now()),
            "scheduled_at": None,
            "sent_at": None,
            "_number": number,
        }
        if data.get("send"):
            self._send(broadcast, data.get("scheduled_at"))
        self.objects[broadcast_id] = broadcast
        return 201, {"id": broadcast_id, "object": "broadcast"}

    def lookup(self, record: Recorded) -> tuple[int, Any]:
        limit = int(record.query.get("limit", ["20"])[0])
        ordered = sorted(self.objects.values(), key=lambda b: b["_number"], reverse=True)
        ids = [b["id"] for b in ordered]
        if "after" in record.query or "before" in record.query:
            cursor = (record.query.get("after") or record.query["before"])[0]
            if cursor not in ids:
                raise Answer(*self._invalid([("after", "unknown cursor")]))
            at = ids.index(cursor)
            if "after" in record.query:
                window = ordered[at + 1 : at + 1 + limit]
                has_more = at + 1 + limit < len(ordered)
            else:
                window = ordered[max(0, at - limit) : at]
                has_more = at - limit > 0
        else:
            window, has_more = ordered[:limit], len(ordered) > limit
        summary = (
            "id",
            "name",
            "audience_id",
            "segment_id",
            "status",
            "created_at",
            "scheduled_at",
            "sent_at",
        )
        data = [{k: b[k] for k in summary} for b in window]
        return 200, {"object": "list", "has_more": has_more, "data": data}

    def retrieve(self, record: Recorded, broadcast_id: str) -> tuple[int, Any]:
        broadcast = self._get(broadcast_id)
        return 200, {k: v for k, v in broadcast.items() if not k.startswith("_")}

    def update(self, record: Recorded, broadcast_id: str) -> tuple[int, Any]:
        broadcast = self._get(broadcast_id)
        if broadcast["status"] != "draft":
            raise Answer(*self._invalid([("status", "only a draft broadcast can be updated")]))
        data = dict(record.body)
        if "segment_id" in data or "audience_id" in data:
            broadcast["segment_id"] = broadcast["audience_id"] = self._segment(data)
            data.pop("segment_id", None)
            data.pop("audience_id", None)
        broadcast.update(data)
        return 200, {"id": broadcast_id, "object": "broadcast"}

    def send(self, record: Recorded, broadcast_id: str) -> tuple[int, Any]:
        broadcast = self._get(broadcast_id)
        if broadcast["status"] != "draft":
            raise Answer(*self._invalid([("status", f"the broadcast is {broadcast['status']}")]))
        self._send(broadcast, record.body.get("scheduled_at"))
        return 200, {"id": broadcast_id}

    def _send(self, broadcast: dict[str, Any], scheduled_at: str | None) -> None:
        self._check_unsubscribe(broadcast.get("html"), broadcast.get("text"))
        if scheduled_at:
            moment = _parse_time(scheduled_at)
            if moment <= self.now():
                raise Answer(*self._invalid([("scheduled_at", "must be in the future")]))
            broadcast["status"], broadcast["scheduled_at"] = "scheduled", _iso(moment)
            self.deliveries.append(
                Delivery("schedule", broadcast["id"], broadcast["segment_id"], moment)
            )
        else:
            broadcast["status"], broadcast["sent_at"] = "queued", _iso(self.now())
            self.deliveries.append(Delivery("send", broadcast["id"], broadcast["segment_id"]))

    def send_email(self, record: Recorded) -> tuple[int, Any]:
        data = record.body
        to = data["to"] if isinstance(data["to"], list) else [data["to"]]
        email_id = f"00000000-0000-4000-9000-{self._new_id():012d}"
        self.deliveries.append(Delivery("test", email_id, None, None, tuple(to)))
        return 200, {"id": email_id}


# --- Mailchimp ------------------------------------------------------------------------------


class MailchimpFake(FakeProvider):
    """Mailchimp Marketing API 3.0 campaigns: create, content, schedule, send, test, look up."""

    name = "mailchimp"
    default_base_url = "https://us21.api.mailchimp.com/3.0"
    prefix = "/3.0"
    unsubscribe_tag = "*|UNSUB|*"
    error_content_type = "application/problem+json"
    routes = (
        Route("POST", r"/campaigns", "create", body="create_campaign"),
        Route("GET", r"/campaigns", "lookup", query="list_campaigns_query"),
        Route("GET", r"/campaigns/(?P<campaign_id>[^/]+)", "retrieve"),
        Route("PATCH", r"/campaigns/(?P<campaign_id>[^/]+)", "update", body="update_campaign"),
        Route(
            "PUT", r"/campaigns/(?P<campaign_id>[^/]+)/content", "set_content", body="set_content"
        ),
        Route(
            "POST",
            r"/campaigns/(?P<campaign_id>[^/]+)/actions/schedule",
            "schedule",
            body="schedule",
        ),
        Route(
            "POST",
            r"/campaigns/(?P<campaign_id>[^/]+)/actions/unschedule",
            "unschedule",
            body="send",
        ),
        Route("POST", r"/campaigns/(?P<campaign_id>[^/]+)/actions/send", "send", body="send"),
        Route("POST", r"/campaigns/(?P<campaign_id>[^/]+)/actions/test", "test", body="test"),
        Route("GET", r"/search-campaigns", "search", query="search_campaigns_query"),
    )

    def __init__(
        self,
        *,
        api_key: str = "0123456789abcdef0123456789abcdef-us21",
        lists: set[str] | None = None,
        segments: set[int] | None = None,
        page_size: int = 10,
        **options: Any,
    ) -> None:
        super().__init__(page_size=page_size, **options)
        self.api_key = api_key
        self.lists = lists  # None: any list id exists
        self.segments = segments  # None: any segment or tag id exists

    @property
    def campaigns(self) -> dict[str, dict[str, Any]]:
        return self.objects

    def _authorized(self, authorization: str) -> bool:
        try:
            decoded = base64.b64decode(authorization.split(" ", 1)[1], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, IndexError):
            return False
        _, _, password = decoded.partition(":")
        return password == self.api_key

    def _problem(self, status: int, title: str, detail: str, **extra: Any) -> tuple[int, Any]:
        return status, {
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": f"00000000-0000-4000-a000-{len(self.requests):012d}",
            **extra,
        }

    def _unauthorized(
        self, *, missing: bool, status: int | None = None, message: str | None = None
    ) -> tuple[int, Any]:
        if missing:
            return self._problem(
                status or 401,
                "API Key Missing",
                message or "Your request did not include an API key.",
            )
        return self._problem(
            status or 401,
            "API Key Invalid",
            message
            or "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
        )

    def _invalid(self, errors: list[tuple[str, str]], status: int | None = None) -> tuple[int, Any]:
        return self._problem(
            status or 400,
            "Invalid Resource",
            "The resource submitted could not be validated. For field-specific details, see the "
            "'errors' array.",
            errors=[{"field": where, "message": message} for where, message in errors],
        )

    def _error_body(self, status: int, message: str | None) -> tuple[int, Any]:
        titles = {
            400: "Bad Request",
            404: "Resource Not Found",
            405: "Method Not Allowed",
            409: "Conflict",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }
        defaults = {
            404: "The requested resource could not be found.",
            429: "You have exceeded the limit of 10 simultaneous connections.",
        }
        return self._problem(
            status,
            titles.get(status, "Error"),
            message or defaults.get(status, "An unexpected error occurred."),
        )

    def _check_recipients(self, recipients: dict[str, Any]) -> None:
        if self.lists is not None and recipients["list_id"] not in self.lists:
            raise Answer(*self._error_body(404, "The requested list could not be found."))
        options = recipients.get("segment_opts", {})
        ids = [options["saved_segment_id"]] if "saved_segment_id" in options else []
        ids += [c["value"] for c in options.get("conditions", [])]
        if self.segments is not None and any(i not in self.segments for i in ids):
            raise Answer(*self._invalid([("recipients.segment_opts", "no such segment or tag")]))

    def _public(self, campaign: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in campaign.items() if not k.startswith("_")}

    def create(self, record: Recorded) -> tuple[int, Any]:
        data = record.body
        self._check_recipients(data["recipients"])
        number = self._new_id()
        campaign_id = f"{number:010x}"
        campaign = {
            "id": campaign_id,
            "web_id": number,
            "type": data["type"],
            "create_time": _iso(self.now()),
            "status": "save",
            "emails_sent": 0,
            "send_time": "",
            "content_type": "html",
            "recipients": {**data["recipients"], "list_name": "Newsletter"},
            "settings": {"title": "", **data["settings"]},
            "tracking": data.get("tracking", {}),
            "_content": {},
        }
        self.objects[campaign_id] = campaign
        return 200, self._public(campaign)

    def _listing(self, found: list[dict[str, Any]], query: dict[str, list[str]]) -> list[Any]:
        field_name = query.get("sort_field", ["create_time"])[0]
        descending = query.get("sort_dir", ["ASC"])[0] == "DESC"
        found.sort(key=lambda c: (c[field_name] or "", c["web_id"]), reverse=descending)
        return found

    def lookup(self, record: Recorded) -> tuple[int, Any]:
        query = record.query
        found = list(self.objects.values())
        for key in ("status", "type"):
            if key in query:
                found = [c for c in found if c[key] == query[key][0]]
        if "list_id" in query:
            found = [c for c in found if c["recipients"]["list_id"] == query["list_id"][0]]
        if "since_create_time" in query:
            since = _parse_time(query["since_create_time"][0])
            found = [c for c in found if _parse_time(c["create_time"]) >= since]
        found = self._listing(found, query)
        count = int(query.get("count", [str(self.page_size)])[0])
        offset = int(query.get("offset", ["0"])[0])
        return 200, {
            "campaigns": [self._public(c) for c in found[offset : offset + count]],
            "total_items": len(found),
            "_links": [],
        }

    def search(self, record: Recorded) -> tuple[int, Any]:
        needle = record.query["query"][0].casefold()
        found = [
            c
            for c in self.objects.values()
            if needle in c["settings"].get("title", "").casefold()
            or needle in c["settings"].get("subject_line", "").casefold()
        ]
        results = [{"campaign": self._public(c), "snippet": ""} for c in found]
        return 200, {"results": results, "total_items": len(results), "_links": []}

    def retrieve(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        return 200, self._public(self._get(campaign_id))

    def _editable(self, campaign: dict[str, Any]) -> None:
        if campaign["status"] not in ("save", "paused"):
            raise Answer(
                *self._error_body(
                    400, f"This campaign cannot be changed: its status is {campaign['status']}."
                )
            )

    def update(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        self._editable(campaign)
        if "recipients" in record.body:
            self._check_recipients(record.body["recipients"])
            campaign["recipients"].update(record.body["recipients"])
        campaign["settings"].update(record.body["settings"])
        return 200, self._public(campaign)

    def set_content(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        self._editable(campaign)
        campaign["_content"] = dict(record.body)
        content = campaign["_content"]
        return 200, {
            "html": content.get("html", ""),
            "plain_text": content.get("plain_text", ""),
            "_links": [],
        }

    def _ready(self, campaign: dict[str, Any]) -> None:
        html = campaign["_content"].get("html")
        if not html:
            raise Answer(*self._error_body(400, "Your Campaign is not ready to send."))
        self._check_unsubscribe(html)

    def _audience(self, campaign: dict[str, Any]) -> Any:
        recipients = campaign["recipients"]
        options = recipients.get("segment_opts", {})
        segment = options.get("saved_segment_id")
        if segment is None and options.get("conditions"):
            segment = tuple(c["value"] for c in options["conditions"])
        return (recipients["list_id"], segment)

    def schedule(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        if campaign["status"] != "save":
            raise Answer(
                *self._error_body(
                    400, f"This campaign cannot be scheduled: its status is {campaign['status']}."
                )
            )
        self._ready(campaign)
        moment = _parse_time(record.body["schedule_time"])
        if moment.minute % 15 or moment.second or moment.microsecond:
            raise Answer(
                *self._invalid(
                    [
                        (
                            "schedule_time",
                            "Schedule time must be on the quarter-hour (:00, :15, :30, :45).",
                        )
                    ]
                )
            )
        self._future(moment, "schedule_time")
        campaign["status"], campaign["send_time"] = "schedule", _iso(moment)
        self.deliveries.append(Delivery("schedule", campaign_id, self._audience(campaign), moment))
        return 204, None

    def unschedule(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        if campaign["status"] != "schedule":
            raise Answer(*self._error_body(400, "This campaign is not scheduled."))
        campaign["status"], campaign["send_time"] = "save", ""
        self.deliveries = [
            d for d in self.deliveries if not (d.kind == "schedule" and d.object_id == campaign_id)
        ]
        return 204, None

    def send(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        if campaign["status"] != "save":
            raise Answer(
                *self._error_body(
                    400, f"This campaign cannot be sent: its status is {campaign['status']}."
                )
            )
        self._ready(campaign)
        campaign["status"], campaign["send_time"] = "sending", _iso(self.now())
        self.deliveries.append(Delivery("send", campaign_id, self._audience(campaign)))
        return 204, None

    def test(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        self._ready(campaign)
        recipients = tuple(record.body["test_emails"])
        self.deliveries.append(
            Delivery("test", campaign_id, self._audience(campaign), None, recipients)
        )
        return 204, None


# --- listmonk -------------------------------------------------------------------------------


class ListmonkFake(FakeProvider):
    """A listmonk server's /api/campaigns: create, update, status, test, and query."""

    name = "listmonk"
    default_base_url = "https://lists.example.com"
    prefix = ""
    routes = (
        Route("POST", r"/api/campaigns", "create", body="create_campaign"),
        Route("GET", r"/api/campaigns", "lookup", query="list_campaigns_query"),
        Route("GET", r"/api/campaigns/(?P<campaign_id>\d+)", "retrieve"),
        Route("PUT", r"/api/campaigns/(?P<campaign_id>\d+)", "update", body="update_campaign"),
        Route(
            "PUT",
            r"/api/campaigns/(?P<campaign_id>\d+)/status",
            "update_status",
            body="update_status",
        ),
        Route("POST", r"/api/campaigns/(?P<campaign_id>\d+)/test", "test", body="test"),
    )
    unsubscribe_pattern = re.compile(r"\{\{\s*UnsubscribeURL\s*\}\}")
    unsubscribe_tag = "{{ UnsubscribeURL }}"

    def __init__(
        self,
        *,
        api_user: str = "postcli",
        api_token: str = "test-listmonk-token",
        lists: dict[int, str] | None = None,
        subscribers: set[str] | None = None,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self.api_user = api_user
        self.api_token = api_token
        self.lists = lists  # None: any list id exists
        self.subscribers = subscribers  # None: every address is a subscriber

    @property
    def campaigns(self) -> dict[str, dict[str, Any]]:
        return self.objects

    def _authorized(self, authorization: str) -> bool:
        pair = f"{self.api_user}:{self.api_token}"
        if authorization.startswith("token "):
            return authorization[len("token ") :] == pair
        try:
            return base64.b64decode(authorization.split(" ", 1)[1], validate=True).decode() == pair
        except (binascii.Error, UnicodeDecodeError, IndexError):
            return False

    def _unauthorized(
        self, *, missing: bool, status: int | None = None, message: str | None = None
    ) -> tuple[int, Any]:
        return status or 403, {"message": message or "invalid API credentials"}

    def _invalid(self, errors: list[tuple[str, str]], status: int | None = None) -> tuple[int, Any]:
        where, message = errors[0]
        return status or 400, {"message": f"{where}: {message}" if where else message}

    def _error_body(self, status: int, message: str | None) -> tuple[int, Any]:
        defaults = {
            404: "Not found",
            405: "Method Not Allowed",
            429: "Too Many Requests",
            500: "Internal Server Error",
        }
        return status, {"message": message or defaults.get(status, "Service Unavailable")}

    def _check_unsubscribe(self, *texts: str | None) -> None:
        if self.require_unsubscribe and not any(
            text and self.unsubscribe_pattern.search(text) for text in texts
        ):
            raise Answer(400, {"message": "the body has no {{ UnsubscribeURL }}"})

    def _list_refs(self, ids: list[int]) -> list[dict[str, Any]]:
        if self.lists is not None:
            unknown = [i for i in ids if i not in self.lists]
            if unknown:
                raise Answer(400, {"message": f"Invalid list IDs: {unknown}"})
            return [{"id": i, "name": self.lists[i]} for i in ids]
        return [{"id": i, "name": f"List {i}"} for i in ids]

    def _check_send_at(self, send_at: str | None) -> None:
        if send_at is not None and _parse_time(send_at) <= self.now():
            raise Answer(400, {"message": "send_at date should be in the future"})

    def create(self, record: Recorded) -> tuple[int, Any]:
        data = record.body
        self._check_send_at(data.get("send_at"))
        number = self._new_id()
        stamp = _iso(self.now())
        campaign = {
            "id": number,
            "uuid": f"00000000-0000-4000-b000-{number:012d}",
            "created_at": stamp,
            "updated_at": stamp,
            "views": 0,
            "clicks": 0,
            "bounces": 0,
            "lists": self._list_refs(data["lists"]),
            "started_at": None,
            "to_send": 0,
            "sent": 0,
            "type": data["type"],
            "name": data["name"],
            "subject": data["subject"],
            "from_email": data.get("from_email", "listmonk <noreply@listmonk.example.com>"),
            "body": data["body"],
            "altbody": data.get("altbody"),
            "send_at": data.get("send_at"),
            "status": "draft",
            "content_type": data["content_type"],
            "tags": data.get("tags", []),
            "headers": data.get("headers", []),
            "template_id": data.get("template_id", 1),
            "messenger": data.get("messenger", "email"),
            "archive": data.get("archive", False),
        }
        self.objects[str(number)] = campaign
        return 200, {"data": campaign}

    def lookup(self, record: Recorded) -> tuple[int, Any]:
        query = record.query
        found = list(self.objects.values())
        needle = query.get("query", [""])[0].strip().casefold()
        if needle:
            found = [c for c in found if needle in f"{c['name']} {c['subject']}".casefold()]
        if "status" in query:
            found = [c for c in found if c["status"] in query["status"]]
        if "tag" in query:
            found = [c for c in found if set(query["tag"]) <= set(c["tags"])]
        order_by = query.get("order_by", ["created_at"])[0]
        descending = query.get("order", ["desc"])[0].upper() == "DESC"
        found.sort(key=lambda c: (c[order_by], c["id"]), reverse=descending)
        if not found:
            return 200, {"data": {"results": [], "query": "", "total": 0, "per_page": 0, "page": 0}}
        per_page_text = query.get("per_page", [str(self.page_size)])[0]
        page = int(query.get("page", ["1"])[0])
        per_page = len(found) if per_page_text == "all" else int(per_page_text)
        results = copy.deepcopy(_page(found, page, per_page))
        if query.get("no_body", ["false"])[0] == "true":
            for campaign in results:
                campaign["body"] = ""
        return 200, {
            "data": {
                "results": results,
                "query": query.get("query", [""])[0],
                "total": len(found),
                "per_page": per_page,
                "page": page,
            }
        }

    def retrieve(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        return 200, {"data": self._get(campaign_id)}

    def update(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        if campaign["status"] not in ("draft", "scheduled", "paused"):
            raise Answer(400, {"message": "Cannot update a running or finished campaign."})
        data = dict(record.body)
        if "send_at" in data:
            self._check_send_at(data["send_at"])
        if "lists" in data:
            campaign["lists"] = self._list_refs(data.pop("lists"))
        campaign.update(data)
        campaign["updated_at"] = _iso(self.now())
        if campaign["status"] == "scheduled":
            self._drop_schedule(campaign)
            if campaign["send_at"] is None:
                campaign["status"] = "draft"
            else:
                self._schedule(campaign)
        return 200, {"data": campaign}

    def update_status(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        wanted, current = record.body["status"], campaign["status"]
        allowed = {
            "scheduled": ("draft",),
            "draft": ("scheduled",),
            "running": ("draft", "paused"),
            "paused": ("running",),
            "cancelled": ("running", "paused"),
        }
        if current not in allowed[wanted]:
            raise Answer(400, {"message": f"Cannot change a {current} campaign to {wanted}."})
        if wanted == "scheduled":
            if campaign["send_at"] is None:
                raise Answer(400, {"message": "The campaign needs a send_at date to be scheduled."})
            self._check_send_at(campaign["send_at"])
            self._check_unsubscribe(campaign["body"])
            self._schedule(campaign)
        elif wanted == "draft":
            self._drop_schedule(campaign)
        elif wanted == "running":
            if current == "draft":
                self._check_unsubscribe(campaign["body"])
                self.deliveries.append(
                    Delivery("send", str(campaign["id"]), self._audience(campaign))
                )
            campaign["started_at"] = campaign["started_at"] or _iso(self.now())
        campaign["status"] = wanted
        campaign["updated_at"] = _iso(self.now())
        return 200, {"data": campaign}

    def test(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        self._list_refs(record.body["lists"])
        addresses = tuple(a.strip().lower() for a in record.body["subscribers"])
        if self.subscribers is not None:
            unknown = [a for a in addresses if a not in self.subscribers]
            if unknown:
                raise Answer(404, {"message": f"Subscriber not found: {', '.join(unknown)}"})
        self.deliveries.append(
            Delivery("test", str(campaign["id"]), self._audience(campaign), None, addresses)
        )
        return 200, {"data": True}

    def _audience(self, campaign: dict[str, Any]) -> tuple[int, ...]:
        return tuple(ref["id"] for ref in campaign["lists"])

    def _schedule(self, campaign: dict[str, Any]) -> None:
        self.deliveries.append(
            Delivery(
                "schedule",
                str(campaign["id"]),
                self._audience(campaign),
                _parse_time(campaign["send_at"]),
            )
        )

    def _drop_schedule(self, campaign: dict[str, Any]) -> None:
        self.deliveries = [
            d
            for d in self.deliveries
            if not (d.kind == "schedule" and d.object_id == str(campaign["id"]))
        ]


FAKES: dict[str, type[FakeProvider]] = {
    "buttondown": ButtondownFake,
    "resend": ResendFake,
    "mailchimp": MailchimpFake,
    "listmonk": ListmonkFake,
}


# --- the real server ------------------------------------------------------------------------


class FakeServer:
    """A fake provider behind a real HTTP/1.1 server on 127.0.0.1, on a free port."""

    def __init__(self, fake: FakeProvider) -> None:
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
def serve(fake: FakeProvider) -> Iterator[FakeServer]:
    """Run `fake` on 127.0.0.1 for the duration of a `with` block."""
    server = FakeServer(fake).start()
    try:
        yield server
    finally:
        server.stop()
