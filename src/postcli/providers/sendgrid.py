"""The `sendgrid` provider: one SendGrid Marketing Campaigns Single Send per variant.

Owns `[providers.sendgrid]`: `audiences = { free = ["LIST_ID"], premium = ["LIST_ID"] }` (list
ids, at most 50 each), `sender_id` (a verified Marketing sender), `suppression_group_id` (the
unsubscribe group SendGrid's `{{{unsubscribe}}}` tag leaves), `base_url` (default
`https://api.sendgrid.com`), `timeout`. The flow is `_campaigns.py`'s: look the Single Send up by
postcli's stable name (`POST /v3/marketing/singlesends/search`), create it as a draft with the
HTML and plain text, checkpoint its id, then `PUT /v3/marketing/singlesends/{id}/schedule` with
`send_at` "now" or an ISO time. A 429 is waited out as its `X-RateLimit-Reset` says. `send
--test` goes through the Mail Send API (`POST /v3/mail/send`), the unsubscribe tag standing for
the suppression group's own link there. The key comes only from SENDGRID_API_KEY. See
docs/providers/sendgrid.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from email.utils import parseaddr
from typing import Any, ClassVar

from postcli.model import RemoteStatus, SendStatus
from postcli.providers._campaigns import HttpCampaignProvider, http_schema
from postcli.providers.base import Campaign, Delivery, Key, RemoteCampaign, SettingsSchema
from postcli.providers.mailchimp import title_for

API_KEY = "SENDGRID_API_KEY"
PAGE = 100  # Single Sends a search page
MAX_LISTS = 50
# Mail Send's own substitution for the unsubscribe group's link (Marketing's tag means nothing
# there).
MAIL_SEND_UNSUBSCRIBE = "<%asm_group_unsubscribe_raw_url%>"


SINGLE_SENDS = "/v3/marketing/singlesends"


def _schedule(remote_id: str) -> str:
    """A Single Send's schedule: PUT sets it (or "now"), DELETE takes it back to a draft."""
    return f"{SINGLE_SENDS}/{remote_id}/schedule"


def iso_z(moment: datetime) -> str:
    """An instant as SendGrid writes it: 2026-12-01T00:00:00Z."""
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SendgridProvider(HttpCampaignProvider, builtin="sendgrid"):
    """Sends through SendGrid Marketing Campaigns (Single Sends)."""

    settings_schema: ClassVar[SettingsSchema] = http_schema(
        audiences=True,
        sender_id=Key((int,), must="a number, like 123456"),
        suppression_group_id=Key((int,), must="a number, like 7890"),
    )
    DEFAULT_BASE_URL: ClassVar[str | None] = "https://api.sendgrid.com"
    STATUSES: ClassVar[Mapping[str, RemoteStatus]] = {
        "draft": RemoteStatus.DRAFT,
        "scheduled": RemoteStatus.SCHEDULED,
        "triggered": RemoteStatus.SENT,
    }
    AUDIENCES: ClassVar[str | None] = '{ free = ["LIST_ID"], premium = ["LIST_ID"] }'

    def __init__(self, settings: Any, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.audiences: dict[str, list[str]] = self.audiences_of(
            _list_ids, f'a list of 1 to {MAX_LISTS} list ids, like ["LIST_ID"]'
        )
        self.sender_id = self._number("sender_id")
        self.suppression_group_id = self._number("suppression_group_id")

    def _number(self, key: str) -> int | None:
        value = self.options.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise self.bad(key, f"'{key}' in [providers.sendgrid] must be a number, like 123456")
        return value

    def auth(self) -> tuple[dict[str, str], Any, list[str]]:
        return self.bearer(API_KEY)

    def validate(self) -> None:
        super().validate()
        for key in ("sender_id", "suppression_group_id"):
            if getattr(self, key) is None:
                raise self.bad(
                    key,
                    f"[providers.sendgrid] needs '{key}'",
                    hint="Marketing > Senders gives the sender id; Suppressions > Unsubscribe "
                    "Groups the group id",
                )

    def describe(self) -> str:
        lists = ", ".join(f"{v} to lists {', '.join(ids)}" for v, ids in self.audiences.items())
        return f"SendGrid Single Sends ({lists})"

    def lookup(self, name: str, campaign: Campaign | None) -> RemoteCampaign | None:
        wanted = title_for(name)
        params: dict[str, str] = {"page_size": str(PAGE)}
        while True:
            # A search is a POST that changes nothing: safe to repeat.
            page = self.api.post(
                f"{SINGLE_SENDS}/search",
                json={"name": wanted},
                params=params,
                retry_unsafe=True,
            ).json()
            found = page.get("result") or []
            for item in found:
                if item.get("name") == wanted:
                    return self.remote(item)
            following = ((page.get("_metadata") or {}).get("next")) or ""
            token = _page_token(following)
            if not found or not token:
                return None
            params = {"page_size": str(PAGE), "page_token": token}

    def fetch(self, remote_id: str) -> RemoteCampaign | None:
        answer = self.api.get(f"{SINGLE_SENDS}/{remote_id}", allow=(404,))
        return None if answer.status_code == 404 else self.remote(answer.json())

    def create(self, campaign: Campaign, name: str) -> str:
        body = self._fields(campaign, name)
        return str(self.api.post(SINGLE_SENDS, json=body).json()["id"])

    def _fields(self, campaign: Campaign, name: str) -> dict[str, Any]:
        email = campaign.email
        return {
            "name": title_for(name),
            "categories": ["postcli"],
            "send_to": {"list_ids": self.audience(campaign.variant)},
            "email_config": {
                "subject": email.subject,
                "html_content": email.html,
                "plain_content": email.text,
                "generate_plain_content": False,
                "editor": "code",
                "sender_id": self.sender_id,
                "suppression_group_id": self.suppression_group_id,
            },
        }

    def schedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None:
        self.api.put(_schedule(remote_id), json={"send_at": iso_z(when)})

    def unschedule(self, remote_id: str) -> None:
        # Cancel Scheduled Single Send: it goes back to a draft.
        self.api.delete(_schedule(remote_id))

    def update_scheduled(
        self, remote_id: str, campaign: Campaign, when: datetime, draft: bool
    ) -> bool:
        # SendGrid changes drafts only. The PATCH sets every field outright.
        def update() -> object:
            return self.api.patch(
                f"{SINGLE_SENDS}/{remote_id}",
                json=self._fields(campaign, campaign.name),
                retry_unsafe=True,
            )

        return self.update_as_draft(remote_id, campaign, when, draft, update)

    def send_now(self, remote_id: str, campaign: Campaign) -> None:
        self.api.put(_schedule(remote_id), json={"send_at": "now"})

    def send_test(self, campaign: Campaign, address: str) -> Delivery:
        """One email through the Mail Send API; no Single Send is made or touched."""
        email = campaign.email
        tag = self.unsubscribe_tag or ""
        name, sender = parseaddr(campaign.sender)
        body: dict[str, Any] = {
            "personalizations": [{"to": [{"email": address}]}],
            "from": {"email": sender, **({"name": name} if name else {})},
            "subject": email.subject,
            "content": [
                {"type": "text/plain", "value": email.text.replace(tag, MAIL_SEND_UNSUBSCRIBE)},
                {"type": "text/html", "value": email.html.replace(tag, MAIL_SEND_UNSUBSCRIBE)},
            ],
            "asm": {"group_id": self.suppression_group_id},
            "categories": ["postcli-test"],
        }
        if campaign.reply_to:
            body["reply_to"] = {"email": parseaddr(campaign.reply_to)[1]}
        answer = self.api.post("/v3/mail/send", json=body)
        return Delivery(SendStatus.SENT, answer.headers.get("X-Message-Id"))


def _list_ids(lists: object) -> list[str] | None:
    """A variant's audience: one list id or a list of them (None when it is neither)."""
    ids = [lists] if isinstance(lists, str) else lists
    if not isinstance(ids, list) or not 0 < len(ids) <= MAX_LISTS:
        return None
    if not all(isinstance(i, str) and i.strip() for i in ids):
        return None
    return [i.strip() for i in ids]


def _page_token(url: str) -> str | None:
    from urllib.parse import parse_qs, urlsplit

    values = parse_qs(urlsplit(url).query).get("page_token")
    return values[0] if values else None
