"""The pages that list issues: the index (newest first, 50 to a page), one page per tag, and
the 404 page. Each is made from the issues' summaries alone, never from their bodies.

    index.html, page/2/index.html, ...
    tags/<slug>/index.html, tags/<slug>/page/2/index.html, ...
    404.html
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from postcli.site.meta import page_meta
from postcli.site.pages import Frame, listing_item, tag_slug
from postcli.site.published import Entry

PAGE_SIZE = 50
LIST_TEMPLATE = "site/list.html.j2"
NOT_FOUND_TEMPLATE = "site/404.html.j2"


@dataclass(frozen=True)
class Planned:
    """A page decided but not rendered yet: a build renders it only when its values changed.

    `values` is everything its context is made from besides the build's frame (the issues it
    lists, with their dates and states, and where it sits), so an unchanged page costs no
    context at all."""

    template: str
    values: str
    make_context: Callable[[], dict[str, Any]]

    def render(self, frame: Frame) -> str:
        from postcli.render import templates

        return templates.render(self.template, self.make_context(), frame.settings.templates_dir)


def _signature(entry: Entry) -> str:
    """What a listing shows of an issue comes from this alone."""
    summary = json.dumps(entry.summary.to_json(), sort_keys=True, ensure_ascii=False)
    return f"{entry.when.isoformat()}|{entry.state}|{summary}"


def listing_pages(
    entries: list[Entry], frame: Frame, *, folder: str, heading: str, description: str | None
) -> dict[str, Planned]:
    """`folder` ("" or "tags/<slug>/") and its later pages, by path under site/."""
    chunks = [entries[i : i + PAGE_SIZE] for i in range(0, len(entries), PAGE_SIZE)] or [[]]
    pages: dict[str, Planned] = {}

    def directory(number: int) -> str:
        return folder if number == 1 else f"{folder}page/{number}/"

    def context(number: int, chunk: list[Entry]) -> dict[str, Any]:
        here = directory(number)
        base = "../" * here.count("/")

        def href(other: int) -> str:
            return base + directory(other) or "./"

        label = str(frame.words["page_of"]).format(page=number, pages=len(chunks))
        title = (frame.title if not folder else heading) + (f" ({label})" if number > 1 else "")
        meta = page_meta(
            title=title,
            site_title=frame.title,
            description=description,
            canonical=frame.url(here),
            lang=frame.settings.newsletter.lang,
        )
        return {
            **frame.context(base, meta),
            "heading": heading,
            "items": [listing_item(entry, frame) for entry in chunk],
            "pager": {
                "pages": len(chunks),
                "label": label,
                "newer": href(number - 1) if number > 1 else None,
                "older": href(number + 1) if number < len(chunks) else None,
            },
        }

    for number, chunk in enumerate(chunks, start=1):
        values = json.dumps(
            [folder, heading, description, number, len(chunks), [_signature(e) for e in chunk]],
            ensure_ascii=False,
        )
        pages[f"{directory(number)}index.html"] = Planned(
            LIST_TEMPLATE, values, partial(context, number, chunk)
        )
    return pages


def index_pages(entries: list[Entry], frame: Frame) -> dict[str, Planned]:
    description = frame.settings.newsletter.name
    if frame.title != description:
        description = f"{frame.title}: {description}"
    heading = str(frame.words["archive"])
    return listing_pages(entries, frame, folder="", heading=heading, description=description)


def tag_pages(entries: list[Entry], frame: Frame) -> dict[str, Planned]:
    """One listing per tag; two spellings of one slug share it, under the first one seen."""
    by_slug: dict[str, tuple[str, list[Entry]]] = {}
    for entry in entries:
        for tag in dict.fromkeys(entry.summary.tags):
            slug = tag_slug(tag)
            name, tagged = by_slug.setdefault(slug, (tag, []))
            if not tagged or tagged[-1] is not entry:
                tagged.append(entry)
    pages: dict[str, Planned] = {}
    for slug, (name, tagged) in sorted(by_slug.items()):
        heading = str(frame.words["tagged"]).format(tag=name)
        pages.update(
            listing_pages(
                tagged, frame, folder=f"tags/{slug}/", heading=heading, description=heading
            )
        )
    return pages


def not_found_page(frame: Frame) -> Planned:
    """404.html answers at any depth: its links are absolute paths under [site] url."""
    title = str(frame.words["not_found_title"])
    meta = page_meta(
        title=title,
        site_title=frame.title,
        description=None,
        canonical=frame.url("404.html"),
        lang=frame.settings.newsletter.lang,
        noindex=True,
    )
    context = frame.context(frame.site_path + "/", meta)
    return Planned(
        NOT_FOUND_TEMPLATE, json.dumps(context, default=str, sort_keys=True), lambda: context
    )
