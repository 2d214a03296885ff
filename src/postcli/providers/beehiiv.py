"""The `beehiiv` provider: one beehiiv post per issue, gated by beehiiv itself (API v2).

beehiiv's Create Post endpoint is in beta and open only to Enterprise plans; an answer that says
the plan lacks it becomes one clear line. The post is sent as `blocks`, built from the issue's
gated sections (`postcli.render.gated`):

- paragraphs (bold, italic, strikethrough, code and links as formatted text), headings, images
  with their caption, lists, tables, quotes, horizontal rules (`content_break`);
- code, footnotes, raw HTML and anything the block types cannot hold (a list with a nested
  list, a heading with a link) become `html` blocks, which carry visibility like any other;
  raw `body_content` can carry no paywall, so postcli never sends it;
- the paywall marker becomes a `paywall_break` block with `[providers.beehiiv] paywall_id`;
- `::: premium` / `::: free` blocks get `visibility_settings` for paid or free subscribers
  only (and web visitors who are not signed in count as free); below the paywall, premium
  visibility as well.

Recipients are `[providers.beehiiv] tiers` (`{ free = ["free"], premium = ["premium"] }` by
default), email and web alike. A post cannot change status once created, so it is created once,
`confirmed`, with `scheduled_at` for a later send; before creating, postcli looks for it by its
slug (the issue id) and then its title, and a create whose answer was lost is looked up before it
is tried again. Moving a schedule is an update of `scheduled_at`; unscheduling deletes the post
(beehiiv archives a confirmed one). 429 answers carry `RateLimit-Reset`, honoured by the HTTP
client. The API key comes only from BEEHIIV_API_KEY. See docs/providers/beehiiv.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from postcli.errors import InputError, ProviderRefused
from postcli.markdown import Token
from postcli.model import Delivered, RemoteStatus, SendStatus
from postcli.providers._campaigns import HttpCampaignProvider, delivered, http_schema
from postcli.providers.base import (
    Campaign,
    Checkpoint,
    Delivery,
    Features,
    Key,
    RemoteCampaign,
    SettingsSchema,
)
from postcli.registry import builtin

if TYPE_CHECKING:
    from postcli.render.gated import GatedPost, Section

log = logging.getLogger("postcli.providers.beehiiv")

API_KEY = "BEEHIIV_API_KEY"
DEFAULT_TIERS = {"free": ["free"], "premium": ["premium"]}
PAGE = 100
PREMIUM_ONLY = {
    "show_to_free_subscribers": False,
    "show_to_paid_subscribers": True,
    "show_to_anonymous_users_web": False,
}
FREE_ONLY = {
    "show_to_free_subscribers": True,
    "show_to_paid_subscribers": False,
    "show_to_anonymous_users_web": True,
}
_STYLES = {"strong": "bold", "em": "italic", "s": "strikethrough"}
_PLAN_WORDS = ("enterprise", "plan", "upgrade", "not available", "beta")


def _groups(tokens: tuple[Token, ...]) -> Iterator[list[Token]]:
    """Top-level blocks, as render.gated groups them (aligned with Section.blocks)."""
    from postcli.render.gated import _top_level

    yield from _top_level(tokens)


class _Unblockable(Exception):
    """This construct has no beehiiv block: it goes as an html block."""


def _formatted(inline: Token) -> list[dict[str, Any]]:
    """An inline token's children as beehiiv formatted text; _Unblockable for images, HTML."""
    out: list[dict[str, Any]] = []
    styles: list[str] = []
    link: str | None = None
    for child in inline.children or []:
        kind = child.type
        if kind in ("strong_open", "em_open", "s_open"):
            styles.append(_STYLES[kind[:-5]])
        elif kind in ("strong_close", "em_close", "s_close"):
            style = _STYLES[kind[:-6]]
            if style in styles:
                styles.remove(style)
        elif kind == "link_open":
            link = str(child.attrGet("href") or "")
        elif kind == "link_close":
            link = None
        elif kind in ("text", "code_inline", "softbreak", "hardbreak"):
            text = {"softbreak": " ", "hardbreak": "\n"}.get(kind, child.content)
            section: dict[str, Any] = {"text": text}
            wanted = [*styles, "code"] if kind == "code_inline" else list(styles)
            if wanted:
                section["styling"] = wanted
            if link:
                section["link"] = {"href": link}
            out.append(section)
        elif kind == "footnote_ref":
            out.append({"text": f"[{child.meta['id'] + 1}]"})
        else:
            raise _Unblockable(kind)
    return out


def _plain(inline: Token) -> str:
    """An inline token as text; _Unblockable when formatting or a link would be lost."""
    parts = _formatted(inline)
    if any("link" in p or "styling" in p for p in parts):
        raise _Unblockable("formatting")
    return "".join(p["text"] for p in parts)


def _block(group: list[Token]) -> dict[str, Any]:
    """One top-level block of tokens as a beehiiv block; _Unblockable if there is none."""
    first = group[0]
    kind = first.type
    if kind == "paragraph_open":
        inline = group[1]
        if first.meta.get("figure") or _is_image_only(inline):
            image = next(c for c in inline.children or [] if c.type == "image")
            block: dict[str, Any] = {
                "type": "image",
                "imageUrl": str(image.attrGet("src") or ""),
                "alt_text": "".join(c.content for c in image.children or []) or image.content,
            }
            title = image.attrGet("title")
            if title:
                block["caption"] = str(title)
            link = next((c for c in inline.children or [] if c.type == "link_open"), None)
            if link is not None:
                block["url"] = str(link.attrGet("href") or "")
            return block
        return {"type": "paragraph", "formattedText": _formatted(inline)}
    if kind == "heading_open":
        return {"type": "heading", "level": first.tag[1], "text": _plain(group[1])}
    if kind in ("bullet_list_open", "ordered_list_open"):
        items = []
        for index, token in enumerate(group):
            if token.type == "list_item_open":
                inlines = _item_inlines(group, index)
                if len(inlines) != 1:
                    raise _Unblockable("list item")
                items.append(_plain(inlines[0]))
        block = {"type": "list", "items": items}
        block["listType"] = "ordered" if kind == "ordered_list_open" else "unordered"
        if kind == "ordered_list_open":
            block["startNumber"] = int(first.attrGet("start") or 1)
        return block
    if kind == "table_open":
        rows: list[list[dict[str, Any]]] = []
        for token in group:
            if token.type == "tr_open":
                rows.append([])
            elif token.type == "inline" and rows:
                rows[-1].append({"text": _plain(token)})
        return {"type": "table", "rows": rows, "headerRow": True}
    if kind == "blockquote_open":
        inlines = [t for t in group if t.type == "inline"]
        if len(inlines) != 1 or any(t.type not in _QUOTE_PARTS for t in group):
            raise _Unblockable("quote")
        return {"type": "quote", "quote": _plain(inlines[0])}
    if kind == "hr":
        return {"type": "content_break"}
    raise _Unblockable(kind)


_QUOTE_PARTS = (
    "blockquote_open",
    "blockquote_close",
    "paragraph_open",
    "paragraph_close",
    "inline",
)


def _is_image_only(inline: Token) -> bool:
    kinds = [
        c.type for c in inline.children or [] if not (c.type == "text" and not c.content.strip())
    ]
    return kinds in (["image"], ["link_open", "image", "link_close"])


def _item_inlines(group: list[Token], start: int) -> list[Token]:
    """The inline tokens directly inside the list item opening at `start`."""
    depth, found = 0, []
    for token in group[start:]:
        depth += token.nesting
        if token.type in ("bullet_list_open", "ordered_list_open") and depth > 1:
            raise _Unblockable("nested list")
        if token.type == "inline":
            found.append(token)
        if depth == 0:
            break
    return found


def blocks_for(post: GatedPost, paywall_id: str | None) -> list[dict[str, Any]]:
    """The post as beehiiv blocks, with visibility and the paywall break (module docs)."""
    out: list[dict[str, Any]] = []
    for section in post.sections:
        if section.readers == "paywall":
            if paywall_id is None:
                raise InputError("the issue has a paywall marker, but no paywall_id is set")
            out.append({"type": "paywall_break", "paywall_id": paywall_id})
            continue
        visibility = {"premium": PREMIUM_ONLY, "free": FREE_ONLY}.get(section.readers)
        for block in _section_blocks(section):
            if visibility is not None:
                block["visibility_settings"] = dict(visibility)
            out.append(block)
    return out


def _section_blocks(section: Section) -> Iterator[dict[str, Any]]:
    if section.footnotes:
        yield {"type": "html", "html": section.html}
        return
    for group, html in zip(_groups(section.tokens), section.blocks, strict=True):
        try:
            yield _block(group)
        except _Unblockable:
            yield {"type": "html", "html": html}


class BeehiivProvider(HttpCampaignProvider):
    """Publishes through beehiiv's API v2 (Create Post: beta, Enterprise plans)."""

    name: ClassVar[str] = "beehiiv"
    title: ClassVar[str] = "beehiiv"
    features: ClassVar[Features] = Features(
        self_gated=True, native_schedule=True, test_sends=False, find_by_name=False
    )
    # beehiiv adds its own footer with the reader's unsubscribe link; this tag only stands in
    # the email postcli renders for its checks, which beehiiv never receives.
    unsubscribe_tag: ClassVar[str | None] = builtin("beehiiv").unsubscribe_tag
    secret_variables: ClassVar[tuple[str, ...]] = builtin("beehiiv").secret_variables
    settings_schema: ClassVar[SettingsSchema] = http_schema(
        "beehiiv",
        publication_id=Key(
            (str,), "'publication_id' in [providers.beehiiv] must be text, like pub_..."
        ),
        paywall_id=Key((str,), "'paywall_id' in [providers.beehiiv] must be the paywall's id"),
        tiers=Key(
            (dict,),
            "'tiers' in [providers.beehiiv] must be { free = [TIER_ID, ...], premium = [...] }",
        ),
    )
    DEFAULT_BASE_URL: ClassVar[str | None] = "https://api.beehiiv.com/v2"

    def __init__(
        self, settings: Any, *, now: Callable[[], datetime] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(settings, **kwargs)
        self._now = now or (lambda: datetime.now(UTC))
        publication = self.options.get("publication_id")
        if publication is not None and (
            not isinstance(publication, str) or not publication.strip()
        ):
            raise self.bad(
                "publication_id",
                "'publication_id' in [providers.beehiiv] must be text, like pub_...",
            )
        self.publication_id: str | None = publication.strip() if publication else None
        paywall = self.options.get("paywall_id")
        if paywall is not None and (not isinstance(paywall, str) or not paywall.strip()):
            raise self.bad(
                "paywall_id", "'paywall_id' in [providers.beehiiv] must be the paywall's id (text)"
            )
        self.paywall_id: str | None = paywall.strip() if paywall else None
        tiers = self.options.get("tiers", DEFAULT_TIERS)
        if not isinstance(tiers, Mapping) or any(k not in DEFAULT_TIERS for k in tiers):
            raise self.bad(
                "tiers",
                "'tiers' in [providers.beehiiv] must be { free = [TIER_ID, ...], premium = [...] }",
            )
        self.tiers: dict[str, list[str]] = {}
        for variant in DEFAULT_TIERS:
            ids = tiers.get(variant, DEFAULT_TIERS[variant])
            if (
                not isinstance(ids, list)
                or not ids
                or not all(isinstance(i, str) and i for i in ids)
            ):
                raise self.bad(
                    "tiers",
                    f"the {variant} tiers in [providers.beehiiv] must be a list of tier ids",
                )
            self.tiers[variant] = list(ids)

    def validate(self) -> None:
        super().validate()
        if self.publication_id is None:
            raise self.bad(
                "publication_id",
                "[providers.beehiiv] needs 'publication_id' (pub_..., under Settings → API)",
            )

    def auth(self) -> tuple[dict[str, str], Any, list[str]]:
        key = self.key(API_KEY)
        return {"Authorization": f"Bearer {key}"}, None, [key]

    def describe(self) -> str:
        return (
            f"beehiiv publication {self.publication_id} (one post; beehiiv gates the premium part)"
        )

    @property
    def _posts(self) -> str:
        return f"/publications/{self.publication_id}/posts"

    # -- requests ------------------------------------------------------------------------------

    def _request(self, method: str, path: str, *ok: int, **kwargs: Any) -> httpx.Response:
        """One request; a 4xx (but those in `ok`) is ProviderRefused with beehiiv's own words,
        and an answer saying the plan lacks the API says so."""
        allow = (400, 401, 403, 404, 405, 409, 422)
        answer: httpx.Response = self.api.request(method, path, allow=allow, **kwargs)
        status = answer.status_code
        if 200 <= status < 300 or status in ok:
            return answer
        detail = _beehiiv_error(answer)
        shown = f"{method} {path.replace(str(self.publication_id), '{publication}')}"
        if status == 403 and any(word in detail.lower() for word in _PLAN_WORDS):
            raise ProviderRefused(
                f"beehiiv refused {shown}: your plan does not include this API ({detail})",
                hint="beehiiv's Create Post API is in beta and open to Enterprise plans only; "
                "publish through another provider, or ask beehiiv to enable it",
            )
        hint = f"check {API_KEY} and publication_id" if status in (401, 403) else None
        raise ProviderRefused(
            f"beehiiv refused {shown}: {status} {self.api.redact(detail)}", hint=hint
        )

    # -- the post --------------------------------------------------------------------------------

    def _post_of(self, campaign: Campaign) -> GatedPost:
        post = campaign.post
        if post is None:
            raise InputError(
                "the beehiiv provider needs the issue's gated post; this postcli run did not "
                "make one",
                hint="run the send through 'postcli send'",
            )
        return post

    def _tier_ids(self, campaign: Campaign) -> list[str]:
        if campaign.variant in ("free", "premium"):
            return list(self.tiers[campaign.variant])
        return [
            *self.tiers["free"],
            *(t for t in self.tiers["premium"] if t not in self.tiers["free"]),
        ]

    def body(self, campaign: Campaign) -> dict[str, Any]:
        post = self._post_of(campaign)
        if post.has_paywall and self.paywall_id is None:
            raise self.bad(
                "paywall_id",
                "[providers.beehiiv] needs 'paywall_id' for an issue with a paywall marker: "
                "the paywall_break block names the paywall",
            )
        email = campaign.email
        tiers = self._tier_ids(campaign)
        body: dict[str, Any] = {
            "title": post.title,
            "blocks": blocks_for(post, self.paywall_id),
            "status": "confirmed",
            "recipients": {"email": {"tier_ids": tiers}, "web": {"tier_ids": tiers}},
            "email_settings": {"email_subject_line": email.subject},
            "web_settings": {"slug": post.slug},
        }
        if post.subtitle:
            body["subtitle"] = post.subtitle
        if post.preheader:
            body["email_settings"]["email_preview_text"] = post.preheader
        if self.paywall_id and post.has_paywall:
            body["web_settings"]["paywall_id"] = self.paywall_id
        if post.tags:
            body["content_tags"] = list(post.tags)
        if campaign.send_at is not None:
            body["scheduled_at"] = campaign.send_at.astimezone(UTC).isoformat(timespec="seconds")
        return body

    # -- look-ups ------------------------------------------------------------------------------

    def _remote(self, post: dict[str, Any]) -> RemoteCampaign | None:
        status = post.get("status")
        if status == "archived":
            return None  # unscheduled: gone as far as postcli is concerned
        if status == "draft":
            return RemoteCampaign(str(post["id"]), RemoteStatus.DRAFT, post.get("web_url"))
        when = post.get("publish_date")
        later = isinstance(when, int | float) and when > self._now().timestamp()
        state = RemoteStatus.SCHEDULED if later else RemoteStatus.SENT
        return RemoteCampaign(str(post["id"]), state, post.get("web_url"))

    def _find(self, post: GatedPost) -> RemoteCampaign | None:
        """The post by its slug, then by its title among the newest posts."""
        found = self._request(
            "GET", self._posts, params={"slugs[]": post.slug, "status": "all", "limit": "10"}
        ).json()
        for item in found.get("data") or []:
            if item.get("slug") == post.slug:
                remote = self._remote(item)
                if remote is not None:
                    return remote
        newest = self._request(
            "GET",
            self._posts,
            params={
                "status": "all",
                "limit": str(PAGE),
                "order_by": "created",
                "direction": "desc",
            },
        ).json()
        for item in newest.get("data") or []:
            if item.get("title") == post.title and str(item.get("slug", "")).startswith(post.slug):
                remote = self._remote(item)
                if remote is not None:
                    return remote
        return None

    def lookup(self, name: str, campaign: Campaign | None) -> RemoteCampaign | None:
        return None if campaign is None else self._find(self._post_of(campaign))

    def fetch(self, remote_id: str) -> RemoteCampaign | None:
        answer = self._request("GET", f"{self._posts}/{remote_id}", 404)
        if answer.status_code == 404:
            return None
        return self._remote(answer.json()["data"])

    # -- create, once ----------------------------------------------------------------------------

    def create(self, campaign: Campaign, name: str) -> str:
        answer = self._request("POST", self._posts, json=self.body(campaign))
        return str(answer.json()["data"]["id"])

    def schedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None:
        """Created with its schedule: nothing more to do."""

    def send_now(self, remote_id: str, campaign: Campaign) -> None:
        """Created confirmed: beehiiv publishes it at once."""

    def send_campaign(self, campaign: Campaign, checkpoint: Checkpoint) -> Delivery:
        post = self._post_of(campaign)
        self.body(campaign)  # a setting or block problem stops the send before any call
        found = self.fetch(campaign.remote_id) if campaign.remote_id else None
        found = found or self._find(post)
        if found is not None and found.status is RemoteStatus.DRAFT:
            raise ProviderRefused(
                f"beehiiv has a draft with the slug '{post.slug}'; postcli creates posts "
                "confirmed and cannot change a draft's status",
                hint="delete or rename that draft in beehiiv, then run this again",
            )
        if found is not None:
            log.info("beehiiv: post %s is %s already; left alone", found.remote_id, found.status)
            return Delivery(delivered(found.status), found.remote_id, found.url)
        remote_id = self._create(campaign, campaign.name)
        checkpoint(remote_id)
        status: Delivered = SendStatus.SCHEDULED if campaign.send_at else SendStatus.SENT
        made = self._quiet_fetch(remote_id)
        return Delivery(
            status, remote_id, made.url if made else None, scheduled_for=campaign.send_at
        )

    def send_test(self, campaign: Campaign, address: str) -> Delivery:
        raise InputError(
            "beehiiv's API has no test send",
            hint="send the test copy through the file or smtp provider instead: "
            f"POSTCLI_PROVIDER=smtp postcli send {campaign.issue_id} --test {address} "
            "(or POSTCLI_PROVIDER=file), or use "
            "beehiiv's own test email from the post's editor",
        )

    # -- after scheduling: move, edit, cancel ---------------------------------------------------

    def reschedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None:
        """Move a scheduled post to `when` with the campaign's current content (its status
        stays `confirmed`: beehiiv changes no status by an update)."""
        found = self.fetch(remote_id)
        if found is None or found.status is not RemoteStatus.SCHEDULED:
            raise ProviderRefused(
                f"beehiiv post {remote_id} is not scheduled "
                f"({'gone' if found is None else found.status}); nothing to move"
            )
        body = self.body(campaign)
        update: dict[str, Any] = {
            key: body[key]
            for key in ("title", "subtitle", "blocks", "email_settings", "content_tags")
            if key in body
        }
        update["scheduled_at"] = when.astimezone(UTC).isoformat(timespec="seconds")
        self._request("PATCH", f"{self._posts}/{remote_id}", json=update)

    def unschedule(self, remote_id: str) -> None:
        """Cancel a scheduled post: DELETE, which beehiiv turns into `archived` for a confirmed
        post (a draft is deleted outright). A post that went out is refused."""
        found = self.fetch(remote_id)
        if found is None:
            return
        if found.status is RemoteStatus.SENT:
            raise ProviderRefused(
                f"beehiiv post {remote_id} went out already; it cannot be unscheduled"
            )
        self._request("DELETE", f"{self._posts}/{remote_id}", 404)


def _beehiiv_error(answer: httpx.Response) -> str:
    """beehiiv's `{"errors": [{"message", "code"}]}` (or `message`) on one line."""
    try:
        data = answer.json()
    except ValueError:
        return " ".join(answer.text.split())[:300]
    if isinstance(data, dict):
        errors = data.get("errors")
        if isinstance(errors, list) and errors:
            words = [str(e.get("message") if isinstance(e, dict) else e) for e in errors]
            return " ".join("; ".join(words).split())[:300]
        for key in ("message", "statusText", "error"):
            if data.get(key):
                return " ".join(str(data[key]).split())[:300]
    return " ".join(str(data).split())[:300]
