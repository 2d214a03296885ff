"""A fake Ghost 5 Admin API: posts (draft, scheduled, published, sent), newsletters, emails.

It validates every request against tests/contracts/ghost/, verifies each token's signature, kid,
audience and lifetime with PyJWT, answers in Ghost's error shape, and says what a reader would
get from a post as it stores it (`view`), by Ghost's rules: the members-only card cuts gated
posts, and card visibility decides per segment on the web and in the email.
"""

from __future__ import annotations

import copy
import json
import re
from datetime import datetime, timedelta
from html import unescape
from typing import Any, Literal

from helpers.fake_api import (
    Answer,
    Delivery,
    FakeProvider,
    Recorded,
    Route,
    _parse_time,
    contract_errors,
)

Reader = Literal["anonymous", "free", "paid"]
ALL_SEGMENT = "status:free,status:-free"

GHOST_KEY_ID = "6b0e9d60d42cdf48c9a31c55"
GHOST_SECRET = "7ca805762cc07add4d1cef062af669ac1e57c9001606f252a38b5f1fe9705eaf"
GHOST_KEY = f"{GHOST_KEY_ID}:{GHOST_SECRET}"


def text_of(html: str) -> str:
    """Visible text of an HTML fragment, for leak checks."""
    return " ".join(unescape(re.sub(r"<!--.*?-->|<[^>]+>", " ", html, flags=re.S)).split())


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
