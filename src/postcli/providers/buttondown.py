"""The `buttondown` provider: one Buttondown email per variant, to free or premium subscribers.

Buttondown knows who pays, so a variant's audience is its email type (`free`, `premium`); there
are no audiences to configure. Every email is created as a draft (Buttondown's default would send
it at once) with the `naked` template and postcli's stable name in its metadata, then published
now or at `publish_date`. Every POST carries an `X-Idempotency-Key`, so a retried request gets
the first answer instead of making a second email. The API key comes only from
BUTTONDOWN_API_KEY. See docs/providers/buttondown.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar
from uuid import uuid4

import httpx

from postcli.providers._campaigns import HttpCampaignProvider, http_schema, iso_utc, short_key
from postcli.providers.base import Campaign, RemoteCampaign, SettingsSchema

API_KEY = "BUTTONDOWN_API_KEY"

_GONE = ("deleted",)


class ButtondownProvider(HttpCampaignProvider, builtin="buttondown"):
    """Sends through Buttondown's /v1 emails API."""

    settings_schema: ClassVar[SettingsSchema] = http_schema()
    DEFAULT_BASE_URL: ClassVar[str | None] = "https://api.buttondown.com/v1"
    IDEMPOTENCY_HEADER: ClassVar[str] = "X-Idempotency-Key"

    def auth(self) -> tuple[dict[str, str], Any, list[str]]:
        key = self.require_secret(API_KEY)
        return {"Authorization": f"Token {key}"}, None, [key]

    def describe(self) -> str:
        return f"Buttondown at {self.base_url} (free and premium email types)"

    def _remote(self, email: dict[str, Any]) -> RemoteCampaign:
        return self.remote(email, email.get("absolute_url"))

    def lookup(self, name: str, campaign: Campaign | None) -> RemoteCampaign | None:
        params: dict[str, Any] = {"ordering": "-creation_date"}
        if campaign is not None:
            params["subject"] = campaign.email.subject
        while True:
            page = self.api.get("/emails", params=params).json()
            for email in page.get("results", []):
                metadata = email.get("metadata") or {}
                if metadata.get("postcli_name") == name and email.get("status") not in _GONE:
                    return self._remote(email)
            # Only the page number is taken from `next`: the key goes to base_url alone.
            following = httpx.URL(page["next"]).params.get("page") if page.get("next") else None
            if not following:
                return None
            params = {**params, "page": following}

    def fetch(self, remote_id: str) -> RemoteCampaign | None:
        answer = self.api.get(f"/emails/{remote_id}", allow=(404,))
        if answer.status_code == 404:
            return None
        email = answer.json()
        return None if email.get("status") in _GONE else self._remote(email)

    def create(self, campaign: Campaign, name: str) -> str:
        email = campaign.email
        body: dict[str, Any] = {
            "subject": email.subject,
            "body": email.html,
            "email_type": campaign.variant,  # "free" or "premium": Buttondown picks the readers
            "status": "draft",
            "template": "naked",
            "metadata": {"postcli_name": name},
        }
        if email.preheader:
            body["description"] = email.preheader
        answer = self.api.post("/emails", json=body, idempotency_key=short_key("create", name))
        return str(answer.json()["id"])

    def schedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None:
        at = iso_utc(when)
        self.api.post(
            f"/emails/{remote_id}/publish",
            json={"publish_date": at},
            idempotency_key=short_key("publish", campaign.name, at),
        )

    def unschedule(self, remote_id: str) -> None:
        self.api.patch(
            f"/emails/{remote_id}",
            json={"status": "draft", "publish_date": "none"},
            idempotency_key=short_key("cancel", remote_id, uuid4().hex),
        )

    def update_scheduled(
        self, remote_id: str, campaign: Campaign, when: datetime, draft: bool
    ) -> bool:
        email = campaign.email
        body: dict[str, Any] = {
            "subject": email.subject,
            "body": email.html,
            "description": email.preheader or "",
            "metadata": {"postcli_name": campaign.name},
        }
        if not draft:
            body["publish_date"] = iso_utc(when)  # a scheduled email moves to the new date
        self.api.patch(
            f"/emails/{remote_id}",
            json=body,
            idempotency_key=short_key("update", campaign.name, iso_utc(when)),
        )
        if draft:
            self.schedule(remote_id, campaign, when)
        return True

    def send_now(self, remote_id: str, campaign: Campaign) -> None:
        self.api.post(
            f"/emails/{remote_id}/publish",
            json={},
            idempotency_key=short_key("publish", campaign.name, "now"),
        )

    def test(self, remote_id: str, campaign: Campaign, address: str) -> None:
        # A key of its own per run: the same test asked for again tomorrow is sent again.
        self.api.post(
            f"/emails/{remote_id}/send-draft",
            json={"recipients": [address]},
            idempotency_key=short_key("test", remote_id, uuid4().hex),
        )
