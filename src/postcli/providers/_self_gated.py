"""What the self-gated platforms (Ghost, beehiiv) share on top of an HTTP campaign provider.

They take one post for everyone and gate the premium part themselves, schedule it on their own,
and send no test copy through their API. They add their own footer with the reader's unsubscribe
link: their merge tags only stand in the emails postcli renders for its checks, which the
platforms never receive.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from postcli.errors import InputError
from postcli.providers._campaigns import HttpCampaignProvider
from postcli.providers.base import Campaign, Features

if TYPE_CHECKING:
    from postcli.render.gated import GatedPost


class SelfGatedHttpProvider(HttpCampaignProvider):
    """An HTTP campaign provider that publishes one gated post per issue."""

    features: ClassVar[Features] = Features(
        self_gated=True, native_schedule=True, test_sends=False, find_by_name=False, movable=True
    )

    def _post_of(self, campaign: Campaign) -> GatedPost:
        """The issue's gated post, which `postcli send` makes for a self-gated provider."""
        post = campaign.post
        if post is None:
            raise InputError(
                f"the {self.name} provider needs the issue's gated post; this postcli run did "
                "not make one",
                hint="run the send through 'postcli send'",
            )
        return post
