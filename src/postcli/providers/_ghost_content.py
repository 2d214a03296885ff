"""A gated post as Ghost's content: a Lexical document of HTML cards, or HTML for its import.

Premium and free sections get cards whose web and email visibility exclude the other tier; the
paywall becomes Ghost's members-only card. Used only by `postcli.providers.ghost`."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from postcli.render.gated import GatedPost, Section

ALL_MEMBERS = "status:free,status:-free"
PAID_MEMBERS = "status:-free"
FREE_MEMBERS = "status:free"

# Top-level blocks Ghost's HTML import keeps as they are; anything else goes in an HTML card.
_PLAIN_BLOCK_RE = re.compile(r"^<(p|h[1-6]|ul|ol|blockquote|pre|hr)[\s>/]")
_UNSAFE_INSIDE_RE = re.compile(r"<(sup|div|table|section|span|figure|iframe|script|style)\b|class=")


def _card(html: str, visibility: dict[str, Any] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "html", "version": 1, "html": html}
    if visibility is not None:
        node["visibility"] = visibility
    return node


def _visibility(web_non_member: bool, web: str, email: str) -> dict[str, Any]:
    return {
        "web": {"nonMember": web_non_member, "memberSegment": web},
        "email": {"memberSegment": email},
    }


PREMIUM_ONLY = _visibility(False, PAID_MEMBERS, PAID_MEMBERS)
FREE_ONLY = _visibility(True, FREE_MEMBERS, FREE_MEMBERS)


def lexical_document(post: GatedPost, *, guard_below: bool) -> str:
    """The post as a Lexical document: an HTML card per section, the paywall card at the
    marker. `guard_below` gives the sections below the paywall premium visibility too (for
    `paid` and `tiers` posts, where the paywall already cuts them; never for `members`)."""
    children: list[dict[str, Any]] = []
    for section in post.sections:
        if section.readers == "paywall":
            children.append({"type": "paywall", "version": 1})
        elif section.readers == "premium" and (guard_below or not section.below_paywall):
            children.append(_card(section.html, PREMIUM_ONLY))
        elif section.readers == "free":
            children.append(_card(section.html, FREE_ONLY))
        else:
            children.append(_card(section.html))
    root = {
        "root": {
            "children": children,
            "direction": None,
            "format": "",
            "indent": 0,
            "type": "root",
            "version": 1,
        }
    }
    return json.dumps(root, ensure_ascii=False)


def _html_blocks(section: Section) -> str:
    """A section as HTML for Ghost's import: plain blocks as they are, the rest in HTML cards
    (tables, figures with captions, footnotes, raw HTML), which Ghost keeps verbatim."""
    from postcli.render.gated import block_html

    out = []
    for part in block_html(section):
        if _PLAIN_BLOCK_RE.match(part) and not _UNSAFE_INSIDE_RE.search(part):
            out.append(part)
        else:
            out.append(f"<!--kg-card-begin: html-->\n{part.strip()}\n<!--kg-card-end: html-->\n")
    return "".join(out)


def html_document(post: GatedPost) -> str:
    """The post as HTML for `?source=html`: sections in order, `<!--members-only-->` at the
    paywall. Only for posts without one-tier sections above the paywall (see module docs)."""
    assert not post.has_blocks
    parts = []
    for section in post.sections:
        parts.append(
            "<!--members-only-->\n" if section.readers == "paywall" else _html_blocks(section)
        )
    return "".join(parts)
