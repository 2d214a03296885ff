"""A fake beehiiv API v2 (posts): created draft or confirmed and never changed after, listed by
slug, updated, deleted (a confirmed post is archived); 429 with RateLimit-Reset.

Validates every request, blocks included, against tests/contracts/beehiiv/, and says what a
reader would get from a post's blocks as it stores them (`view`): the paywall break cuts
non-paying readers, and block visibility decides per kind of reader.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

import httpx

from helpers.fake_api import (
    Answer,
    Delivery,
    FakeProvider,
    Recorded,
    Route,
    _parse_time,
)

Reader = Literal["anonymous", "free", "paid"]


class BeehiivFake(FakeProvider):
    """beehiiv's API v2 posts: created draft or confirmed (never changed after), listed by slug,
    updated (scheduled_at, content), deleted (a confirmed post is archived)."""

    name = "beehiiv"
    default_base_url = "https://api.beehiiv.com/v2"
    prefix = "/v2"
    unsubscribe_tag = ""
    rule_status = 400
    _POSTS = r"/publications/(?P<publication>[^/]+)/posts"
    routes = (
        Route("POST", _POSTS, "create", body="create_post"),
        Route("GET", _POSTS, "browse", query="list_posts_query"),
        Route("GET", _POSTS + r"/(?P<post_id>post_[0-9a-f-]+)", "read"),
        Route("PATCH", _POSTS + r"/(?P<post_id>post_[0-9a-f-]+)", "update", body="update_post"),
        Route("DELETE", _POSTS + r"/(?P<post_id>post_[0-9a-f-]+)", "delete"),
    )

    def __init__(
        self,
        *,
        api_key: str = "bh_test_0123456789",
        publication_id: str = "pub_00000000-0000-0000-0000-000000000001",
        enterprise: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(require_unsubscribe=False, **options)
        self.api_key = api_key
        self.publication_id = publication_id
        self.enterprise = enterprise  # False: the plan lacks the Create Post API
        self.resets: list[int] = []  # pending 429s, each with RateLimit-Reset this far ahead

    @property
    def posts(self) -> dict[str, dict[str, Any]]:
        return self.objects

    def throttle_reset(self, times: int = 1, *, seconds: int = 2) -> None:
        """Answer the next `times` requests with 429 and `RateLimit-Reset` (epoch seconds)."""
        self.resets += [seconds] * times

    def respond(self, request: httpx.Request) -> Any:
        import time

        from helpers.fake_api import Outcome

        with self._lock:
            if self.resets:
                seconds = self.resets.pop(0)
                self.requests.append(
                    Recorded(request.method, request.url.path, {}, {}, None, b"", status=429)
                )
                reset = str(int(time.time()) + seconds)
                body = {"status": 429, "statusText": "Too Many Requests", "errors": []}
                return Outcome(
                    self._response(429, body, {"RateLimit-Reset": reset, "RateLimit-Limit": "180"})
                )
        return super().respond(request)

    def _authorized(self, authorization: str) -> bool:
        return authorization == f"Bearer {self.api_key}"

    def _errors(self, status: int, message: str, code: str = "") -> tuple[int, Any]:
        return status, {
            "status": status,
            "statusText": {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}.get(
                status, "Error"
            ),
            "errors": [{"message": message, "code": code or f"E{status}"}],
        }

    def _unauthorized(
        self, *, missing: bool, status: int | None = None, message: str | None = None
    ) -> tuple[int, Any]:
        return self._errors(status or 401, message or "Unauthorized: invalid API key")

    def _invalid(self, errors: list[tuple[str, str]], status: int | None = None) -> tuple[int, Any]:
        return self._errors(status or 400, "; ".join(f"{w}: {m}".lstrip(": ") for w, m in errors))

    def _error_body(self, status: int, message: str | None) -> tuple[int, Any]:
        return self._errors(status, message or {404: "Not Found"}.get(status, "Server error"))

    def _publication(self, publication: str) -> None:
        if publication != self.publication_id:
            raise Answer(*self._errors(404, "Publication not found"))

    def _public(self, post: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in post.items() if not k.startswith("_")}

    def create(self, record: Recorded, publication: str) -> tuple[int, Any]:
        self._publication(publication)
        if not self.enterprise:
            raise Answer(
                *self._errors(
                    403,
                    "The Create Post endpoint is only available on the Enterprise plan.",
                    "PLAN_UPGRADE_REQUIRED",
                )
            )
        data = record.body
        for block in data.get("blocks", []):
            if block["type"] == "paywall_break" and block["paywall_id"] not in ("paywall_123",):
                raise Answer(*self._invalid([("paywall_id", "no such paywall")]))
        post_id = f"post_{self._new_id():08x}-0000-0000-0000-000000000000"
        slug = (data.get("web_settings") or {}).get("slug") or re.sub(
            r"[^a-z0-9]+", "-", data["title"].lower()
        ).strip("-")
        taken = {p["slug"] for p in self.posts.values()}
        base, n = slug, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        status = data.get("status", "confirmed")
        at = _parse_time(data["scheduled_at"]) if data.get("scheduled_at") else self.now()
        post = {
            "id": post_id,
            "title": data["title"],
            "subtitle": data.get("subtitle", ""),
            "status": status,
            "slug": slug,
            "created": int(self.now().timestamp()),
            "publish_date": int(at.timestamp()) if status == "confirmed" else None,
            "subject_line": (data.get("email_settings") or {}).get("email_subject_line", ""),
            "preview_text": (data.get("email_settings") or {}).get("email_preview_text", ""),
            "content_tags": data.get("content_tags", []),
            "web_url": f"https://example.beehiiv.com/p/{slug}",
            "_blocks": data.get("blocks"),
            "_body_content": data.get("body_content"),
            "_recipients": data.get("recipients"),
            "_web_settings": data.get("web_settings"),
        }
        self.posts[post_id] = post
        if status == "confirmed":
            self._deliver(post, at)
        return 201, {"data": self._public(post)}

    def _audience(self, post: dict[str, Any]) -> tuple[str, ...]:
        return tuple(((post["_recipients"] or {}).get("email") or {}).get("tier_ids", ()))

    def _deliver(self, post: dict[str, Any], at: datetime) -> None:
        self.deliveries = [
            d for d in self.deliveries if not (d.kind == "schedule" and d.object_id == post["id"])
        ]
        if at > self.now():
            self.deliveries.append(Delivery("schedule", post["id"], self._audience(post), at=at))
        else:
            self.deliveries.append(Delivery("send", post["id"], self._audience(post)))

    def browse(self, record: Recorded, publication: str) -> tuple[int, Any]:
        self._publication(publication)
        query = record.query
        status = (query.get("status") or ["confirmed"])[0]
        found = [p for p in self.posts.values() if status == "all" or p["status"] == status]
        if "slugs[]" in query:
            found = [p for p in found if p["slug"] in query["slugs[]"]]
        descending = (query.get("direction") or ["asc"])[0] == "desc"
        found.sort(key=lambda p: p["created"], reverse=descending)
        limit = int((query.get("limit") or ["10"])[0])
        page = int((query.get("page") or ["1"])[0])
        items = found[(page - 1) * limit : page * limit]
        return 200, {
            "data": [self._public(p) for p in items],
            "limit": limit,
            "page": page,
            "total_results": len(found),
            "total_pages": max(1, -(-len(found) // limit)),
        }

    def read(self, record: Recorded, publication: str, post_id: str) -> tuple[int, Any]:
        self._publication(publication)
        return 200, {"data": self._public(self._get(post_id))}

    def update(self, record: Recorded, publication: str, post_id: str) -> tuple[int, Any]:
        self._publication(publication)
        post = self._get(post_id)
        data = record.body
        if post["status"] == "archived":
            raise Answer(*self._invalid([("", "an archived post cannot be updated")]))
        if post["status"] == "confirmed" and post["publish_date"] <= self.now().timestamp():
            raise Answer(*self._invalid([("", "a published post cannot be rescheduled")]))
        if "blocks" in data:
            post["_blocks"] = data["blocks"]
        for key in ("title", "subtitle", "content_tags"):
            if key in data:
                post[key] = data[key]
        if "scheduled_at" in data:
            at = _parse_time(data["scheduled_at"])
            post["publish_date"] = int(at.timestamp())
            if post["status"] == "confirmed":
                self._deliver(post, at)
        return 200, {"data": self._public(post)}

    def delete(self, record: Recorded, publication: str, post_id: str) -> tuple[int, Any]:
        self._publication(publication)
        post = self._get(post_id)
        self.deliveries = [
            d for d in self.deliveries if not (d.kind == "schedule" and d.object_id == post_id)
        ]
        if post["status"] == "draft":
            del self.posts[post_id]
        else:
            post["status"] = "archived"
        return 200, ({"data": self._public(post)} if post_id in self.posts else {})

    # what a reader gets, by beehiiv's rules

    def view(self, post_id: str, reader: Reader, target: Literal["web", "email"] = "web") -> str:
        """The text `reader` gets from the stored post (blocks, or raw body_content)."""
        post = self.posts[post_id]
        if post["_blocks"] is None:
            return str(post["_body_content"])  # no paywall possible: everyone gets all of it
        out = []
        for block in post["_blocks"]:
            if block["type"] == "paywall_break":
                if reader != "paid":
                    break
                continue
            if self._visible(block.get("visibility_settings") or {}, reader, target):
                out.append(self._text(block))
        return "\n".join(out)

    @staticmethod
    def _visible(settings: dict[str, Any], reader: Reader, target: str) -> bool:
        if not settings.get("show_on_web" if target == "web" else "show_on_email", True):
            return False
        key = {
            "anonymous": "show_to_anonymous_users_web",
            "free": "show_to_free_subscribers",
            "paid": "show_to_paid_subscribers",
        }[reader]
        return bool(settings.get(key, True))

    @staticmethod
    def _text(block: dict[str, Any]) -> str:
        kind = block["type"]
        if kind == "paragraph":
            return " ".join(
                s["text"] + (f" <{s['link']['href']}>" if "link" in s else "")
                for s in block.get("formattedText", [])
            )
        if kind == "heading":
            return str(block["text"])
        if kind == "image":
            return " ".join(
                str(block.get(k, "")) for k in ("imageUrl", "alt_text", "caption", "url")
            )
        if kind == "list":
            return " ".join(block["items"])
        if kind == "table":
            return " ".join(cell["text"] for row in block["rows"] for cell in row)
        if kind == "quote":
            return str(block["quote"])
        if kind == "html":
            return str(block["html"])
        return ""
