"""The fake Mailchimp Marketing API 3.0 (campaigns, content, actions), for the adapter tests.

See tests/helpers/fake_api.py for what every fake does (contracts, faults, recording)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from helpers.fake_api import (
    Answer,
    Delivery,
    FakeProvider,
    Recorded,
    Route,
    _iso,
    _parse_time,
)


class MailchimpFake(FakeProvider):
    """Mailchimp Marketing API 3.0 campaigns: create, content, schedule, send, test, look up."""

    name = "mailchimp"
    default_base_url = "https://us21.api.mailchimp.com/3.0"
    prefix = "/3.0"
    unsubscribe_tag = "*|UNSUB|*"
    error_content_type = "application/problem+json"
    routes = (
        Route("POST", r"/campaigns", "create", body="create_campaign"),
        Route("GET", r"/campaigns", "lookup", query="list_campaigns_query"),
        Route("GET", r"/campaigns/(?P<campaign_id>[^/]+)", "retrieve"),
        Route("PATCH", r"/campaigns/(?P<campaign_id>[^/]+)", "update", body="update_campaign"),
        Route(
            "PUT", r"/campaigns/(?P<campaign_id>[^/]+)/content", "set_content", body="set_content"
        ),
        Route(
            "POST",
            r"/campaigns/(?P<campaign_id>[^/]+)/actions/schedule",
            "schedule",
            body="schedule",
        ),
        Route(
            "POST",
            r"/campaigns/(?P<campaign_id>[^/]+)/actions/unschedule",
            "unschedule",
            body="send",
        ),
        Route("POST", r"/campaigns/(?P<campaign_id>[^/]+)/actions/send", "send", body="send"),
        Route("POST", r"/campaigns/(?P<campaign_id>[^/]+)/actions/test", "test", body="test"),
        Route("GET", r"/search-campaigns", "search", query="search_campaigns_query"),
    )

    def __init__(
        self,
        *,
        api_key: str = "0123456789abcdef0123456789abcdef-us21",
        lists: set[str] | None = None,
        segments: set[int] | None = None,
        page_size: int = 10,
        **options: Any,
    ) -> None:
        super().__init__(page_size=page_size, **options)
        self.api_key = api_key
        self.lists = lists  # None: any list id exists
        self.segments = segments  # None: any segment or tag id exists

    @property
    def campaigns(self) -> dict[str, dict[str, Any]]:
        return self.objects

    def _authorized(self, authorization: str) -> bool:
        try:
            decoded = base64.b64decode(authorization.split(" ", 1)[1], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, IndexError):
            return False
        _, _, password = decoded.partition(":")
        return password == self.api_key

    def _problem(self, status: int, title: str, detail: str, **extra: Any) -> tuple[int, Any]:
        return status, {
            "type": "https://mailchimp.com/developer/marketing/docs/errors/",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": f"00000000-0000-4000-a000-{len(self.requests):012d}",
            **extra,
        }

    def _unauthorized(
        self, *, missing: bool, status: int | None = None, message: str | None = None
    ) -> tuple[int, Any]:
        if missing:
            return self._problem(
                status or 401,
                "API Key Missing",
                message or "Your request did not include an API key.",
            )
        return self._problem(
            status or 401,
            "API Key Invalid",
            message
            or "Your API key may be invalid, or you've attempted to access the wrong datacenter.",
        )

    def _invalid(self, errors: list[tuple[str, str]], status: int | None = None) -> tuple[int, Any]:
        return self._problem(
            status or 400,
            "Invalid Resource",
            "The resource submitted could not be validated. For field-specific details, see the "
            "'errors' array.",
            errors=[{"field": where, "message": message} for where, message in errors],
        )

    def _error_body(self, status: int, message: str | None) -> tuple[int, Any]:
        titles = {
            400: "Bad Request",
            404: "Resource Not Found",
            405: "Method Not Allowed",
            409: "Conflict",
            429: "Too Many Requests",
            500: "Internal Server Error",
            503: "Service Unavailable",
        }
        defaults = {
            404: "The requested resource could not be found.",
            429: "You have exceeded the limit of 10 simultaneous connections.",
        }
        return self._problem(
            status,
            titles.get(status, "Error"),
            message or defaults.get(status, "An unexpected error occurred."),
        )

    def _check_recipients(self, recipients: dict[str, Any]) -> None:
        if self.lists is not None and recipients["list_id"] not in self.lists:
            raise Answer(*self._error_body(404, "The requested list could not be found."))
        options = recipients.get("segment_opts", {})
        ids = [options["saved_segment_id"]] if "saved_segment_id" in options else []
        ids += [c["value"] for c in options.get("conditions", [])]
        if self.segments is not None and any(i not in self.segments for i in ids):
            raise Answer(*self._invalid([("recipients.segment_opts", "no such segment or tag")]))

    def _public(self, campaign: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in campaign.items() if not k.startswith("_")}

    def create(self, record: Recorded) -> tuple[int, Any]:
        data = record.body
        self._check_recipients(data["recipients"])
        number = self._new_id()
        campaign_id = f"{number:010x}"
        campaign = {
            "id": campaign_id,
            "web_id": number,
            "type": data["type"],
            "create_time": _iso(self.now()),
            "status": "save",
            "emails_sent": 0,
            "send_time": "",
            "content_type": "html",
            "recipients": {**data["recipients"], "list_name": "Newsletter"},
            "settings": {"title": "", **data["settings"]},
            "tracking": data.get("tracking", {}),
            "_content": {},
        }
        self.objects[campaign_id] = campaign
        return 200, self._public(campaign)

    def _listing(self, found: list[dict[str, Any]], query: dict[str, list[str]]) -> list[Any]:
        field_name = query.get("sort_field", ["create_time"])[0]
        descending = query.get("sort_dir", ["ASC"])[0] == "DESC"
        found.sort(key=lambda c: (c[field_name] or "", c["web_id"]), reverse=descending)
        return found

    def lookup(self, record: Recorded) -> tuple[int, Any]:
        query = record.query
        found = list(self.objects.values())
        for key in ("status", "type"):
            if key in query:
                found = [c for c in found if c[key] == query[key][0]]
        if "list_id" in query:
            found = [c for c in found if c["recipients"]["list_id"] == query["list_id"][0]]
        if "since_create_time" in query:
            since = _parse_time(query["since_create_time"][0])
            found = [c for c in found if _parse_time(c["create_time"]) >= since]
        found = self._listing(found, query)
        count = int(query.get("count", [str(self.page_size)])[0])
        offset = int(query.get("offset", ["0"])[0])
        return 200, {
            "campaigns": [self._public(c) for c in found[offset : offset + count]],
            "total_items": len(found),
            "_links": [],
        }

    def search(self, record: Recorded) -> tuple[int, Any]:
        needle = record.query["query"][0].casefold()
        found = [
            c
            for c in self.objects.values()
            if needle in c["settings"].get("title", "").casefold()
            or needle in c["settings"].get("subject_line", "").casefold()
        ]
        results = [{"campaign": self._public(c), "snippet": ""} for c in found]
        return 200, {"results": results, "total_items": len(results), "_links": []}

    def retrieve(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        return 200, self._public(self._get(campaign_id))

    def _editable(self, campaign: dict[str, Any]) -> None:
        if campaign["status"] not in ("save", "paused"):
            raise Answer(
                *self._error_body(
                    400, f"This campaign cannot be changed: its status is {campaign['status']}."
                )
            )

    def update(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        self._editable(campaign)
        if "recipients" in record.body:
            self._check_recipients(record.body["recipients"])
            campaign["recipients"].update(record.body["recipients"])
        campaign["settings"].update(record.body["settings"])
        return 200, self._public(campaign)

    def set_content(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        self._editable(campaign)
        campaign["_content"] = dict(record.body)
        content = campaign["_content"]
        return 200, {
            "html": content.get("html", ""),
            "plain_text": content.get("plain_text", ""),
            "_links": [],
        }

    def _ready(self, campaign: dict[str, Any]) -> None:
        html = campaign["_content"].get("html")
        if not html:
            raise Answer(*self._error_body(400, "Your Campaign is not ready to send."))
        self._check_unsubscribe(html)

    def _audience(self, campaign: dict[str, Any]) -> Any:
        recipients = campaign["recipients"]
        options = recipients.get("segment_opts", {})
        segment = options.get("saved_segment_id")
        if segment is None and options.get("conditions"):
            segment = tuple(c["value"] for c in options["conditions"])
        return (recipients["list_id"], segment)

    def schedule(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        if campaign["status"] != "save":
            raise Answer(
                *self._error_body(
                    400, f"This campaign cannot be scheduled: its status is {campaign['status']}."
                )
            )
        self._ready(campaign)
        moment = _parse_time(record.body["schedule_time"])
        if moment.minute % 15 or moment.second or moment.microsecond:
            raise Answer(
                *self._invalid(
                    [
                        (
                            "schedule_time",
                            "Schedule time must be on the quarter-hour (:00, :15, :30, :45).",
                        )
                    ]
                )
            )
        self._future(moment, "schedule_time")
        campaign["status"], campaign["send_time"] = "schedule", _iso(moment)
        self.deliveries.append(Delivery("schedule", campaign_id, self._audience(campaign), moment))
        return 204, None

    def unschedule(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        if campaign["status"] != "schedule":
            raise Answer(*self._error_body(400, "This campaign is not scheduled."))
        campaign["status"], campaign["send_time"] = "save", ""
        self.deliveries = [
            d for d in self.deliveries if not (d.kind == "schedule" and d.object_id == campaign_id)
        ]
        return 204, None

    def send(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        if campaign["status"] != "save":
            raise Answer(
                *self._error_body(
                    400, f"This campaign cannot be sent: its status is {campaign['status']}."
                )
            )
        self._ready(campaign)
        campaign["status"], campaign["send_time"] = "sending", _iso(self.now())
        self.deliveries.append(Delivery("send", campaign_id, self._audience(campaign)))
        return 204, None

    def test(self, record: Recorded, campaign_id: str) -> tuple[int, Any]:
        campaign = self._get(campaign_id)
        self._ready(campaign)
        recipients = tuple(record.body["test_emails"])
        self.deliveries.append(
            Delivery("test", campaign_id, self._audience(campaign), None, recipients)
        )
        return 204, None
