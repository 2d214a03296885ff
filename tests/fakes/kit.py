"""A fake Kit v4 broadcasts API: drafts (send_at null), scheduled, sent; cursor pagination.

Validates every request against tests/contracts/kit/ and answers in Kit's error shape.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from helpers.fake_api import (
    Answer,
    Delivery,
    FakeProvider,
    Recorded,
    Route,
    _iso,
    _parse_time,
    contract_errors,
)


class KitFake(FakeProvider):
    """Kit's v4 broadcasts: drafts (send_at null), scheduled, sent; cursor pagination."""

    name = "kit"
    default_base_url = "https://api.kit.com"
    prefix = ""
    unsubscribe_tag = "{{ unsubscribe_url }}"
    rule_status = 422
    routes = (
        Route("POST", r"/v4/broadcasts", "create", body="create_broadcast"),
        Route("GET", r"/v4/broadcasts", "browse", query="list_broadcasts_query"),
        Route("GET", r"/v4/broadcasts/(?P<broadcast_id>\d+)", "read"),
        Route("PUT", r"/v4/broadcasts/(?P<broadcast_id>\d+)", "update", body="update_broadcast"),
        Route("DELETE", r"/v4/broadcasts/(?P<broadcast_id>\d+)", "delete"),
    )

    def __init__(self, *, api_key: str = "kit_test_0123456789", **options: Any) -> None:
        super().__init__(**options)
        self.api_key = api_key

    @property
    def broadcasts(self) -> dict[str, dict[str, Any]]:
        return self.objects

    def _check_headers(self, record: Recorded) -> None:
        key = record.headers.get("x-kit-api-key")
        for where, message in contract_errors(self.name, "headers", record.headers):
            self._violation(record, where or "x-kit-api-key", message)
        if key != self.api_key:
            raise Answer(*self._unauthorized(missing=key is None))

    def _authorized(self, authorization: str) -> bool:  # Kit has no Authorization header
        return False

    def _unauthorized(
        self, *, missing: bool, status: int | None = None, message: str | None = None
    ) -> tuple[int, Any]:
        return status or 401, {"errors": [message or "The access token is invalid"]}

    def _invalid(self, errors: list[tuple[str, str]], status: int | None = None) -> tuple[int, Any]:
        return status or 422, {"errors": [f"{w} {m}".strip() for w, m in errors]}

    def _error_body(self, status: int, message: str | None) -> tuple[int, Any]:
        return status, {"errors": [message or {404: "Not Found"}.get(status, "Server error")]}

    def _public(self, broadcast: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in broadcast.items() if not k.startswith("_")}
        out["status"] = self._status(broadcast)
        return out

    def _status(self, broadcast: dict[str, Any]) -> str:
        if broadcast.get("_sent"):
            return "completed"
        return "scheduled" if broadcast.get("send_at") else "draft"

    def create(self, record: Recorded) -> tuple[int, Any]:
        data = record.body
        self._check_unsubscribe(data.get("content"))
        broadcast_id = str(self._new_id())
        broadcast = {
            "id": int(broadcast_id),
            "publication_id": int(broadcast_id),
            "created_at": _iso(self.now()),
            "subject": data["subject"],
            "preview_text": data.get("preview_text"),
            "description": data.get("description"),
            "content": data["content"],
            "public": data.get("public", False),
            "published_at": None,
            "send_at": None,
            "public_url": None,
            "email_template": {"id": data.get("email_template_id", 1), "name": "Classic"},
            "subscriber_filter": data["subscriber_filter"],
        }
        self.broadcasts[broadcast_id] = broadcast
        self._apply_send_at(broadcast, data.get("send_at"))
        return 201, {"broadcast": self._public(broadcast)}

    def browse(self, record: Recorded) -> tuple[int, Any]:
        query = {k: v[0] for k, v in record.query.items()}
        size = min(int(query.get("per_page", "500")), self.page_size)
        items = sorted(self.broadcasts.values(), key=lambda b: b["id"])
        start = 0
        if "after" in query:
            start = next(
                (i + 1 for i, b in enumerate(items) if str(b["id"]) == query["after"]), len(items)
            )
        page = items[start : start + size]
        more = start + size < len(items)
        return 200, {
            "broadcasts": [self._public(b) for b in page],
            "pagination": {
                "has_previous_page": start > 0,
                "has_next_page": more,
                "start_cursor": str(page[0]["id"]) if page else None,
                "end_cursor": str(page[-1]["id"]) if page else None,
                "per_page": size,
            },
        }

    def read(self, record: Recorded, broadcast_id: str) -> tuple[int, Any]:
        return 200, {"broadcast": self._public(self._get(broadcast_id))}

    def update(self, record: Recorded, broadcast_id: str) -> tuple[int, Any]:
        broadcast = self._get(broadcast_id)
        if broadcast.get("_sent"):
            raise Answer(*self._invalid([("", "Broadcast has already been sent")]))
        data = record.body
        if "content" in data:
            self._check_unsubscribe(data["content"])
        for key in ("subject", "preview_text", "content", "public", "subscriber_filter"):
            if key in data:
                broadcast[key] = data[key]
        if "send_at" in data:
            self._apply_send_at(broadcast, data["send_at"])
        return 200, {"broadcast": self._public(broadcast)}

    def delete(self, record: Recorded, broadcast_id: str) -> tuple[int, Any]:
        broadcast = self._get(broadcast_id)
        if broadcast.get("_sent"):
            raise Answer(*self._invalid([("", "Broadcast has already been sent")]))
        del self.broadcasts[broadcast_id]
        self._drop_schedule(broadcast_id)
        return 204, None

    def _drop_schedule(self, broadcast_id: str) -> None:
        self.deliveries = [
            d for d in self.deliveries if not (d.kind == "schedule" and d.object_id == broadcast_id)
        ]

    def _audience(self, broadcast: dict[str, Any]) -> tuple[tuple[str, tuple[int, ...]], ...]:
        group = broadcast["subscriber_filter"][0]["all"]
        return tuple((c["type"], tuple(c.get("ids", ()))) for c in group)

    def _apply_send_at(self, broadcast: dict[str, Any], send_at: str | None) -> None:
        broadcast_id = str(broadcast["id"])
        self._drop_schedule(broadcast_id)
        broadcast["send_at"] = send_at
        if send_at is None:
            return
        moment = _parse_time(send_at)
        if moment <= self.now() + timedelta(seconds=60):  # its time has come: it goes out
            broadcast["_sent"] = True
            broadcast["published_at"] = _iso(self.now())
            if broadcast["public"]:
                broadcast["public_url"] = f"https://example.kit.com/posts/{broadcast_id}"
            self.deliveries.append(Delivery("send", broadcast_id, self._audience(broadcast)))
        else:
            self.deliveries.append(
                Delivery("schedule", broadcast_id, self._audience(broadcast), at=moment)
            )
