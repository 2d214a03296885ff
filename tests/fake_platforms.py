"""Fake Ghost, Kit and beehiiv APIs, built on the shared machinery of fake_providers.py.

Each fake validates every request against its contracts in tests/contracts/<provider>/, checks
auth the way the platform does (Ghost: the JWT's signature, kid, audience and lifetime), keeps
state, answers in the platform's own error shape, and records every send and schedule as a
`Delivery`. Fault knobs (throttle, fail, refuse, delay, drop) and `serve()` come from
fake_providers.

The self-gated fakes (Ghost, beehiiv) can also say what a reader would get from a post as the
fake stores it (`view`), applying the platform's own rules: Ghost's members-only card and card
visibility, beehiiv's paywall break and block visibility. Tests judge premium leaks from that,
not from what postcli meant to send.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timedelta
from html import unescape
from typing import Any, Literal

import httpx

from fake_providers import (
    Answer,
    Delivery,
    FakeProvider,
    Recorded,
    Route,
    _iso,
    _parse_time,
    contract_errors,
)

Reader = Literal["anonymous", "free", "paid"]
ALL_SEGMENT = "status:free,status:-free"

GHOST_KEY_ID = "6b0e9d60d42cdf48c9a31c55"
GHOST_SECRET = "7ca805762cc07add4d1cef062af669ac1e57c9001606f252a38b5f1fe9705eaf"
GHOST_KEY = f"{GHOST_KEY_ID}:{GHOST_SECRET}"


def _ghost_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def text_of(html: str) -> str:
    """Visible text of an HTML fragment, for leak checks."""
    return " ".join(unescape(re.sub(r"<!--.*?-->|<[^>]+>", " ", html, flags=re.S)).split())


# --- Ghost ------------------------------------------------------------------------------------


class GhostFake(FakeProvider):
    """Ghost 5's Admin API: posts (draft, scheduled, published, sent), newsletters, emails."""

    name = "ghost"
    default_base_url = "https://example.ghost.io"
    prefix = "/ghost/api/admin"
    unsubscribe_tag = ""
    rule_status = 422
    routes = (
        Route("POST", r"/posts/", "create", body="create_post", query="create_post_query"),
        Route("GET", r"/posts/", "browse", query="browse_posts_query"),
        Route("GET", r"/posts/(?P<post_id>[0-9a-f]+)/", "read", query="read_post_query"),
        Route(
            "PUT",
            r"/posts/(?P<post_id>[0-9a-f]+)/",
            "update",
            body="update_post",
            query="update_post_query",
        ),
        Route("GET", r"/emails/", "emails"),
    )

    def __init__(
        self,
        *,
        key: str = GHOST_KEY,
        newsletters: tuple[str, ...] = ("default-newsletter",),
        email_status: str = "submitted",
        **options: Any,
    ) -> None:
        super().__init__(require_unsubscribe=False, **options)
        self.key_id, _, secret = key.partition(":")
        self.secret = bytes.fromhex(secret)
        self.newsletters = newsletters
        self.email_status = email_status  # what a new email record ends as ("failed": no mailer)
        self.tokens: list[dict[str, Any]] = []  # decoded JWT payloads, one per request

    @property
    def posts(self) -> dict[str, dict[str, Any]]:
        return self.objects

    # auth and errors, as Ghost answers them

    def _authorized(self, authorization: str) -> bool:
        import jwt

        scheme, _, token = authorization.partition(" ")
        if scheme != "Ghost":
            return False
        try:
            header = jwt.get_unverified_header(token)
            payload = jwt.decode(
                token,
                self.secret,
                algorithms=["HS256"],
                audience="/admin/",
                options={"require": ["iat", "exp", "aud"]},
            )
        except jwt.PyJWTError:
            return False
        if header.get("kid") != self.key_id or payload["exp"] - payload["iat"] > 300:
            return False
        self.tokens.append(payload)
        return True

    def _errors(self, status: int, kind: str, message: str, code: str | None = None) -> Any:
        error: dict[str, Any] = {"message": message, "type": kind, "context": None}
        if code:
            error["code"] = code
        return status, {"errors": [error]}

    def _unauthorized(
        self, *, missing: bool, status: int | None = None, message: str | None = None
    ) -> tuple[int, Any]:
        text = message or (
            'Authorization header format is "Authorization: Ghost [token]"'
            if missing
            else "Invalid token: invalid signature"
        )
        return self._errors(status or 401, "UnauthorizedError", text, "INVALID_JWT")

    def _invalid(self, errors: list[tuple[str, str]], status: int | None = None) -> tuple[int, Any]:
        message = "; ".join(f"{w}: {m}".lstrip(": ") for w, m in errors) or "Validation error"
        return self._errors(status or 422, "ValidationError", message)

    def _error_body(self, status: int, message: str | None) -> tuple[int, Any]:
        kinds = {404: "NotFoundError", 409: "UpdateCollisionError", 429: "TooManyRequestsError"}
        return self._errors(status, kinds.get(status, "InternalServerError"), message or "Error")

    def _check_headers(self, record: Recorded) -> None:
        super()._check_headers(record)

    # state

    def _public(self, post: dict[str, Any], include: str = "") -> dict[str, Any]:
        out = {k: v for k, v in post.items() if not k.startswith("_")}
        wanted = include.split(",") if include else []
        if "tags" not in wanted:
            out.pop("tags", None)
        out["email"] = copy.deepcopy(post["_email"]) if "email" in wanted else None
        if "email" not in wanted:
            out.pop("email")
        return out

    def create(self, record: Recorded) -> tuple[int, Any]:
        data = record.body["posts"][0]
        self._check_content(record, data)
        post_id = f"{self._new_id():024x}"
        slug = data.get("slug") or re.sub(r"[^a-z0-9]+", "-", data["title"].lower()).strip("-")
        taken = {p["slug"] for p in self.posts.values()}
        base, n = slug, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        now = _ghost_time(self.now())
        post = {
            "id": post_id,
            "title": data["title"],
            "slug": slug,
            "status": "draft",
            "visibility": data.get("visibility", "public"),
            "tiers": data.get("tiers", []),
            "email_subject": data.get("email_subject"),
            "custom_excerpt": data.get("custom_excerpt"),
            "email_only": data.get("email_only", False),
            "tags": [{"name": t["name"]} for t in data.get("tags", [])],
            "created_at": now,
            "updated_at": now,
            "published_at": None,
            "url": f"{self.base_url}/{slug}/",
            "_email": None,
        }
        self._set_content(post, data, record)
        self.posts[post_id] = post
        return 201, {"posts": [self._public(post, "tags")]}

    def _check_content(self, record: Recorded, data: dict[str, Any]) -> None:
        if "lexical" in data:
            try:
                document = json.loads(data["lexical"])
            except ValueError as error:
                raise Answer(*self._invalid([("lexical", f"not JSON: {error}")])) from error
            errors = contract_errors(self.name, "lexical", document)
            for where, message in errors:
                self._violation(record, f"lexical.{where}", message)
            if errors:
                raise Answer(*self._invalid(errors))
            if "html" in data:
                raise Answer(*self._invalid([("", "send html or lexical, not both")]))
        if "html" in data and record.query.get("source") != ["html"]:
            self._violation(record, "html", "html without ?source=html is ignored by Ghost")
            raise Answer(*self._invalid([("html", "needs ?source=html")]))

    def _set_content(self, post: dict[str, Any], data: dict[str, Any], record: Recorded) -> None:
        if "lexical" in data:
            post["lexical"] = data["lexical"]
            post.pop("_html", None)
        elif "html" in data:
            # Ghost converts the HTML to Lexical; what matters here is where the members-only
            # card lands: the comment on its own becomes the paywall card.
            post["_html"] = data["html"]
            post.pop("lexical", None)

    def browse(self, record: Recorded) -> tuple[int, Any]:
        query = {k: v[0] for k, v in record.query.items()}
        found = list(self.posts.values())
        match = (
            re.fullmatch(r"slug:([a-z0-9-]+)", query.get("filter", "slug:*"))
            if "filter" in query
            else None
        )
        if "filter" in query:
            if match is None:
                raise Answer(*self._invalid([("filter", "this fake knows slug:X filters only")]))
            found = [p for p in found if p["slug"] == match.group(1)]
        found.sort(key=lambda p: p["created_at"], reverse=True)
        limit = int(query.get("limit", "15")) if query.get("limit", "15") != "all" else len(found)
        page = int(query.get("page", "1"))
        items = found[(page - 1) * limit : page * limit]
        include = query.get("include", "")
        return 200, {
            "posts": [self._public(p, include) for p in items],
            "meta": {"pagination": {"page": page, "limit": limit, "total": len(found)}},
        }

    def read(self, record: Recorded, post_id: str) -> tuple[int, Any]:
        post = self._get(post_id)
        include = (record.query.get("include") or [""])[0]
        return 200, {"posts": [self._public(post, include)]}

    def update(self, record: Recorded, post_id: str) -> tuple[int, Any]:
        post = self._get(post_id)
        data = record.body["posts"][0]
        if data["updated_at"] != post["updated_at"]:
            raise Answer(
                *self._errors(
                    409,
                    "UpdateCollisionError",
                    "Saving failed! Someone else is editing this post.",
                    "UPDATE_COLLISION",
                )
            )
        query = {k: v[0] for k, v in record.query.items()}
        newsletter = query.get("newsletter")
        if newsletter is not None and newsletter not in self.newsletters:
            raise Answer(
                *self._errors(
                    400,
                    "BadRequestError",
                    "The newsletter parameter doesn't match any active newsletter.",
                )
            )
        self._check_content(record, data)
        self._set_content(post, data, record)
        for key in ("title", "slug", "visibility", "tiers", "email_subject", "custom_excerpt"):
            if key in data:
                post[key] = data[key]
        if "tags" in data:
            post["tags"] = [{"name": t["name"]} for t in data["tags"]]
        status = data.get("status", post["status"])
        was = post["status"]
        if status != was:
            self._move(post, was, status, data, newsletter, query.get("email_segment", "all"))
        elif status == "scheduled" and "published_at" in data:
            self._schedule(post, data, newsletter, query.get("email_segment", "all"))
        post["updated_at"] = _ghost_time(self.now() + timedelta(seconds=len(self.requests)))
        return 200, {"posts": [self._public(post, "tags")]}

    def _move(
        self,
        post: dict[str, Any],
        was: str,
        status: str,
        data: dict[str, Any],
        newsletter: str | None,
        segment: str,
    ) -> None:
        if was in ("published", "sent") and status in ("published", "sent", "scheduled"):
            raise Answer(*self._invalid([("status", "the post is published already")]))
        if status == "scheduled":
            self._schedule(post, data, newsletter, segment)
        elif status in ("published", "sent"):
            if post["email_only"] and status != "sent" and newsletter:
                status = "sent"
            post["status"] = status
            post["published_at"] = _ghost_time(self.now())
            post["_schedule"] = None
            if newsletter is not None:
                self._email(post, segment, newsletter)
        elif status == "draft":
            post["status"] = "draft"
            post["published_at"] = None
            post["_schedule"] = None
            self.deliveries = [
                d
                for d in self.deliveries
                if not (d.kind == "schedule" and d.object_id == post["id"])
            ]

    def _schedule(
        self, post: dict[str, Any], data: dict[str, Any], newsletter: str | None, segment: str
    ) -> None:
        at = data.get("published_at")
        if not at:
            raise Answer(*self._invalid([("published_at", "a scheduled post needs a time")]))
        moment = _parse_time(at.replace("Z", "+00:00"))
        if moment < self.now() + timedelta(minutes=2):
            raise Answer(
                *self._invalid([("published_at", "Date must be at least 2 minutes in the future.")])
            )
        post["status"] = "scheduled"
        post["published_at"] = _ghost_time(moment)
        post["_schedule"] = {"newsletter": newsletter, "segment": segment}
        self.deliveries = [
            d for d in self.deliveries if not (d.kind == "schedule" and d.object_id == post["id"])
        ]
        self.deliveries.append(Delivery("schedule", post["id"], segment, at=moment))

    def _email(self, post: dict[str, Any], segment: str, newsletter: str) -> None:
        post["_email"] = {
            "id": f"e{post['id']}",
            "status": self.email_status,
            "recipient_filter": segment,
            "error": "No bulk email service is configured"
            if self.email_status == "failed"
            else None,
            "newsletter": newsletter,
        }
        self.deliveries.append(Delivery("send", post["id"], segment))

    def emails(self, record: Recorded) -> tuple[int, Any]:
        # Integrations have an endpoint allow-list: a custom integration's key gets 501 here.
        return self._errors(
            501, "NotImplementedError", "The server does not support the functionality required"
        )

    # what a reader gets, by Ghost's rules

    def view(self, post_id: str, reader: Reader, target: Literal["web", "email"] = "web") -> str:
        """The HTML `reader` gets from the stored post, on the site or in the email."""
        post = self.posts[post_id]
        gated = post["visibility"] != "public"
        # A members post is cut for visitors only; paid and tiers posts for all but paid members.
        cut_reader = reader == "anonymous" if post["visibility"] == "members" else reader != "paid"
        if target == "email" and reader == "anonymous":
            raise ValueError("anonymous visitors get no email")
        if "_html" in post:
            before, marker, after = post["_html"].partition("<!--members-only-->")
            if gated and cut_reader:
                return before if marker else ""
            return before + after
        document = json.loads(post["lexical"])
        out = []
        for node in document["root"]["children"]:
            if node["type"] == "paywall":
                if gated and cut_reader:
                    break
                continue
            if (
                gated
                and cut_reader
                and not any(n["type"] == "paywall" for n in document["root"]["children"])
            ):
                break  # a gated post without the card: Ghost shows nothing of it
            if self._card_visible(node.get("visibility"), reader, target):
                out.append(node["html"])
        return "".join(out)

    @staticmethod
    def _card_visible(visibility: dict[str, Any] | None, reader: Reader, target: str) -> bool:
        if visibility is None:
            return True
        segment = visibility[target]["memberSegment"]
        if target == "web" and reader == "anonymous":
            return bool(visibility["web"]["nonMember"])
        wanted = "status:free" if reader == "free" else "status:-free"
        return wanted in segment.split(",")


# --- Kit ----------------------------------------------------------------------------------------


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


# --- beehiiv ------------------------------------------------------------------------------------


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

        from fake_providers import Outcome

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


FAKES_MORE: dict[str, type[FakeProvider]] = {
    "ghost": GhostFake,
    "kit": KitFake,
    "beehiiv": BeehiivFake,
}
PLATFORMS = ("ghost", "kit", "beehiiv")
