"""The links every email carries whatever its issue says: today, "view in browser".

One function computes it, so the email, its plain text and `postcli check` (which must know it
is no premium text) agree. Pure: settings in, URL out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from postcli.config import Settings


def view_in_browser(settings: Settings, issue_id: str) -> str | None:
    """Where "view in browser" goes, first that applies:

    1. `newsletter.web_url`, with `{id}` replaced by the issue id;
    2. the web edition: `[site] url` + `/{id}/` (the page `postcli site` writes for the issue);
    3. `newsletter.url`, the home page;
    4. None: the templates then show no link.
    """
    newsletter = settings.newsletter
    if newsletter.web_url:
        return newsletter.web_url.replace("{id}", issue_id)
    site_url = getattr(getattr(settings, "site", None), "url", None)  # [site], when configured
    if site_url:
        return f"{str(site_url).rstrip('/')}/{issue_id}/"
    return newsletter.url or None
