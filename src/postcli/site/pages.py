"""One issue -> its web page: the free variant the emails are made from, rendered through the
site's own templates (`templates/site/issue.html.j2`), and the same content for the feed.

The body comes from `render.markdown.parse_variant(issue, Variant.FREE)`, the very parse the
free email uses, so the page can hold nothing the free email does not: premium-only content
was cut from the token stream before any of this runs. Local images become the published
files under assets/ (`srcset` with the original when it was resized); links are resolved as
the emails resolve them. An `audience: premium` issue gets no body at all: its title,
subtitle and the upgrade block.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import astuple, dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from markupsafe import Markup

from postcli.config import Settings
from postcli.issues import Issue
from postcli.markdown import Token
from postcli.model import Audience, Variant
from postcli.render.webassets import ASSETS
from postcli.site import meta as site_meta
from postcli.site.assets import ImageProblem, PublishedImage
from postcli.site.published import Entry

ISSUE_TEMPLATE = "site/issue.html.j2"
FIGURE_WIDTH = 552  # what render.markdown gives a figure's <img>; the CSS makes it fluid
SIZES = "(min-width: 42rem) 37.5rem, calc(100vw - 2rem)"  # the measure in site.css

# A source image -> its published files, or None when it cannot be published.
Publisher = Callable[[Path], PublishedImage | None]


@dataclass(frozen=True)
class Frame:
    """What every page of one build shares."""

    settings: Settings
    words: dict[str, Any]  # templates/site/strings.toml for the newsletter's language
    date_words: dict[str, Any]  # templates/strings.toml: the date format the emails use
    css_name: str  # the style sheet under assets/
    drafts: bool
    images: dict[str, list[Any]] = field(default_factory=dict)  # SiteState.images

    def plan(self, source: Path) -> PublishedImage:
        """`assets.plan`, answered from the last build's record while the file's time and
        size are the same: a rebuild opens no image it already knows. Raises ImageProblem."""
        from postcli.site import assets

        stat = source.stat()
        seen = (stat.st_mtime_ns, stat.st_size)
        known = self.images.get(str(source))
        if known is not None and tuple(known[:2]) == seen:
            return PublishedImage(*known[2:])
        target = assets.plan(source)
        self.images[str(source)] = [*seen, *astuple(target)]
        return target

    @property
    def site_url(self) -> str:
        assert self.settings.site.url is not None
        return self.settings.site.url.rstrip("/")

    @property
    def site_path(self) -> str:
        from urllib.parse import urlsplit

        return urlsplit(self.site_url).path.rstrip("/")

    @property
    def title(self) -> str:
        return self.settings.site.title or self.settings.newsletter.name

    def url(self, relative: str) -> str:
        """An absolute URL under [site] url for a path relative to the site's root."""
        from urllib.parse import quote

        return f"{self.site_url}/{quote(relative)}"

    def context(self, base: str, meta: dict[str, Any]) -> dict[str, Any]:
        """The values base.html.j2 uses; `base` leads from the page to the site's root."""
        newsletter = self.settings.newsletter
        return {
            "lang": newsletter.lang,
            "t": self.words,
            "site": {"title": self.title, "url": self.site_url},
            "newsletter_name": newsletter.name,
            "base": base,
            "home_href": base or "./",
            "feed_href": f"{base}feed.xml",
            "feed_url": self.url("feed.xml"),
            "css_href": f"{base}{ASSETS}/{self.css_name}",
            "subscribe_url": newsletter.url,
            "upgrade_url": self.settings.premium.upgrade_url or None,
            "drafts": self.drafts,
            "meta": meta,
        }

    def date_text(self, when: datetime | None) -> str | None:
        if when is None:
            return None
        local = when.astimezone(self.settings.newsletter.tz)
        months = self.date_words.get("months") or []
        month_name = months[local.month - 1] if len(months) == 12 else str(local.month)
        template = str(self.date_words.get("date_format", "{year}-{month:02d}-{day:02d}"))
        return template.format(
            year=local.year, month=local.month, day=local.day, month_name=month_name
        )


@cache
def tag_slug(tag: str) -> str:
    """A tag's folder under tags/: letters and digits of any script, the rest as '-'."""
    text = unicodedata.normalize("NFKC", tag).strip().lower()
    slug = re.sub(r"[^\w]+", "-", text).strip("-_")
    return slug or "tag"


def listing_item(entry: Entry, frame: Frame) -> dict[str, Any]:
    """How an issue appears in a listing and in its own page's header."""
    summary = entry.summary
    return {
        "id": summary.id,
        "href": f"{summary.id}/",
        "title": summary.title,
        "subtitle": summary.subtitle,
        "date_text": frame.date_text(entry.when),
        "date_iso": entry.when.astimezone(frame.settings.newsletter.tz).isoformat(),
        "state": str(entry.state),
        "audience": summary.audience,
        "tags": [{"name": tag, "href": f"tags/{tag_slug(tag)}/"} for tag in summary.tags],
    }


def _is_figure(tokens: Sequence[Token], index: int) -> bool:
    """As render.markdown decides it: a paragraph holding one image (maybe linked) only."""
    if tokens[index].type != "paragraph_open" or index + 1 >= len(tokens):
        return False
    inline = tokens[index + 1]
    children = [
        c
        for c in inline.children or []
        if c.type != "softbreak" and not (c.type == "text" and not c.content.strip())
    ]
    return [c.type for c in children] in (["image"], ["link_open", "image", "link_close"])


@dataclass
class _Body:
    html: str
    images: list[Path]
    first: tuple[PublishedImage, str] | None  # the first published image and its alt text


def render_body(issue: Issue, frame: Frame, publish: Publisher, prefix: str) -> _Body:
    """The free variant's body as HTML; local images point at `prefix` + their asset name."""
    from postcli.render import is_absolute_url, local_file, make_resolver
    from postcli.render.body import body_html, parse_variant

    body = parse_variant(issue, Variant.FREE)
    email_resolve = make_resolver(issue, frame.settings)
    placed: set[str] = set()
    images: list[Path] = []
    first: tuple[PublishedImage, str] | None = None
    tokens = body.tokens
    for index, token in enumerate(tokens):
        if token.type != "inline":
            continue
        figure = index > 0 and _is_figure(tokens, index - 1)
        for child in token.children or []:
            src = child.attrGet("src") if child.type == "image" else None
            if not isinstance(src, str) or not src or is_absolute_url(src):
                continue
            found = local_file(issue, frame.settings, src)
            published = publish(found) if found is not None else None
            if found is None or published is None:
                continue
            images.append(found)
            url = prefix + published.name
            placed.add(url)
            child.attrSet("src", url)
            if published.width:
                width = FIGURE_WIDTH if figure else published.width
                child.attrSet("width", str(width))
                child.attrSet("height", str(round(width * published.height / published.width)))
                srcset = f"{url} {published.width}w"
                if published.original:
                    srcset += f", {prefix}{published.original} {published.original_width}w"
                child.attrSet("srcset", srcset)
                child.attrSet("sizes", SIZES)
            child.attrSet("loading", "lazy")
            child.attrSet("decoding", "async")
            if first is None:
                alt = "".join(c.content for c in child.children or [] if c.type == "text")
                first = (published, alt or child.content)

    def resolve(kind: str, url: str) -> str:
        return url if url in placed else email_resolve(kind, url)

    return _Body(body_html(body, resolve), images, first)


def upgrade_block(issue: Issue, settings: Settings) -> dict[str, Any]:
    from postcli.render.body import markdown_html

    pitch = settings.premium.merged(issue.front.upgrade)
    return {
        "heading": pitch.heading,
        "text_html": Markup(markdown_html(pitch.text)),
        "benefits": list(pitch.benefits),
        "button": pitch.button,
        "url": pitch.upgrade_url or None,
    }


@dataclass(frozen=True)
class IssuePage:
    html: str  # <id>/index.html
    content: str  # the feed entry's content: the same body with absolute URLs
    images: tuple[Path, ...]  # the local images it uses


def render_issue_page(issue: Issue, entry: Entry, frame: Frame, publish: Publisher) -> IssuePage:
    from postcli.render import templates

    settings = frame.settings
    premium_only = issue.front.audience is Audience.PREMIUM
    page = None
    page_html = feed_html = None
    if not premium_only:
        # One render for the page and the feed: asset URLs carry a marker no issue can
        # contain (it is new each time), then become relative for the page, absolute for the feed.
        marker = f"postcli-asset-{secrets.token_hex(12)}/"
        page = render_body(issue, frame, publish, marker)
        page_html = page.html.replace(marker, f"../{ASSETS}/")
        feed_html = page.html.replace(marker, frame.url(f"{ASSETS}/"))
    cut = premium_only or issue.has_premium_only
    upgrade = upgrade_block(issue, settings) if cut else None

    image = None
    if page is not None and page.first is not None:
        published, alt = page.first
        image = site_meta.Image(
            frame.url(f"{ASSETS}/{published.name}"), published.width, published.height, alt
        )
    item = listing_item(entry, frame)
    canonical = frame.url(f"{issue.id}/")
    meta = site_meta.article_meta(
        title=issue.front.title,
        site_title=frame.title,
        publisher=settings.newsletter.name,
        description=entry.summary.description,
        canonical=canonical,
        lang=settings.newsletter.lang,
        published=item["date_iso"],
        tags=list(issue.front.tags),
        image=image,
        home=frame.url(""),
    )
    context = {
        **frame.context("../", meta),
        "issue": item,
        "body": Markup(page_html) if page_html is not None else None,
        "upgrade": upgrade,
    }
    html = templates.render(ISSUE_TEMPLATE, context, settings.templates_dir)
    content = _feed_content(feed_html, issue, upgrade, frame)
    return IssuePage(html, content, tuple(page.images) if page is not None else ())


def _feed_content(
    body: str | None, issue: Issue, upgrade: dict[str, Any] | None, frame: Frame
) -> str:
    """The entry's HTML: the free body, then the pitch where premium content was cut."""
    from markupsafe import escape

    parts = []
    if body is None and issue.front.subtitle:
        parts.append(f"<p>{escape(issue.front.subtitle)}</p>")
    if body is not None:
        parts.append(body)
    if upgrade is not None:
        parts.append(f"<h2>{escape(upgrade['heading'])}</h2>")
        parts.append(str(upgrade["text_html"]))
        if upgrade["benefits"]:
            items = "".join(f"<li>{escape(b)}</li>" for b in upgrade["benefits"])
            parts.append(f"<ul>{items}</ul>")
        if upgrade["url"]:
            parts.append(
                f'<p><a href="{escape(upgrade["url"])}">{escape(upgrade["button"])}</a></p>'
            )
    return "\n".join(parts)


def safe_publisher(publish: Callable[[Path], PublishedImage], problems: list[str]) -> Publisher:
    """A publisher that reports an image it cannot publish and leaves it out."""

    def wrapped(source: Path) -> PublishedImage | None:
        try:
            return publish(source)
        except ImageProblem as exc:
            problems.append(f"{source.name}: {exc}")
            return None

    return wrapped
