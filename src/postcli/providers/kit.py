"""The `kit` provider: one Kit (formerly ConvertKit) broadcast per variant, API v4.

Owns `[providers.kit]`: `audiences = { free = { tag = ID }, premium = { segment = ID } }` (a tag
or a segment id, or a list of them, per variant), `public` (the free broadcast on Kit's web
profile; the premium one is never public), `email_template_id`, `email_address` (the sending
address, when not the account's default), `base_url` (`https://api.kit.com`; paths carry `/v4`)
and `timeout`.

A broadcast is created as a draft (`send_at: null`) with the variant's email HTML as `content`,
the subject and preheader, the variant's `subscriber_filter`, and postcli's stable name as its
internal `description`, by which a later run finds it (Kit takes no idempotency key: a create
whose answer was lost is looked up before it is tried again). It is then scheduled by a PUT of
`send_at`, or sent by a PUT of `send_at` = now. Kit has no test-send API. The API key comes
only from KIT_API_KEY (`X-Kit-Api-Key`). See docs/providers/kit.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import httpx

from postcli.errors import ProviderRefused
from postcli.model import RemoteStatus, Variant
from postcli.providers._campaigns import HttpCampaignProvider, http_schema, iso_utc, no_test_send
from postcli.providers.base import Campaign, Delivery, Features, Key, RemoteCampaign, SettingsSchema

log = logging.getLogger("postcli.providers.kit")

API_KEY = "KIT_API_KEY"
PAGE = 500  # broadcasts per look-up page: Kit's largest
FILTER_TYPES = ("tag", "segment")


class KitProvider(HttpCampaignProvider, builtin="kit"):
    """Sends through Kit's v4 broadcasts API."""

    features: ClassVar[Features] = Features(
        native_schedule=True, find_by_name=True, test_sends=False, movable=True
    )
    settings_schema: ClassVar[SettingsSchema] = http_schema(
        audiences=True,
        public=Key((bool,), must="true or false"),
        email_template_id=Key((int,), must="a number"),
        email_address=Key((str,), must="an email address"),
    )
    DEFAULT_BASE_URL: ClassVar[str | None] = "https://api.kit.com"
    AUDIENCES: ClassVar[str | None] = "{ free = { tag = ID }, premium = { segment = ID } }"
    STATUSES: ClassVar[Mapping[str, RemoteStatus]] = {
        "draft": RemoteStatus.DRAFT,
        "scheduled": RemoteStatus.SCHEDULED,
        "sending": RemoteStatus.SENT,
        "completed": RemoteStatus.SENT,
        "sent": RemoteStatus.SENT,
        "paused": RemoteStatus.SENT,  # it began going out: never start it again
    }

    def __init__(
        self, settings: Any, *, now: Callable[[], datetime] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(settings, **kwargs)
        self._now = now or (lambda: datetime.now(UTC))
        self.audiences: dict[str, list[dict[str, Any]]] = {}
        for variant, value in self.audience_setting().items():
            self.audiences[variant] = self._filter(variant, value)
        public = self.options.get("public", False)
        if not isinstance(public, bool):
            raise self.invalid("public")
        self.public: bool = public
        template = self.options.get("email_template_id")
        if template is not None and (isinstance(template, bool) or not isinstance(template, int)):
            raise self.invalid("email_template_id")
        self.email_template_id: int | None = template
        address = self.options.get("email_address")
        if address is not None and (not isinstance(address, str) or "@" not in address):
            raise self.invalid("email_address")
        self.email_address: str | None = address

    def _filter(self, variant: str, value: Any) -> list[dict[str, Any]]:
        """`{ tag = 1 }` / `{ segment = [2, 3] }` -> Kit's `[{"type": "tag", "ids": [1]}]`."""
        example = "{ tag = 1234 } or { segment = 5678 }"
        if not isinstance(value, Mapping) or not value:
            raise self.bad(
                "audiences", f"the {variant} audience in [providers.kit] must be {example}"
            )
        conditions = []
        for kind, ids in value.items():
            if kind not in FILTER_TYPES:
                raise self.bad(
                    "audiences",
                    f"unknown '{kind}' in the {variant} audience of [providers.kit]; "
                    "known: tag, segment",
                )
            listed = ids if isinstance(ids, list) else [ids]
            if not listed or any(isinstance(i, bool) or not isinstance(i, int) for i in listed):
                raise self.bad(
                    "audiences",
                    f"the {variant} audience's {kind} in [providers.kit] must be an id (a "
                    "number) or a list of ids",
                )
            conditions.append({"type": kind, "ids": list(listed)})
        return conditions

    def auth(self) -> tuple[dict[str, str], Any, list[str]]:
        key = self.require_secret(API_KEY)
        return {"X-Kit-Api-Key": key}, None, [key]

    def describe(self) -> str:
        parts = []
        for variant, conditions in self.audiences.items():
            who = " and ".join(f"{c['type']} {', '.join(map(str, c['ids']))}" for c in conditions)
            parts.append(f"{variant} to {who}")
        return f"Kit broadcasts ({'; '.join(parts)})"

    # -- requests ------------------------------------------------------------------------------

    def _check(self, method: str, path: str, answer: httpx.Response, *ok: int) -> httpx.Response:
        status = answer.status_code
        if 200 <= status < 300 or status in ok:
            return answer
        try:
            errors = answer.json().get("errors")
        except (ValueError, AttributeError):
            errors = None
        if isinstance(errors, list) and errors:
            detail = "; ".join(str(e) for e in errors)
        else:
            detail = " ".join(answer.text.split())
        detail = self.api.redact(detail[:300])
        hint = f"check {API_KEY}" if status in (401, 403) else None
        raise ProviderRefused(f"Kit refused {method} {path}: {status} {detail}", hint=hint)

    def _request(self, method: str, path: str, *ok: int, **kwargs: Any) -> httpx.Response:
        """One request; a 4xx (but those in `ok`) is ProviderRefused with Kit's own `errors`."""
        allow = (400, 401, 403, 404, 409, 422)
        answer: httpx.Response = self.api.request(method, path, allow=allow, **kwargs)
        return self._check(method, path, answer, *ok)

    # -- look-ups --------------------------------------------------------------------------------

    def _remote(self, broadcast: dict[str, Any]) -> RemoteCampaign:
        state = broadcast.get("status")
        status: RemoteStatus
        if isinstance(state, str) and state in self.STATUSES:
            status = self.STATUSES[state]
        elif not broadcast.get("send_at"):
            status = RemoteStatus.DRAFT
        else:
            at = datetime.fromisoformat(str(broadcast["send_at"]).replace("Z", "+00:00"))
            status = RemoteStatus.SCHEDULED if at > self._now() else RemoteStatus.SENT
        return RemoteCampaign(str(broadcast["id"]), status, broadcast.get("public_url"))

    def lookup(self, name: str, campaign: Campaign | None) -> RemoteCampaign | None:
        params: dict[str, str] = {"per_page": str(PAGE)}
        while True:
            page = self._request("GET", "/v4/broadcasts", params=params).json()
            for broadcast in page.get("broadcasts") or []:
                if broadcast.get("description") == name:
                    return self._remote(broadcast)
            pagination = page.get("pagination") or {}
            cursor = pagination.get("end_cursor")
            if not pagination.get("has_next_page") or not cursor:
                return None
            params = {**params, "after": str(cursor)}

    def fetch(self, remote_id: str) -> RemoteCampaign | None:
        answer = self._request("GET", f"/v4/broadcasts/{remote_id}", 404)
        if answer.status_code == 404:
            return None
        return self._remote(answer.json()["broadcast"])

    # -- the steps -------------------------------------------------------------------------------

    def _fields(self, campaign: Campaign) -> dict[str, Any]:
        email = campaign.email
        fields: dict[str, Any] = {
            "subject": email.subject,
            "content": email.html,
            "subscriber_filter": [{"all": self.audience(campaign.variant)}],
            # Only the free broadcast may go on Kit's web profile, and only when asked.
            "public": self.public and campaign.variant == Variant.FREE,
        }
        if email.preheader:
            fields["preview_text"] = email.preheader
        if self.email_template_id is not None:
            fields["email_template_id"] = self.email_template_id
        if self.email_address is not None:
            fields["email_address"] = self.email_address
        return fields

    def create(self, campaign: Campaign, name: str) -> str:
        body = {**self._fields(campaign), "description": name, "send_at": None}
        answer = self._request("POST", "/v4/broadcasts", json=body)
        return str(answer.json()["broadcast"]["id"])

    def schedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None:
        self._request("PUT", f"/v4/broadcasts/{remote_id}", json={"send_at": iso_utc(when)})

    def send_now(self, remote_id: str, campaign: Campaign) -> None:
        # Kit has no "send" call: a broadcast whose send_at has come goes out.
        self._request("PUT", f"/v4/broadcasts/{remote_id}", json={"send_at": iso_utc(self._now())})

    def send_test(self, campaign: Campaign, address: str) -> Delivery:
        why = "Kit's API has no test send"
        raise no_test_send(campaign, address, why, "Kit's own preview of the draft")

    # -- after scheduling: move, edit, cancel ---------------------------------------------------

    def reschedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None:
        """Give a scheduled broadcast the campaign's current content and the time `when`."""
        found = self.fetch(remote_id)
        if found is None or found.status is RemoteStatus.SENT:
            raise ProviderRefused(
                f"Kit broadcast {remote_id} is {'gone' if found is None else 'sent'}; "
                "nothing to move"
            )
        body = {**self._fields(campaign), "send_at": iso_utc(when)}
        self._request("PUT", f"/v4/broadcasts/{remote_id}", json=body)

    def update_scheduled(
        self, remote_id: str, campaign: Campaign, when: datetime, draft: bool
    ) -> bool:
        """The MovableProvider seam: one PUT gives a scheduled broadcast (or a draft an
        earlier move or `postcli unschedule` left) the current content and the new send_at."""
        self.reschedule(remote_id, campaign, when)
        return True

    def unschedule(self, remote_id: str, *, delete: bool = False) -> None:
        """Back to a draft (`send_at: null`), or deleted with `delete`; a sent one is refused."""
        found = self._unschedulable(remote_id, "broadcast")
        if found is None:
            return
        if delete:
            self._request("DELETE", f"/v4/broadcasts/{remote_id}", 404)
        elif found.status is RemoteStatus.SCHEDULED:
            self._request("PUT", f"/v4/broadcasts/{remote_id}", json={"send_at": None})
