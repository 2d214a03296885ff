"""The fake Buttondown API (emails, with X-Idempotency-Key), for the adapter and contract tests.

See tests/helpers/fake_api.py for what every fake does (contracts, faults, recording)."""

from __future__ import annotations

from typing import Any

import httpx

from helpers.fake_api import (
    Answer,
    Delivery,
    FakeProvider,
    Recorded,
    Route,
    _iso,
    _page,
    _parse_time,
)


class ButtondownFake(FakeProvider):
    """Buttondown's /v1 emails API: drafts, publish (now or at publish_date), send-draft."""

    name = "buttondown"
    default_base_url = "https://api.buttondown.com/v1"
    prefix = "/v1"
    idempotency_header = "x-idempotency-key"
    unsubscribe_tag = "{{ unsubscribe_url }}"
    routes = (
        Route("POST", r"/emails", "create", body="create_email", idempotent=True),
        Route("GET", r"/emails", "lookup", query="list_emails_query"),
        Route("GET", r"/emails/(?P<email_id>[^/]+)", "retrieve"),
        Route(
            "PATCH", r"/emails/(?P<email_id>[^/]+)", "update", body="update_email", idempotent=True
        ),
        Route(
            "POST",
            r"/emails/(?P<email_id>[^/]+)/publish",
            "publish",
            body="publish",
            idempotent=True,
        ),
        Route(
            "POST",
            r"/emails/(?P<email_id>[^/]+)/send-draft",
            "send_draft",
            body="send_draft",
            idempotent=True,
        ),
    )

    def __init__(self, *, api_key: str = "test-buttondown-key", **options: Any) -> None:
        super().__init__(**options)
        self.api_key = api_key

    @property
    def emails(self) -> dict[str, dict[str, Any]]:
        return self.objects

    # auth and errors, as Buttondown (a Django REST Framework API) answers them

    def _authorized(self, authorization: str) -> bool:
        return authorization == f"Token {self.api_key}"

    def _unauthorized(
        self, *, missing: bool, status: int | None = None, message: str | None = None
    ) -> tuple[int, Any]:
        default = "Authentication credentials were not provided." if missing else "Invalid token."
        return status or 401, {"detail": message or default}

    def _invalid(self, errors: list[tuple[str, str]], status: int | None = None) -> tuple[int, Any]:
        if status == 400:
            fields = " ".join(where for where, _ in errors)
            code = (
                "publish_date_invalid"
                if "publish_date" in fields
                else "body_invalid"
                if "body" in fields
                else "status_invalid"
            )
            return 400, {"code": code, "detail": "; ".join(m for _, m in errors), "metadata": {}}
        detail = [
            {
                "type": "value_error",
                "loc": ["body", *where.split(".")] if where else ["body"],
                "msg": message,
            }
            for where, message in errors
        ]
        return status or 422, {"detail": detail}

    def _error_body(self, status: int, message: str | None) -> tuple[int, Any]:
        defaults = {
            404: "Not found.",
            405: "Method not allowed.",
            409: "Conflict.",
            429: "Request was throttled.",
            500: "Internal server error.",
        }
        return status, {"detail": message or defaults.get(status, "Service unavailable.")}

    # routes

    def create(self, record: Recorded) -> tuple[int, Any]:
        data = record.body
        status = data.get("status", "about_to_send")  # Buttondown's default: send at once
        if status not in ("draft", "scheduled", "about_to_send"):
            raise Answer(*self._invalid([("status", f"cannot create an email as {status}")], 400))
        number = self._new_id()
        email_id = f"em_0{number:025d}"
        stamp = _iso(self.now())
        email = {
            "id": email_id,
            "creation_date": stamp,
            "modification_date": stamp,
            "publish_date": data.get("publish_date"),
            "subject": data["subject"],
            "body": data.get("body", ""),
            "description": data.get("description", ""),
            "email_type": data.get("email_type", "public"),
            "status": "draft",
            "metadata": data.get("metadata", {}),
            "filters": data.get("filters", {"filters": [], "groups": [], "predicate": "and"}),
            "slug": data.get("slug"),
            "secondary_id": number,
            "source": "api",
            "absolute_url": f"https://buttondown.com/archive/{email_id}",
        }
        self._set_status(email, status, data.get("publish_date"))
        self.objects[email_id] = email
        return 201, email

    def lookup(self, record: Recorded) -> tuple[int, Any]:
        query = record.query
        found = list(self.objects.values())
        if "status" in query:
            found = [e for e in found if e["status"] in query["status"]]
        if "-status" in query:
            found = [e for e in found if e["status"] not in query["-status"]]
        if "email_type" in query:
            found = [e for e in found if e["email_type"] in query["email_type"]]
        if "ids" in query:
            found = [e for e in found if e["id"] in query["ids"]]
        if "subject" in query:
            needle = query["subject"][0].casefold()
            found = [e for e in found if needle in e["subject"].casefold()]
        ordering = query.get("ordering", ["creation_date"])[0]
        key = ordering.lstrip("-")
        found.sort(
            key=lambda e: (e.get(key) or "", e["secondary_id"]), reverse=ordering.startswith("-")
        )
        page = int(query.get("page", ["1"])[0])
        pages = max(1, -(-len(found) // self.page_size))
        if page > pages:
            raise Answer(*self._error_body(404, "Invalid page."))
        url = httpx.URL(self.base_url + "/emails").copy_merge_params(
            [(k, v) for k, vs in query.items() if k != "page" for v in vs]
        )
        return 200, {
            "results": _page(found, page, self.page_size),
            "count": len(found),
            "next": str(url.copy_add_param("page", str(page + 1))) if page < pages else None,
            "previous": str(url.copy_add_param("page", str(page - 1))) if page > 1 else None,
        }

    def retrieve(self, record: Recorded, email_id: str) -> tuple[int, Any]:
        return 200, self._get(email_id)

    def update(self, record: Recorded, email_id: str) -> tuple[int, Any]:
        email = self._get(email_id)
        if email["status"] not in ("draft", "scheduled"):
            raise Answer(
                *self._invalid([("status", f"the email is already {email['status']}")], 400)
            )
        data = {k: v for k, v in record.body.items() if v is not None}
        status = data.pop("status", None)
        publish_date = data.pop("publish_date", None)
        email.update(data)
        email["modification_date"] = _iso(self.now())
        if publish_date == "none":
            email["publish_date"] = None
            if email["status"] == "scheduled":
                self._drop_schedule(email)
                email["status"] = "draft"
        elif publish_date is not None:
            email["publish_date"] = publish_date
        if status is not None and status != email["status"]:
            if email["status"] == "scheduled":
                self._drop_schedule(email)
                email["status"] = "draft"
            self._set_status(email, status, email["publish_date"])
        return 200, email

    def publish(self, record: Recorded, email_id: str) -> tuple[int, Any]:
        email = self._get(email_id)
        if email["status"] != "draft":
            raise Answer(
                *self._invalid([("status", f"the email is already {email['status']}")], 400)
            )
        data = {k: v for k, v in record.body.items() if v is not None}
        publish_date = data.pop("publish_date", None)
        email.update(data)
        if publish_date is not None:  # a past date is refused, not taken as "now"
            self._set_status(email, "scheduled", publish_date)
        else:
            self._set_status(email, "about_to_send", None)
        return 200, email

    def send_draft(self, record: Recorded, email_id: str) -> tuple[int, Any]:
        email = self._get(email_id)
        recipients = tuple(record.body.get("recipients") or record.body.get("subscribers"))
        self.deliveries.append(Delivery("test", email_id, email["email_type"], None, recipients))
        return 200, None

    def _set_status(self, email: dict[str, Any], status: str, publish_date: str | None) -> None:
        if status == "scheduled":
            if not publish_date:
                raise Answer(
                    400,
                    {
                        "code": "publish_date_missing",
                        "detail": "A scheduled email needs a publish_date.",
                        "metadata": {},
                    },
                )
            moment = _parse_time(publish_date)
            self._future(moment, "publish_date")
            self._check_unsubscribe(email["body"])
            email["publish_date"] = _iso(moment)
            self.deliveries.append(Delivery("schedule", email["id"], email["email_type"], moment))
        elif status == "about_to_send":
            self._check_unsubscribe(email["body"])
            email["publish_date"] = _iso(self.now())
            self.deliveries.append(Delivery("send", email["id"], email["email_type"]))
        email["status"] = status

    def _drop_schedule(self, email: dict[str, Any]) -> None:
        self.deliveries = [
            d for d in self.deliveries if not (d.kind == "schedule" and d.object_id == email["id"])
        ]
