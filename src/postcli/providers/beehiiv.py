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
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from postcli.errors import ProviderRefused
from postcli.model import Delivered, RemoteStatus, SendStatus, Variant
from postcli.providers._beehiiv_blocks import blocks_for
from postcli.providers._campaigns import delivered, http_schema, no_test_send
from postcli.providers._self_gated import SelfGatedHttpProvider
from postcli.providers.base import (
    Campaign,
    Checkpoint,
    Delivery,
    Key,
    RemoteCampaign,
    SettingsSchema,
)

if TYPE_CHECKING:
    from postcli.render.gated import GatedPost

log = logging.getLogger("postcli.providers.beehiiv")

API_KEY = "BEEHIIV_API_KEY"
DEFAULT_TIERS = {Variant.FREE: ["free"], Variant.PREMIUM: ["premium"]}  # beehiiv tier ids
PAGE = 100
_PLAN_WORDS = ("enterprise", "plan", "upgrade", "not available", "beta")


class BeehiivProvider(SelfGatedHttpProvider, builtin="beehiiv"):
    """Publishes through beehiiv's API v2 (Create Post: beta, Enterprise plans)."""

    settings_schema: ClassVar[SettingsSchema] = http_schema(
        publication_id=Key((str,), must="text, like pub_..."),
        paywall_id=Key((str,), must="the paywall's id"),
        tiers=Key((dict,), must="{ free = [TIER_ID, ...], premium = [...] }"),
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
            raise self.invalid("publication_id")
        self.publication_id: str | None = publication.strip() if publication else None
        paywall = self.options.get("paywall_id")
        if paywall is not None and (not isinstance(paywall, str) or not paywall.strip()):
            raise self.bad(
                "paywall_id", "'paywall_id' in [providers.beehiiv] must be the paywall's id (text)"
            )
        self.paywall_id: str | None = paywall.strip() if paywall else None
        tiers = self.options.get("tiers", DEFAULT_TIERS)
        if not isinstance(tiers, Mapping) or any(k not in DEFAULT_TIERS for k in tiers):
            raise self.invalid("tiers")
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
        return self.bearer(API_KEY)

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

    def _tier_ids(self, campaign: Campaign) -> list[str]:
        if campaign.variant in (Variant.FREE, Variant.PREMIUM):
            return list(self.tiers[campaign.variant])
        free, premium = self.tiers[Variant.FREE], self.tiers[Variant.PREMIUM]
        return [*free, *(t for t in premium if t not in free)]

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
        why = "beehiiv's API has no test send"
        raise no_test_send(
            campaign, address, why, "beehiiv's own test email from the post's editor"
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
        # Every field is set outright, so a PATCH whose answer was lost is safe to repeat.
        self._request("PATCH", f"{self._posts}/{remote_id}", json=update, retry_unsafe=True)

    def update_scheduled(
        self, remote_id: str, campaign: Campaign, when: datetime, draft: bool
    ) -> bool:
        """The MovableProvider seam: a scheduled post moves in place. A draft cannot become
        scheduled (beehiiv changes no status by an update): False, so it is replaced."""
        if draft:
            return False
        self.reschedule(remote_id, campaign, when)
        return True

    def unschedule(self, remote_id: str) -> None:
        """Cancel a scheduled post: DELETE, which beehiiv turns into `archived` for a confirmed
        post (a draft is deleted outright). A post that went out is refused."""
        if self._unschedulable(remote_id, "post") is not None:
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
