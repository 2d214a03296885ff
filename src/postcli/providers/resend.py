"""The `resend` provider: one Resend broadcast per variant, to that variant's segment.

Owns `[providers.resend]` (`base_url`, `audiences = { free = SEGMENT_ID, premium = SEGMENT_ID }`,
`timeout`). A broadcast is created as a draft named with postcli's stable name, carrying the
HTML, the plain text and the preheader as `preview_text`, then sent now or with `scheduled_at`.
Resend has no idempotency key for broadcasts: a create whose answer was lost is looked up by
name before it is tried again. Test copies are ordinary emails (`POST /emails`, with an
`Idempotency-Key`). The API key comes only from RESEND_API_KEY. See docs/providers/resend.md.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any, ClassVar
from uuid import uuid4

from postcli.model import SendStatus
from postcli.providers._campaigns import HttpCampaignProvider, http_schema, iso_utc, short_key
from postcli.providers.base import Campaign, Delivery, RemoteCampaign, SettingsSchema

API_KEY = "RESEND_API_KEY"
PAGE = 100  # broadcasts per look-up page: Resend's largest


class ResendProvider(HttpCampaignProvider, builtin="resend"):
    """Sends through Resend's broadcasts API."""

    settings_schema: ClassVar[SettingsSchema] = http_schema(audiences=True)
    DEFAULT_BASE_URL: ClassVar[str | None] = "https://api.resend.com"
    AUDIENCES: ClassVar[str | None] = '{ free = "SEGMENT_ID", premium = "SEGMENT_ID" }'

    def __init__(self, settings: Any, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.audiences: dict[str, str] = self.audiences_of(
            lambda segment: (segment.strip() or None) if isinstance(segment, str) else None,
            "a segment id (text)",
        )

    def auth(self) -> tuple[dict[str, str], Any, list[str]]:
        return self.bearer(API_KEY)

    def describe(self) -> str:
        segments = ", ".join(f"{v} to segment {s}" for v, s in self.audiences.items())
        return f"Resend at {self.base_url} ({segments})"

    def lookup(self, name: str, campaign: Campaign | None) -> RemoteCampaign | None:
        params = {"limit": str(PAGE)}
        while True:
            page = self.api.get("/broadcasts", params=params).json()
            data = page.get("data") or []
            for broadcast in data:
                if broadcast.get("name") == name:
                    return self.remote(broadcast)
            if not page.get("has_more") or not data:
                return None
            params = {"limit": str(PAGE), "after": str(data[-1]["id"])}

    def fetch(self, remote_id: str) -> RemoteCampaign | None:
        answer = self.api.get(f"/broadcasts/{remote_id}", allow=(404,))
        return None if answer.status_code == 404 else self.remote(answer.json())

    def create(self, campaign: Campaign, name: str) -> str:
        email = campaign.email
        body: dict[str, Any] = {
            "name": name,
            "segment_id": self.audience(campaign.variant),
            "from": campaign.sender,
            "subject": email.subject,
            "html": email.html,
            "text": email.text,
        }
        if campaign.reply_to:
            body["reply_to"] = [campaign.reply_to]
        if email.preheader:
            body["preview_text"] = email.preheader
        return str(self.api.post("/broadcasts", json=body).json()["id"])

    def schedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None:
        self.api.post(f"/broadcasts/{remote_id}/send", json={"scheduled_at": iso_utc(when)})

    def unschedule(self, remote_id: str) -> None:
        # Deleting a scheduled broadcast cancels its delivery; Resend cannot unschedule one.
        self.api.delete(f"/broadcasts/{remote_id}", allow=(404,))

    def update_scheduled(
        self, remote_id: str, campaign: Campaign, when: datetime, draft: bool
    ) -> bool:
        if not draft:
            return False  # Resend changes drafts only: cancelled and replaced
        email = campaign.email
        body: dict[str, Any] = {
            "name": campaign.name,
            "subject": email.subject,
            "html": email.html,
            "text": email.text,
        }
        if email.preheader:
            body["preview_text"] = email.preheader
        self.api.patch(f"/broadcasts/{remote_id}", json=body)
        self.schedule(remote_id, campaign, when)
        return True

    def send_now(self, remote_id: str, campaign: Campaign) -> None:
        self.api.post(f"/broadcasts/{remote_id}/send", json={})

    def send_test(self, campaign: Campaign, address: str) -> Delivery:
        """One ordinary email to `address`; no broadcast is made. Resend fills its unsubscribe
        tag only in broadcasts, so the test copy links to the newsletter's own page instead."""
        email = campaign.email
        tag = self.unsubscribe_tag or ""
        from postcli.mime import unsubscribe_link

        newsletter = self.settings.newsletter
        fallback = unsubscribe_link(newsletter.unsubscribe_url, address) or newsletter.url or "#"
        body: dict[str, Any] = {
            "from": campaign.sender,
            "to": [address],
            "subject": email.subject,
            "html": email.html.replace(tag, html.escape(fallback)),
            "text": email.text.replace(tag, fallback),
        }
        if campaign.reply_to:
            body["reply_to"] = campaign.reply_to
        # Safe to retry within this run; a new key per run, so asking again sends again.
        key = short_key("test", campaign.name, uuid4().hex, limit=256)
        answer = self.api.post("/emails", json=body, idempotency_key=key)
        return Delivery(SendStatus.SENT, str(answer.json().get("id") or "") or None)
