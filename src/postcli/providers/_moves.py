"""Changing and cancelling a campaign the provider holds scheduled: what the HTTP campaign
providers share for `MovableProvider` (an edit after scheduling moves the campaign in place,
`postcli unschedule` cancels it). A part of `HttpCampaignProvider` (_campaigns.py), kept apart.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from postcli.errors import ProviderRefused
from postcli.model import RemoteStatus, SendStatus
from postcli.providers.base import Campaign, Delivery, RemoteCampaign


class CampaignMoves:
    """Mixed into `HttpCampaignProvider`, whose look-ups and careful steps these use; an adapter
    overrides `unschedule` and `update_scheduled` where its API can."""

    title: ClassVar[str]

    if TYPE_CHECKING:  # provided by HttpCampaignProvider; declared for the type checker only

        def fetch(self, remote_id: str) -> RemoteCampaign | None: ...

        def schedule(self, remote_id: str, campaign: Campaign, when: datetime) -> None: ...

        def schedule_time(self, when: datetime) -> datetime: ...

        # act, remote_id, the statuses that mean done; gone=True: deleted counts as done
        _until_done: Callable[..., None]

    def unschedule(self, remote_id: str) -> None:
        """Take the scheduled campaign back to a draft, or delete it, so it never goes out.
        An adapter whose API cannot says so here (the default)."""
        raise ProviderRefused(
            f"{self.title} cannot cancel a scheduled campaign through its API ({remote_id})",
            hint=f"cancel it in {self.title} itself",
        )

    def update_scheduled(
        self, remote_id: str, campaign: Campaign, when: datetime, draft: bool
    ) -> bool:
        """Change the campaign in place to `campaign` at `when` and leave it scheduled (`draft`:
        it is a draft now); False when the API cannot (Resend changes drafts only)."""
        return False

    def update_as_draft(
        self,
        remote_id: str,
        campaign: Campaign,
        when: datetime,
        draft: bool,
        update: Callable[[], object],
    ) -> bool:
        """update_scheduled for an API that changes only unscheduled campaigns (Mailchimp,
        SendGrid): unschedule, `update()` the draft, schedule again. A run cut off in between
        finds a draft and does the rest."""
        if not draft:
            self.unschedule(remote_id)
        update()
        self.schedule(remote_id, campaign, when)
        return True

    def update_campaign(self, campaign: Campaign) -> Delivery | None:
        assert campaign.remote_id is not None and campaign.send_at is not None
        found = self.fetch(campaign.remote_id)
        if found is None:
            return None  # gone: a new one replaces it
        if found.status is RemoteStatus.SENT:
            raise self._went_out(found.remote_id)
        when = self.schedule_time(campaign.send_at)
        if not self.update_scheduled(
            found.remote_id, campaign, when, found.status is RemoteStatus.DRAFT
        ):
            return None
        return Delivery(SendStatus.SCHEDULED, found.remote_id, found.url, scheduled_for=when)

    def cancel_campaign(self, remote_id: str) -> None:
        found = self.fetch(remote_id)
        if found is None or found.status is RemoteStatus.DRAFT:
            return
        if found.status is RemoteStatus.SENT:
            raise self._went_out(remote_id)
        self._until_done(
            lambda: self.unschedule(remote_id), remote_id, (RemoteStatus.DRAFT,), gone=True
        )

    def _unschedulable(self, remote_id: str, what: str) -> RemoteCampaign | None:
        """The `what` (post, broadcast) `remote_id` before it is unscheduled: None when it is
        gone; ProviderRefused when it went out already."""
        found = self.fetch(remote_id)
        if found is not None and found.status is RemoteStatus.SENT:
            raise ProviderRefused(
                f"{self.title} {what} {remote_id} went out already; it cannot be unscheduled"
            )
        return found

    def _went_out(self, remote_id: str) -> ProviderRefused:
        return ProviderRefused(
            f"{self.title} campaign {remote_id} went out already; it can no longer be changed",
            hint="see 'postcli status'",
        )
