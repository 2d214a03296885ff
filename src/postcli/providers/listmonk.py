"""The `listmonk` provider: one campaign per variant on a listmonk server, to that variant's lists.

Owns `[providers.listmonk]` (`base_url`, required: the server's root; `audiences = { free = [3],
premium = [4] }` with list ids; `timeout`). A campaign is created with postcli's stable name,
the HTML as `body` and the plain text as `altbody`, tagged `postcli` and the issue id, then
started (status `running`) or scheduled (`send_at`, then status `scheduled`). listmonk has no
idempotency keys: a create whose answer was lost is looked up by tag and name before it is tried
again. Credentials come only from LISTMONK_API_USER and LISTMONK_API_TOKEN. See
docs/providers/listmonk.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from postcli.providers._campaigns import HttpCampaignProvider, http_schema, iso_utc, issue_of
from postcli.providers.base import Campaign, RemoteCampaign, SettingsSchema

API_USER = "LISTMONK_API_USER"
API_TOKEN = "LISTMONK_API_TOKEN"


class ListmonkProvider(HttpCampaignProvider, builtin="listmonk"):
    """Sends through a listmonk server's /api/campaigns."""

    settings_schema: ClassVar[SettingsSchema] = http_schema(audiences=True)
    AUDIENCES: ClassVar[str | None] = "{ free = [LIST_ID], premium = [LIST_ID] }"

    def __init__(self, settings: Any, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.audiences: dict[str, list[int]] = self.audiences_of(_list_ids, "list ids, like [4]")

    def auth(self) -> tuple[dict[str, str], Any, list[str]]:
        user, token = self.require_secret(API_USER), self.require_secret(API_TOKEN)
        return {"Authorization": f"token {user}:{token}"}, None, [token, f"{user}:{token}"]

    def describe(self) -> str:
        lists = ", ".join(f"{v} to lists {ids}" for v, ids in self.audiences.items())
        return f"listmonk at {self.base_url} ({lists})"

    def _remote(self, campaign: dict[str, Any]) -> RemoteCampaign:
        url = f"{self.base_url}/admin/campaigns/{campaign['id']}"
        return self.remote(campaign, url)

    def lookup(self, name: str, campaign: Campaign | None) -> RemoteCampaign | None:
        issue_id = campaign.issue_id if campaign is not None else issue_of(name)
        answer = self.api.get(
            "/api/campaigns", params={"tag": issue_id, "no_body": "true", "per_page": "all"}
        ).json()
        for item in (answer.get("data") or {}).get("results") or []:
            if item.get("name") == name:
                return self._remote(item)
        return None

    def fetch(self, remote_id: str) -> RemoteCampaign | None:
        answer = self.api.get(f"/api/campaigns/{remote_id}", allow=(404,))
        return None if answer.status_code == 404 else self._remote(answer.json()["data"])

    def _fields(self, campaign: Campaign, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "subject": campaign.email.subject,
            "lists": self.audience(campaign.variant),
            "from_email": campaign.sender,
            "type": "regular",
            "content_type": "html",
            "body": campaign.email.html,
            "altbody": campaign.email.text,
            "messenger": "email",
            "tags": ["postcli", campaign.issue_id],
        }

    def create(self, campaign: Campaign, name: str) -> str:
        body = self._fields(campaign, name)
        if campaign.send_at is not None:
            body["send_at"] = iso_utc(campaign.send_at)
        return str(self.api.post("/api/campaigns", json=body).json()["data"]["id"])

    def schedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None:
        # listmonk's update handler refuses a PUT without `lists` (400 "invalid list IDs").
        body = {"send_at": iso_utc(when), "lists": self.audience(campaign.variant)}
        self.api.put(f"/api/campaigns/{remote_id}", json=body)
        self.api.put(f"/api/campaigns/{remote_id}/status", json={"status": "scheduled"})

    def unschedule(self, remote_id: str) -> None:
        self.api.put(f"/api/campaigns/{remote_id}/status", json={"status": "draft"})

    def update_scheduled(
        self, remote_id: str, campaign: Campaign, when: datetime, draft: bool
    ) -> bool:
        # A scheduled campaign takes the new fields and send_at and stays scheduled.
        body = {**self._fields(campaign, campaign.name), "send_at": iso_utc(when)}
        self.api.put(f"/api/campaigns/{remote_id}", json=body)
        if draft:
            self.api.put(
                f"/api/campaigns/{remote_id}/status",
                json={"status": "scheduled"},
            )
        return True

    def send_now(self, remote_id: str, campaign: Campaign) -> None:
        self.api.put(f"/api/campaigns/{remote_id}/status", json={"status": "running"})

    def test(self, remote_id: str, campaign: Campaign, address: str) -> None:
        body = {**self._fields(campaign, f"{campaign.name}:test"), "subscribers": [address]}
        self.api.post(f"/api/campaigns/{remote_id}/test", json=body)


def _list_ids(lists: object) -> list[int] | None:
    """A variant's audience: one list id or a list of them (None when it is neither)."""
    ids = lists if isinstance(lists, list) else [lists]
    if not ids or any(isinstance(i, bool) or not isinstance(i, int) for i in ids):
        return None
    return list(ids)
