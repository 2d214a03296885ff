"""A fake SendGrid Marketing Campaigns API (Single Sends) and Mail Send, for the `sendgrid`
provider's tests, on the shared fake machinery of tests/helpers/fake_api.py: every body and query
string validated against tests/contracts/sendgrid/, the auth header checked, Single Sends kept
with their status (draft -> scheduled or triggered), search by name with SendGrid's
`_metadata.next` pagination, errors as `{"errors": [{"field", "message"}]}`, and 429 answers
carrying `X-RateLimit-Reset` (a Unix time) as SendGrid's do, never Retry-After."""

from __future__ import annotations

import time
from typing import Any

import httpx

from helpers.fake_api import Answer, Delivery, FakeProvider, Recorded, Route, _iso, _parse_time


class SendgridFake(FakeProvider):
    name = "sendgrid"
    default_base_url = "https://api.sendgrid.com"
    prefix = ""
    unsubscribe_tag = "{{{unsubscribe}}}"
    rule_status = 400
    routes = (
        Route("POST", r"/v3/marketing/singlesends", "create", body="create_singlesend"),
        Route(
            "POST",
            r"/v3/marketing/singlesends/search",
            "search",
            body="search",
            query="search_query",
        ),
        Route("GET", r"/v3/marketing/singlesends/(?P<send_id>[0-9a-f-]+)", "retrieve"),
        Route(
            "PUT",
            r"/v3/marketing/singlesends/(?P<send_id>[0-9a-f-]+)/schedule",
            "schedule",
            body="schedule",
        ),
        Route(
            "DELETE",
            r"/v3/marketing/singlesends/(?P<send_id>[0-9a-f-]+)/schedule",
            "cancel_schedule",
        ),
        Route(
            "PATCH",
            r"/v3/marketing/singlesends/(?P<send_id>[0-9a-f-]+)",
            "update",
            body="update_singlesend",
        ),
        Route("POST", r"/v3/mail/send", "mail_send", body="mail_send"),
    )

    def __init__(self, *, api_key: str = "SG.test-key.postcli-0123456789", **options: Any) -> None:
        super().__init__(**options)
        self.api_key = api_key

    @property
    def single_sends(self) -> dict[str, dict[str, Any]]:
        return self.objects

    # -- provider-specific answers

    def _authorized(self, authorization: str) -> bool:
        return authorization == f"Bearer {self.api_key}"

    def _unauthorized(
        self, *, missing: bool, status: int | None = None, message: str | None = None
    ) -> tuple[int, Any]:
        words = message or (
            "authorization required"
            if missing
            else "The provided authorization grant is invalid, expired, or revoked"
        )
        return status or 401, {"errors": [{"field": None, "message": words}]}

    def _invalid(self, errors: list[tuple[str, str]], status: int | None = None) -> tuple[int, Any]:
        return status or 400, {"errors": [{"field": w or None, "message": m} for w, m in errors]}

    def _error_body(self, status: int, message: str | None) -> tuple[int, Any]:
        default = {404: "resource not found", 429: "too many requests", 500: "internal error"}
        return status, {
            "errors": [{"field": None, "message": message or default.get(status, "unavailable")}]
        }

    def _error(
        self,
        status: int,
        message: str | None = None,
        *,
        extra_headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        headers = dict(extra_headers or {})
        if status == 429:
            wait = float(headers.pop("Retry-After", "1"))
            headers.update(
                {
                    "X-RateLimit-Limit": "600",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": str(int(time.time() + wait + 0.999)),
                }
            )
        return super()._error(status, message, extra_headers=headers)

    # -- routes

    def _public(self, single_send: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in single_send.items() if not k.startswith("_")}

    def create(self, record: Recorded) -> tuple[int, Any]:
        data = record.body
        number = self._new_id()
        send_id = f"00000000-0000-4000-8000-{number:012d}"
        single_send = {
            "id": send_id,
            "name": data["name"],
            "status": "draft",
            "categories": data.get("categories", []),
            "send_at": None,
            "send_to": data["send_to"],
            "email_config": data["email_config"],
            "created_at": _iso(self.now()),
            "updated_at": _iso(self.now()),
            "_number": number,
        }
        self.objects[send_id] = single_send
        return 201, self._public(single_send)

    def search(self, record: Recorded) -> tuple[int, Any]:
        wanted = (record.body or {}).get("name")
        size = int(record.query.get("page_size", ["50"])[0])
        start = int(record.query.get("page_token", ["0"])[0])
        found = [
            s
            for s in sorted(self.objects.values(), key=lambda s: s["_number"], reverse=True)
            if wanted is None or wanted in s["name"]
        ]
        page = found[start : start + size]
        metadata: dict[str, Any] = {"count": len(found)}
        if start + size < len(found):
            metadata["next"] = (
                f"{self.base_url}/v3/marketing/singlesends/search?page_size={size}"
                f"&page_token={start + size}"
            )
        short = ("id", "name", "status", "categories", "send_at", "created_at", "updated_at")
        result = [{**{k: s[k] for k in short}, "is_abtest": False, "abtest": None} for s in page]
        return 200, {"result": result, "_metadata": metadata}

    def retrieve(self, record: Recorded, send_id: str) -> tuple[int, Any]:
        return 200, self._public(self._get(send_id))

    def schedule(self, record: Recorded, send_id: str) -> tuple[int, Any]:
        single_send = self._get(send_id)
        if single_send["status"] != "draft":
            raise Answer(
                *self._invalid([("status", f"the Single Send is {single_send['status']}")])
            )
        config = single_send["email_config"]
        self._check_unsubscribe(config.get("html_content"), config.get("plain_content"))
        lists = tuple(single_send["send_to"]["list_ids"])
        send_at = record.body["send_at"]
        if send_at == "now":
            single_send["status"], single_send["send_at"] = "triggered", _iso(self.now())
            self.deliveries.append(Delivery("send", send_id, lists))
        else:
            moment = _parse_time(send_at.replace("Z", "+00:00"))
            self._future(moment, "send_at")
            single_send["status"], single_send["send_at"] = "scheduled", _iso(moment)
            self.deliveries.append(Delivery("schedule", send_id, lists, moment))
        return 201, {"send_at": single_send["send_at"], "status": "scheduled"}

    def cancel_schedule(self, record: Recorded, send_id: str) -> tuple[int, Any]:
        """Cancel Scheduled Single Send: back to a draft; one that went out is refused."""
        single_send = self._get(send_id)
        if single_send["status"] == "triggered":
            raise Answer(*self._invalid([("status", "the Single Send was sent already")]))
        single_send["status"], single_send["send_at"] = "draft", None
        self.deliveries = [
            d for d in self.deliveries if not (d.kind == "schedule" and d.object_id == send_id)
        ]
        return 200, self._public(single_send)

    def update(self, record: Recorded, send_id: str) -> tuple[int, Any]:
        """Update Single Send: SendGrid changes drafts only."""
        single_send = self._get(send_id)
        if single_send["status"] != "draft":
            raise Answer(
                *self._invalid([("status", f"the Single Send is {single_send['status']}")])
            )
        for key in ("name", "categories", "send_to", "email_config"):
            if key in record.body:
                single_send[key] = record.body[key]
        single_send["updated_at"] = _iso(self.now())
        return 200, self._public(single_send)

    def mail_send(self, record: Recorded) -> tuple[int, Any]:
        data = record.body
        to = tuple(a["email"] for p in data["personalizations"] for a in p["to"])
        for part in data["content"]:
            if self.unsubscribe_tag in part["value"]:
                raise Answer(
                    *self._invalid(
                        [("content", "Marketing's {{{unsubscribe}}} means nothing in Mail Send")]
                    )
                )
        self.deliveries.append(
            Delivery("test", f"mail-{self._new_id()}", data.get("asm"), None, to)
        )
        return 202, None
