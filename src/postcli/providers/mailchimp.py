"""The `mailchimp` provider: one regular Mailchimp campaign per variant, to a segment of one list.

Owns `[providers.mailchimp]` (`list_id`, `audiences = { free = SEGMENT_ID, premium = SEGMENT_ID }`
with saved segment or tag ids, `base_url`, `timeout`). The base URL defaults to
`https://<dc>.api.mailchimp.com/3.0`, `<dc>` being the API key's suffix. A campaign is created
with postcli's stable name as its title, gets its HTML and plain text, then is sent or
scheduled. Mailchimp schedules only on the quarter hour in UTC: a time between is rounded up,
and the log says so. Mailchimp has no idempotency keys: a create whose answer was lost is looked
up by title before it is tried again. The API key comes only from MAILCHIMP_API_KEY. See
docs/providers/mailchimp.md.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any, ClassVar

from postcli.model import RemoteStatus
from postcli.providers._campaigns import HttpCampaignProvider, http_schema, iso_utc
from postcli.providers.base import Campaign, Key, RemoteCampaign, SettingsSchema

log = logging.getLogger("postcli.providers.mailchimp")

API_KEY = "MAILCHIMP_API_KEY"
PAGE = 100  # campaigns per look-up page
TITLE_MAX = 100  # Mailchimp's limit on a campaign title

_FIELDS = "campaigns.id,campaigns.status,campaigns.settings.title,campaigns.archive_url,total_items"


def quarter_hour(moment: datetime) -> datetime:
    """`moment` in UTC, rounded up to the next :00, :15, :30 or :45 (kept when on one)."""
    moment = moment.astimezone(UTC)
    floor = moment.replace(minute=moment.minute - moment.minute % 15, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=15)


def _segment_id(segment: object) -> int | None:
    """A saved segment or tag id: a number, or text of digits."""
    text = str(segment).strip()
    return None if isinstance(segment, bool) or not text.isdigit() else int(text)


def title_for(name: str) -> str:
    """The campaign title for a stable name: the name itself, or, past Mailchimp's 100
    characters, its start and its end (the content hash), so it is still unique."""
    if len(name) <= TITLE_MAX:
        return name
    tail = 24
    return f"{name[: TITLE_MAX - tail - 1]}…{name[-tail:]}"


class MailchimpProvider(HttpCampaignProvider, builtin="mailchimp"):
    """Sends through the Mailchimp Marketing API 3.0."""

    settings_schema: ClassVar[SettingsSchema] = http_schema(
        list_id=Key((str,), must="the audience id (text)"), audiences=True
    )
    AUDIENCES: ClassVar[str | None] = "{ free = SEGMENT_ID, premium = SEGMENT_ID }"
    STATUSES: ClassVar[Mapping[str, RemoteStatus]] = {
        "save": RemoteStatus.DRAFT,
        "paused": RemoteStatus.DRAFT,
        "schedule": RemoteStatus.SCHEDULED,
    }

    def __init__(self, settings: Any, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        list_id = self.options.get("list_id")
        if list_id is not None and (not isinstance(list_id, str) or not list_id.strip()):
            raise self.invalid("list_id")
        self.list_id: str | None = list_id.strip() if list_id else None
        self.audiences: dict[str, int] = self.audiences_of(
            _segment_id, "a saved segment or tag id (a number)"
        )

    def _data_centre(self, key: str) -> str:
        dc = key.rpartition("-")[2] if "-" in key else ""
        if not dc.isalnum():
            raise self.bad(
                "base_url",
                f"{API_KEY} does not end in its data centre (like -us21), so postcli cannot "
                "tell Mailchimp's address",
                hint="use the whole key Mailchimp shows, or set base_url in [providers.mailchimp]",
            )
        return dc

    def validate(self) -> None:
        key = self.require_secret(API_KEY)
        if self.base_url is None:
            self.base_url = f"https://{self._data_centre(key)}.api.mailchimp.com/3.0"
        super().validate()
        if self.list_id is None:
            raise self.bad("list_id", "[providers.mailchimp] needs 'list_id', the audience id")

    def auth(self) -> tuple[dict[str, str], Any, list[str]]:
        key = self.require_secret(API_KEY)
        return {}, ("postcli", key), [key]

    def describe(self) -> str:
        segments = ", ".join(f"{v} to segment {s}" for v, s in self.audiences.items())
        return f"Mailchimp list {self.list_id} ({segments})"

    def _remote(self, campaign: dict[str, Any]) -> RemoteCampaign:
        return self.remote(campaign, campaign.get("archive_url") or None)

    def lookup(self, name: str, campaign: Campaign | None) -> RemoteCampaign | None:
        title = title_for(name)
        offset = 0
        while True:
            page = self.api.get(
                "/campaigns",
                params={
                    "list_id": self.list_id,
                    "count": str(PAGE),
                    "offset": str(offset),
                    "sort_field": "create_time",
                    "sort_dir": "DESC",
                    "fields": _FIELDS,
                },
            ).json()
            found = page.get("campaigns") or []
            for item in found:
                if (item.get("settings") or {}).get("title") == title:
                    return self._remote(item)
            offset += len(found)
            if not found or offset >= int(page.get("total_items") or 0):
                return None

    def fetch(self, remote_id: str) -> RemoteCampaign | None:
        answer = self.api.get(f"/campaigns/{remote_id}", allow=(404,))
        return None if answer.status_code == 404 else self._remote(answer.json())

    def _settings(self, campaign: Campaign, name: str) -> dict[str, Any]:
        """The campaign's `settings` (Mailchimp requires from_name and reply_to in each)."""
        from_name, from_address = parseaddr(campaign.sender)
        settings: dict[str, Any] = {
            "subject_line": campaign.email.subject,
            "title": title_for(name),
            "from_name": from_name or self.settings.newsletter.name,
            # Mailchimp's one address for From and Reply-To: the newsletter's From address.
            "reply_to": from_address,
        }
        if campaign.email.preheader:
            settings["preview_text"] = campaign.email.preheader
        return settings

    def create(self, campaign: Campaign, name: str) -> str:
        settings = self._settings(campaign, name)
        body = {
            "type": "regular",
            "recipients": {
                "list_id": self.list_id,
                "segment_opts": {"saved_segment_id": self.audience(campaign.variant)},
            },
            "settings": settings,
        }
        return str(self.api.post("/campaigns", json=body).json()["id"])

    def prepare(self, remote_id: str, campaign: Campaign) -> None:
        # A PUT, so safe to repeat: a run cut off between create and content finishes here.
        self.api.put(
            f"/campaigns/{remote_id}/content",
            json={"html": campaign.email.html, "plain_text": campaign.email.text},
        )

    def schedule_time(self, when: datetime) -> datetime:
        rounded = quarter_hour(when)
        if rounded != when.astimezone(UTC):
            tz = self.settings.newsletter.tz
            log.warning(
                "Mailchimp schedules only on the quarter hour: %s is rounded up to %s",
                when.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
                rounded.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
            )
        return rounded

    def schedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None:
        self.api.post(
            f"/campaigns/{remote_id}/actions/schedule", json={"schedule_time": iso_utc(when)}
        )

    def unschedule(self, remote_id: str) -> None:
        self.api.post(f"/campaigns/{remote_id}/actions/unschedule")

    def update_scheduled(
        self, remote_id: str, campaign: Campaign, when: datetime, draft: bool
    ) -> bool:
        def update() -> None:  # Mailchimp changes only unscheduled campaigns
            settings = self._settings(campaign, campaign.name)
            self.api.patch(f"/campaigns/{remote_id}", json={"settings": settings})
            self.prepare(remote_id, campaign)

        return self.update_as_draft(remote_id, campaign, when, draft, update)

    def send_now(self, remote_id: str, campaign: Campaign) -> None:
        self.api.post(f"/campaigns/{remote_id}/actions/send")

    def test(self, remote_id: str, campaign: Campaign, address: str) -> None:
        self.api.post(
            f"/campaigns/{remote_id}/actions/test",
            json={"test_emails": [address], "send_type": "html"},
        )
