"""feed.xml (Atom 1.0, RFC 4287) and sitemap.xml (sitemaps.org 0.9), from templates.

A template rather than a feed library: the feed is thirty lines of XML whose every value the
template escapes, its bytes do not depend on the clock (the feed's `updated` is its newest
entry's), and the tests check it against RFC 4287's required elements and read it back with
feedparser. Every URL is absolute under [site] url.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from postcli.site.pages import Frame
from postcli.site.published import Entry

FEED_TEMPLATE = "site/feed.xml.j2"
SITEMAP_TEMPLATE = "site/sitemap.xml.j2"
FEED_ENTRIES = 20
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _stamp(moment: datetime | None) -> str:
    """RFC 3339 in UTC, as Atom dates are."""
    return (moment or _EPOCH).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def feed_xml(entries: list[Entry], contents: dict[str, str], frame: Frame) -> str:
    """The latest FEED_ENTRIES issues; `contents` holds each one's free content (HTML)."""
    from postcli.render import templates

    latest = entries[:FEED_ENTRIES]
    newsletter = frame.settings.newsletter
    feed = {
        "id": frame.url(""),
        "title": frame.title,
        "subtitle": newsletter.name if newsletter.name != frame.title else None,
        "updated": _stamp(latest[0].when if latest else None),
        "self": frame.url("feed.xml"),
        "home": frame.url(""),
        "author": newsletter.name,
    }
    items: list[dict[str, Any]] = []
    for entry in latest:
        summary = entry.summary
        items.append(
            {
                "id": frame.url(f"{summary.id}/"),
                "url": frame.url(f"{summary.id}/"),
                "title": summary.title,
                "published": _stamp(entry.when),
                "updated": _stamp(entry.when),
                "tags": list(summary.tags),
                "summary": summary.description,
                "content": contents.get(summary.id, ""),
            }
        )
    context = {"lang": newsletter.lang, "feed": feed, "entries": items}
    return templates.render(FEED_TEMPLATE, context, frame.settings.templates_dir)


def sitemap_xml(entries: list[Entry], pages: list[str], frame: Frame) -> str:
    """Every HTML page but 404.html; an issue page carries its date as lastmod."""
    from postcli.render import templates

    dates = {f"{e.id}/index.html": e.when for e in entries}
    issue_pages = [f"{e.id}/index.html" for e in entries]
    listings = sorted(
        set(pages) - set(issue_pages), key=lambda p: (p != "index.html", p.startswith("tags/"), p)
    )
    urls = []
    for page in [*listings[:1], *issue_pages, *listings[1:]]:
        if page == "404.html":
            continue
        folder = page.removesuffix("index.html")
        when = dates.get(page)
        urls.append({"loc": frame.url(folder), "lastmod": _stamp(when) if when else None})
    return templates.render(SITEMAP_TEMPLATE, {"urls": urls}, frame.settings.templates_dir)
