"""What `[providers.ghost]` may say beyond the HTTP settings, checked once when the provider is
made. Used only by `postcli.providers.ghost`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from postcli.errors import ConfigError

VISIBILITIES = ("paid", "members", "tiers")


@dataclass(frozen=True)
class GhostOptions:
    newsletter: str | None  # the newsletter's slug
    visibility: str  # of the premium post: paid, members or tiers
    tiers: list[str]
    email_only: bool


def ghost_options(
    options: Mapping[str, Any], bad: Callable[[str, str], ConfigError]
) -> GhostOptions:
    """The options, or the ConfigError `bad(key, message)` makes for the first wrong one."""
    newsletter = options.get("newsletter")
    if newsletter is not None and (not isinstance(newsletter, str) or not newsletter.strip()):
        raise bad("newsletter", "'newsletter' in [providers.ghost] must be a newsletter slug")
    slug = newsletter.strip() if newsletter else None
    visibility = options.get("visibility", "paid")
    if visibility not in VISIBILITIES:
        raise bad(
            "visibility",
            f"'visibility' in [providers.ghost] must be one of {', '.join(VISIBILITIES)}; "
            "a public post would show the premium part to everyone",
        )
    tiers = options.get("tiers", [])
    if not isinstance(tiers, list) or not all(isinstance(t, str) and t.strip() for t in tiers):
        raise bad("tiers", "'tiers' in [providers.ghost] must be a list of tier slugs or ids")
    tiers = [t.strip() for t in tiers]
    if visibility == "tiers" and not tiers:
        raise bad("tiers", 'visibility = "tiers" needs tiers = ["tier-slug", ...]')
    if tiers and visibility != "tiers":
        raise bad("tiers", "'tiers' applies only with visibility = \"tiers\"")
    email_only = options.get("email_only", False)
    if not isinstance(email_only, bool):
        raise bad("email_only", "'email_only' in [providers.ghost] must be true or false")
    return GhostOptions(slug, visibility, tiers, email_only)
