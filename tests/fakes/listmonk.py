"""The fake listmonk API (campaigns, status, tests), for the adapter and contract tests.

See tests/helpers/fake_api.py for what every fake does (contracts, faults, recording)."""

from __future__ import annotations

import base64
import binascii
import copy
import re
from typing import Any

from helpers.fake_api import (
    Answer,
    Delivery,
    FakeProvider,
    Recorded,
    Route,
    _iso,
    _page,
    _parse_time,
)


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
