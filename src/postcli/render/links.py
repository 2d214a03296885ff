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

    1. the web edition: `[site] url` + `/{id}/` (the page `postcli site` writes for the issue;
       DESIGN: with `[site] url` set, both emails link there);
    2. `newsletter.web_url`, with `{id}` replaced by the issue id;
    3. `newsletter.url`, the home page;
    4. None: the templates then show no link.
    """
    page = settings.site.issue_url(issue_id)
    if page:
        return page
    newsletter = settings.newsletter
    if newsletter.web_url:
        return newsletter.web_url.replace("{id}", issue_id)
    return newsletter.url or None
