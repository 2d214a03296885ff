"""The metadata every page of the web edition carries: title, description, canonical URL,
Open Graph and Twitter card values, and the JSON-LD Article of an issue page.

Pure: values in, a dictionary for the templates out. The JSON-LD is the one value a template
gets as markup, so it is escaped here: `<`, `>` and `&` become JSON escapes, so no text in it
can close the script element or open a comment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup


@dataclass(frozen=True)
class Image:
    """An image for share cards: an absolute URL, its size when known, and its alt text."""

    url: str
    width: int = 0
    height: int = 0
    alt: str = ""


def script_json(data: dict[str, Any]) -> Markup:
    """JSON for a <script type="application/ld+json"> element, safe inside HTML."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for raw, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(raw, escaped)
    # U+2028 and U+2029 are line ends to old JavaScript parsers; JSON allows them raw.
    text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return Markup(text)


# og:locale wants language_TERRITORY: the usual territory of a bare language.
_TERRITORY = {"ko": "KR", "ja": "JP", "en": "US", "zh": "CN", "de": "DE", "fr": "FR", "es": "ES"}


def locale(lang: str) -> str:
    """`ko` -> `ko_KR`, `en-GB` -> `en_GB`; a language without a known territory as is."""
    parts = lang.replace("-", "_").split("_")
    language = parts[0].lower()
    territory = parts[1].upper() if len(parts) > 1 else _TERRITORY.get(language)
    return f"{language}_{territory}" if territory else language


def page_meta(
    *,
    title: str,
    site_title: str,
    description: str | None,
    canonical: str,
    lang: str,
    image: Image | None = None,
    noindex: bool = False,
) -> dict[str, Any]:
    """A listing or the 404 page: a website, not an article."""
    return {
        "title": title if title == site_title else f"{title} · {site_title}",
        "og_title": title,
        "og_type": "website",
        "description": description,
        "canonical": canonical,
        "locale": locale(lang),
        "image": image,
        "published": None,
        "tags": [],
        "noindex": noindex,
        "json_ld": None,
    }


def article_meta(
    *,
    title: str,
    site_title: str,
    publisher: str,
    description: str | None,
    canonical: str,
    lang: str,
    published: str | None,
    tags: list[str],
    image: Image | None,
    home: str,
) -> dict[str, Any]:
    """An issue page: an article, with its JSON-LD."""
    article: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": title,
        "url": canonical,
        "mainEntityOfPage": canonical,
        "inLanguage": lang,
        "publisher": {"@type": "Organization", "name": publisher, "url": home},
        "author": {"@type": "Organization", "name": publisher, "url": home},
    }
    if description:
        article["description"] = description
    if published:
        article["datePublished"] = published
    if tags:
        article["keywords"] = tags
    if image is not None:
        article["image"] = image.url
    return {
        **page_meta(
            title=title,
            site_title=site_title,
            description=description,
            canonical=canonical,
            lang=lang,
            image=image,
        ),
        "og_type": "article",
        "published": published,
        "tags": tags,
        "json_ld": script_json(article),
    }
