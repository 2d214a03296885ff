"""The `ghost` provider: one Ghost post per issue, gated by Ghost itself, emailed once.

Ghost knows its members and what they pay for, so postcli sends one post for everyone (a
self-gated provider) and Ghost decides who reads what, on the site and in the email:

- the body is postcli's own rendering of the content (`postcli.render.gated`), not the email;
- the paywall marker becomes Ghost's members-only card (`<!--members-only-->`) on a post whose
  `visibility` is `[providers.ghost] visibility` (`paid` by default, `members`, or `tiers` with
  `tiers`): the card cuts only such posts;
- `::: premium` / `::: free` blocks become HTML cards whose web and email visibility exclude the
  other tier (`status:-free` / `status:free`). Ghost's HTML import cannot carry a card's
  visibility, so a post with such blocks is sent as Lexical (Ghost's own document format), every
  section an HTML card; a post without them is sent as HTML (`?source=html`) and Ghost makes
  editable paragraphs of it, with HTML cards only around what its conversion would change.

A post is created as a draft with the issue id as its slug and the internal tag `#postcli`,
then published or scheduled (at least two minutes ahead) with a PUT that names the newsletter
and `email_segment`, carrying the `updated_at` of the last read (a stale one is 409: the post is
read again and the PUT tried once more). Before creating, the post is looked up by its slug; its
id goes to the ledger at once; a post that is published already is never published again. After
a publish, the post's email record is read back: one that Ghost marks `failed` (no bulk mailer,
say) is exit 4, not "sent".

Requests carry `Authorization: Ghost <token>`: a JWT signed with PyJWT (HS256, `kid` = the key's
id, `aud` = `/admin/`, valid five minutes) from GHOST_ADMIN_API_KEY (`id:secret`). The key, its
secret and every token made are redacted from all output. See docs/providers/ghost.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx

from postcli.config import add_secret
from postcli.errors import ApiRefused, ConfigError, ProviderRefused
from postcli.model import Audience, RemoteStatus, SendStatus, Variant
from postcli.providers._campaigns import http_schema, issue_of, no_test_send
from postcli.providers._ghost_api import (
    GhostToken,
    email_failed,
    email_failure,
    first_post,
    ghost_error,
    posts_of,
    split_key,
)
from postcli.providers._ghost_content import (
    FREE_MEMBERS,
    PAID_MEMBERS,
    html_document,
    lexical_document,
)
from postcli.providers._ghost_settings import ghost_options
from postcli.providers._self_gated import SelfGatedHttpProvider
from postcli.providers.base import Campaign, Delivery, Key, RemoteCampaign, SettingsSchema

log = logging.getLogger("postcli.providers.ghost")

API_KEY = "GHOST_ADMIN_API_KEY"
ACCEPT_VERSION = "v5.0"
SCHEDULE_LEAD = timedelta(minutes=2)  # Ghost refuses a schedule sooner than this
POSTCLI_TAG = "#postcli"  # an internal tag: marks the posts postcli made
EXCERPT_MAX = 300  # Ghost's limit on custom_excerpt
_EMAIL_POLL = (0.5, 1.0, 1.5, 2.0, 3.0)  # seconds between reads of a new email's status


class GhostProvider(SelfGatedHttpProvider, builtin="ghost"):
    """Publishes through the Ghost Admin API (Ghost 5)."""

    settings_schema: ClassVar[SettingsSchema] = http_schema(
        newsletter=Key((str,), must="a newsletter slug"),
        visibility=Key((str,), must="paid, members or tiers"),
        tiers=Key((list,), must="a list of tier slugs or ids"),
        email_only=Key((bool,), must="true or false"),
    )
    TRIES: ClassVar[int] = 3
    # Ghost's post statuses as postcli sees them.
    STATUSES: ClassVar[Mapping[str, RemoteStatus]] = {
        "draft": RemoteStatus.DRAFT,
        "scheduled": RemoteStatus.SCHEDULED,
        "published": RemoteStatus.SENT,
        "sent": RemoteStatus.SENT,
    }

    def __init__(
        self,
        settings: Any,
        *,
        now: Callable[[], datetime] | None = None,
        email_poll: tuple[float, ...] = _EMAIL_POLL,
        **kwargs: Any,
    ) -> None:
        super().__init__(settings, **kwargs)
        self._now = now or (lambda: datetime.now(UTC))
        self._email_poll = email_poll
        self._token: GhostToken | None = None
        chosen = ghost_options(self.options, self.bad)
        self.newsletter: str | None = chosen.newsletter
        self.visibility: str = chosen.visibility
        self.tiers: list[str] = chosen.tiers
        self.email_only: bool = chosen.email_only
        self._fresh: dict[str, str] = {}  # post id -> the campaign name it was created with

    # -- settings and auth ------------------------------------------------------------------

    def validate(self) -> None:
        key = self.require_secret(API_KEY)
        try:
            _, secret_hex = split_key(key)
        except ValueError as exc:
            raise ConfigError(
                f"{API_KEY} is not a Ghost Admin API key: {exc}",
                hint="copy the Admin API key of a custom integration (Ghost Admin → Settings → "
                "Integrations)",
            ) from None
        add_secret(secret_hex)
        if self.base_url is None:
            raise self.bad(
                "base_url",
                "[providers.ghost] needs 'base_url', the site, like https://example.ghost.io",
            )
        if self.newsletter is None:
            raise self.bad(
                "newsletter",
                "[providers.ghost] needs 'newsletter', the slug of the newsletter to email "
                "(Ghost's first one is 'default-newsletter')",
            )
        try:
            import jwt  # noqa: F401
        except ImportError:
            raise ConfigError(
                "the ghost provider needs PyJWT to sign its requests",
                hint="pip install 'postcli[ghost]'",
            ) from None

    def auth(self) -> tuple[dict[str, str], Any, list[str]]:
        key = self.require_secret(API_KEY)
        _, secret_hex = split_key(key)
        self._token = GhostToken(key)
        return {"Accept-Version": ACCEPT_VERSION}, self._token, [key, secret_hex]

    @property
    def api(self) -> Any:
        api = super().api
        if not api.base_url.endswith("/ghost/api/admin"):
            api.base_url = f"{api.base_url}/ghost/api/admin"
        return api

    def describe(self) -> str:
        who = {"paid": "paid members", "members": "all members", "tiers": ", ".join(self.tiers)}
        where = "email only" if self.email_only else "site and email"
        return (
            f"Ghost at {self.base_url}, newsletter '{self.newsletter}' ({where}; the premium part "
            f"for {who[self.visibility]})"
        )

    # -- requests with Ghost's own error messages ---------------------------------------------

    def call(self, method: str, path: str, **kwargs: Any) -> object:
        """One request and its JSON; a 4xx becomes ApiRefused with Ghost's own message and
        code."""
        allow = set(kwargs.pop("allow", ())) | {400, 401, 403, 404, 409, 422, 501}
        answer = self.api.request(method, path, allow=tuple(allow), **kwargs)
        status = answer.status_code
        if 200 <= status < 300:
            return answer.json() if answer.content else {}
        raise self._refused(method, path, answer)

    def _refused(self, method: str, path: str, answer: httpx.Response) -> ApiRefused:
        code, message = ghost_error(answer)
        shown = self.api.redact(f"{method} {path.split('?')[0]}")
        detail = self.api.redact(f"{code + ': ' if code else ''}{message}")
        hint = None
        if answer.status_code in (401, 403):
            hint = f"check {API_KEY} (a custom integration's Admin API key) and base_url"
        return ApiRefused(
            f"Ghost refused {shown}: {answer.status_code} {detail}",
            status=answer.status_code,
            code=code,
            hint=hint,
        )

    # -- the post ----------------------------------------------------------------------------

    def _visibility_for(self, campaign: Campaign) -> str:
        return "public" if campaign.variant == Variant.FREE else self.visibility

    def _segment_for(self, campaign: Campaign) -> str:
        # One email, cut by Ghost per member: free members get the teaser, paid the whole.
        segments = {Audience.ALL: "all", Variant.PREMIUM: PAID_MEMBERS, Variant.FREE: FREE_MEMBERS}
        return segments[campaign.variant]

    def _slug_for(self, campaign: Campaign) -> str:
        return self._post_of(campaign).slug

    def content_fields(self, campaign: Campaign) -> tuple[dict[str, Any], dict[str, str]]:
        """(post fields, query) carrying the content: Lexical when one-tier cards are needed,
        else HTML for Ghost to convert."""
        post = self._post_of(campaign)
        visibility = self._visibility_for(campaign)
        if post.has_blocks:
            guard = visibility in ("paid", "tiers")
            return {"lexical": lexical_document(post, guard_below=guard)}, {}
        return {"html": html_document(post)}, {"source": "html"}

    def post_fields(self, campaign: Campaign) -> dict[str, Any]:
        post = self._post_of(campaign)
        fields: dict[str, Any] = {
            "title": post.title,
            "slug": self._slug_for(campaign),
            "status": "draft",
            "visibility": self._visibility_for(campaign),
            "email_subject": campaign.email.subject,
            "tags": [{"name": POSTCLI_TAG}, *({"name": t} for t in post.tags)],
        }
        if fields["visibility"] == "tiers":
            fields["tiers"] = [{"slug": t} for t in self.tiers]
        if post.preheader:
            # Ghost would otherwise make the excerpt from the text, premium part included.
            fields["custom_excerpt"] = post.preheader[:EXCERPT_MAX]
        if self.email_only:
            fields["email_only"] = True
        return fields

    # -- look-ups ----------------------------------------------------------------------------

    def _read(self, post_id: str) -> dict[str, Any] | None:
        answer = self.api.get(f"/posts/{post_id}/", params={"include": "tags,email"}, allow=(404,))
        if answer.status_code == 404:
            return None
        return first_post(answer.json(), f"GET /posts/{post_id}/")

    def _by_slug(self, slug: str) -> dict[str, Any] | None:
        found = self.call(
            "GET",
            "/posts/",
            params={"filter": f"slug:{slug}", "include": "tags,email", "limit": "1"},
        )
        posts = posts_of(found, "GET /posts/")
        if not posts:
            return None
        post = posts[0]
        tags = post.get("tags") or []
        if not any(isinstance(tag, dict) and tag.get("name") == POSTCLI_TAG for tag in tags):
            raise ProviderRefused(
                f"Ghost already has a post with the slug '{slug}' that postcli did not make",
                hint="rename or delete that post in Ghost Admin, then run this again",
            )
        return post

    def _remote(self, post: dict[str, Any]) -> RemoteCampaign:
        return self.remote(post, post.get("url"))

    def lookup(self, name: str, campaign: Campaign | None) -> RemoteCampaign | None:
        if campaign is None:
            return None  # the slug comes with the campaign's post; see find_campaign
        post = self._by_slug(self._slug_for(campaign))
        if post is None or email_failed(post):
            return None  # a failed email is reported by send_campaign, never as "sent"
        return self._remote(post)

    def find_campaign(self, name: str) -> RemoteCampaign | None:
        """The post of an issue sent as one gated post (variant "all"), by its slug."""
        from postcli.render.gated import slug_for

        parts = name.split(":")
        if len(parts) < 4 or parts[2] != Audience.ALL:
            return None
        post = self._by_slug(slug_for(issue_of(name)))
        return None if post is None or email_failed(post) else self._remote(post)

    def fetch(self, remote_id: str) -> RemoteCampaign | None:
        post = self._read(remote_id)
        return None if post is None else self._remote(post)

    # -- the steps -----------------------------------------------------------------------------

    def create(self, campaign: Campaign, name: str) -> str:
        content, query = self.content_fields(campaign)
        body = {"posts": [{**self.post_fields(campaign), **content}]}
        created = self.call("POST", "/posts/", json=body, params=query or None)
        post = first_post(created, "POST /posts/")
        self._fresh[str(post["id"])] = name
        return str(post["id"])

    def prepare(self, remote_id: str, campaign: Campaign) -> None:
        """A draft an earlier run made gets this run's content (the file is the truth)."""
        if self._fresh.get(remote_id) == campaign.name:
            return
        content, query = self.content_fields(campaign)
        fields = {**self.post_fields(campaign), **content}
        self.update(remote_id, fields, params=query)

    def update(
        self,
        remote_id: str,
        fields: dict[str, Any],
        *,
        params: dict[str, str] | None = None,
        done: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """PUT `fields` with the last `updated_at`; on 409 (someone saved meanwhile, or a retried
        PUT already took effect) read the post again, stop if `done` says it is, else try once
        more."""
        for attempt in (1, 2):
            post = self._read(remote_id)
            if post is None:
                raise ProviderRefused(
                    f"Ghost post {remote_id} is gone", hint="run the send again to make a new one"
                )
            if done is not None and done(post):
                return post
            body = {"posts": [{**fields, "updated_at": post["updated_at"]}]}
            try:
                answer = self.call("PUT", f"/posts/{remote_id}/", json=body, params=params or None)
            except ApiRefused as refused:
                if refused.status == 409 and attempt == 1:
                    log.info("Ghost: post %s changed meanwhile (409); reading it again", remote_id)
                    continue
                raise
            return first_post(answer, f"PUT /posts/{remote_id}/")
        raise AssertionError("unreachable")

    def _publish_query(self, campaign: Campaign) -> dict[str, str]:
        assert self.newsletter is not None
        return {"newsletter": self.newsletter, "email_segment": self._segment_for(campaign)}

    def schedule_time(self, when: datetime) -> datetime:
        soonest = self._now() + SCHEDULE_LEAD + timedelta(seconds=5)
        if when < soonest:
            log.warning(
                "Ghost schedules at least two minutes ahead: moved to %s", soonest.isoformat()
            )
            return soonest.replace(microsecond=0)
        return when

    def schedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None:
        at = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        self.update(
            remote_id,
            {"status": "scheduled", "published_at": at},
            params=self._publish_query(campaign),
            done=lambda post: post.get("status") in ("scheduled", "published", "sent"),
        )

    def send_now(self, remote_id: str, campaign: Campaign) -> None:
        status = "sent" if self.email_only else "published"
        self.update(
            remote_id,
            {"status": status},
            params=self._publish_query(campaign),
            done=lambda post: post.get("status") in ("published", "sent"),
        )

    def send_campaign(self, campaign: Campaign, checkpoint: Any) -> Delivery:
        existing = self._by_slug(self._slug_for(campaign))
        if existing is not None and email_failed(existing):
            raise email_failure(existing, self.api.redact)
        if existing is not None and existing.get("status") in ("published", "sent"):
            log.warning(
                "Ghost: post %s is published already and its email went out once; not sent again",
                existing["id"],
            )
            return Delivery(SendStatus.SENT, str(existing["id"]), existing.get("url"))
        delivery = super().send_campaign(campaign, checkpoint)
        if delivery.status is SendStatus.SENT and delivery.remote_id:
            self._check_email(delivery.remote_id)
        return delivery

    def _check_email(self, remote_id: str) -> None:
        """Read the post's email back until Ghost says how it went; `failed` is exit 4."""
        for pause in (0.0, *self._email_poll):
            if pause:
                self._sleep(pause)
            post = self._read(remote_id)
            email = (post or {}).get("email") or {}
            state = email.get("status")
            if email_failed(post or {}):
                raise email_failure(post or {}, self.api.redact)
            if state in ("submitted", "sent") or (post and not email and pause):
                return
        log.warning("Ghost: the email of post %s is still %s; see Ghost Admin", remote_id, state)

    def send_test(self, campaign: Campaign, address: str) -> Delivery:
        why = (
            "Ghost sends test emails only for staff users, not with an integration's Admin API key"
        )
        raise no_test_send(campaign, address, why, "the post's Preview → Email in Ghost Admin")

    # -- after scheduling: move, edit, cancel ---------------------------------------------------

    def reschedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None:
        """Move a scheduled post to `when` and give it the campaign's current content."""
        at = self.schedule_time(when).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        content, query = self.content_fields(campaign)
        post = self._read(remote_id)
        if post is None or post.get("status") != "scheduled":
            raise ProviderRefused(
                f"Ghost post {remote_id} is not scheduled (it is "
                f"{(post or {}).get('status', 'gone')}); nothing to move"
            )
        fields = {
            **self.post_fields(campaign),
            **content,
            "status": "scheduled",
            "published_at": at,
        }
        self.update(remote_id, fields, params={**query, **self._publish_query(campaign)})

    def update_scheduled(
        self, remote_id: str, campaign: Campaign, when: datetime, draft: bool
    ) -> bool:
        """The MovableProvider seam: a scheduled post moves in place; a draft (one an earlier
        move or `postcli unschedule` left) gets the content, then its schedule."""
        if draft:
            self.prepare(remote_id, campaign)
            self.schedule(remote_id, campaign, when)
        else:
            self.reschedule(remote_id, campaign, when)
        return True

    def unschedule(self, remote_id: str) -> None:
        """Take a scheduled post back to a draft: nothing is published or emailed."""
        post = self._read(remote_id)
        if post is None or post.get("status") == "draft":
            return
        if post.get("status") != "scheduled":
            raise ProviderRefused(
                f"Ghost post {remote_id} went out already ({post.get('status')}); it cannot be "
                "unscheduled"
            )
        self.update(
            remote_id,
            {"status": "draft"},
            done=lambda current: current.get("status") == "draft",
        )
