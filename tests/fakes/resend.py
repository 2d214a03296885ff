"""The fake Resend API (broadcasts, segments, emails), for the adapter and contract tests.

See tests/helpers/fake_api.py for what every fake does (contracts, faults, recording)."""

from __future__ import annotations

from typing import Any

from helpers.fake_api import (
    Answer,
    Delivery,
    FakeProvider,
    Recorded,
    Route,
    _iso,
    _parse_time,
)


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
