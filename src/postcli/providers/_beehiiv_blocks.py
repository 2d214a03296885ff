"""A gated post as beehiiv blocks: paragraphs, headings, lists, quotes and images as beehiiv's
own block types, what they cannot hold as HTML blocks, one-tier sections with visibility settings,
the paywall marker as a paywall break. Used only by `postcli.providers.beehiiv`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from postcli.errors import InputError
from postcli.markdown import Token

if TYPE_CHECKING:
    from postcli.render.gated import GatedPost, Section

PREMIUM_ONLY = {
    "show_to_free_subscribers": False,
    "show_to_paid_subscribers": True,
    "show_to_anonymous_users_web": False,
}
FREE_ONLY = {
    "show_to_free_subscribers": True,
    "show_to_paid_subscribers": False,
    "show_to_anonymous_users_web": True,
}
_STYLES = {"strong": "bold", "em": "italic", "s": "strikethrough"}


def _groups(tokens: tuple[Token, ...]) -> Iterator[list[Token]]:
    """Top-level blocks, as render.gated groups them (aligned with Section.blocks)."""
    from postcli.render.gated import _top_level

    yield from _top_level(tokens)


class _Unblockable(Exception):
    """This construct has no beehiiv block: it goes as an html block."""


def _formatted(inline: Token) -> list[dict[str, Any]]:
    """An inline token's children as beehiiv formatted text; _Unblockable for images, HTML."""
    out: list[dict[str, Any]] = []
    styles: list[str] = []
    link: str | None = None
    for child in inline.children or []:
        kind = child.type
        if kind in ("strong_open", "em_open", "s_open"):
            styles.append(_STYLES[kind[:-5]])
        elif kind in ("strong_close", "em_close", "s_close"):
            style = _STYLES[kind[:-6]]
            if style in styles:
                styles.remove(style)
        elif kind == "link_open":
            link = str(child.attrGet("href") or "")
        elif kind == "link_close":
            link = None
        elif kind in ("text", "code_inline", "softbreak", "hardbreak"):
            text = {"softbreak": " ", "hardbreak": "\n"}.get(kind, child.content)
            section: dict[str, Any] = {"text": text}
            wanted = [*styles, "code"] if kind == "code_inline" else list(styles)
            if wanted:
                section["styling"] = wanted
            if link:
                section["link"] = {"href": link}
            out.append(section)
        elif kind == "footnote_ref":
            out.append({"text": f"[{child.meta['id'] + 1}]"})
        else:
            raise _Unblockable(kind)
    return out


def _plain(inline: Token) -> str:
    """An inline token as text; _Unblockable when formatting or a link would be lost."""
    parts = _formatted(inline)
    if any("link" in p or "styling" in p for p in parts):
        raise _Unblockable("formatting")
    return "".join(p["text"] for p in parts)


def _block(group: list[Token]) -> dict[str, Any]:
    """One top-level block of tokens as a beehiiv block; _Unblockable if there is none."""
    first = group[0]
    kind = first.type
    if kind == "paragraph_open":
        inline = group[1]
        if first.meta.get("figure") or _is_image_only(inline):
            image = next(c for c in inline.children or [] if c.type == "image")
            block: dict[str, Any] = {
                "type": "image",
                "imageUrl": str(image.attrGet("src") or ""),
                "alt_text": "".join(c.content for c in image.children or []) or image.content,
            }
            title = image.attrGet("title")
            if title:
                block["caption"] = str(title)
            link = next((c for c in inline.children or [] if c.type == "link_open"), None)
            if link is not None:
                block["url"] = str(link.attrGet("href") or "")
            return block
        return {"type": "paragraph", "formattedText": _formatted(inline)}
    if kind == "heading_open":
        return {"type": "heading", "level": first.tag[1], "text": _plain(group[1])}
    if kind in ("bullet_list_open", "ordered_list_open"):
        items = []
        for index, token in enumerate(group):
            if token.type == "list_item_open":
                inlines = _item_inlines(group, index)
                if len(inlines) != 1:
                    raise _Unblockable("list item")
                items.append(_plain(inlines[0]))
        block = {"type": "list", "items": items}
        block["listType"] = "ordered" if kind == "ordered_list_open" else "unordered"
        if kind == "ordered_list_open":
            block["startNumber"] = int(first.attrGet("start") or 1)
        return block
    if kind == "table_open":
        rows: list[list[dict[str, Any]]] = []
        for token in group:
            if token.type == "tr_open":
                rows.append([])
            elif token.type == "inline" and rows:
                rows[-1].append({"text": _plain(token)})
        return {"type": "table", "rows": rows, "headerRow": True}
    if kind == "blockquote_open":
        inlines = [t for t in group if t.type == "inline"]
        if len(inlines) != 1 or any(t.type not in _QUOTE_PARTS for t in group):
            raise _Unblockable("quote")
        return {"type": "quote", "quote": _plain(inlines[0])}
    if kind == "hr":
        return {"type": "content_break"}
    raise _Unblockable(kind)


_QUOTE_PARTS = (
    "blockquote_open",
    "blockquote_close",
    "paragraph_open",
    "paragraph_close",
    "inline",
)


def _is_image_only(inline: Token) -> bool:
    kinds = [
        c.type for c in inline.children or [] if not (c.type == "text" and not c.content.strip())
    ]
    return kinds in (["image"], ["link_open", "image", "link_close"])


def _item_inlines(group: list[Token], start: int) -> list[Token]:
    """The inline tokens directly inside the list item opening at `start`."""
    depth, found = 0, []
    for token in group[start:]:
        depth += token.nesting
        if token.type in ("bullet_list_open", "ordered_list_open") and depth > 1:
            raise _Unblockable("nested list")
        if token.type == "inline":
            found.append(token)
        if depth == 0:
            break
    return found


def blocks_for(post: GatedPost, paywall_id: str | None) -> list[dict[str, Any]]:
    """The post as beehiiv blocks, with visibility and the paywall break (module docs)."""
    out: list[dict[str, Any]] = []
    for section in post.sections:
        if section.readers == "paywall":
            if paywall_id is None:
                raise InputError("the issue has a paywall marker, but no paywall_id is set")
            out.append({"type": "paywall_break", "paywall_id": paywall_id})
            continue
        visibility = {"premium": PREMIUM_ONLY, "free": FREE_ONLY}.get(section.readers)
        for block in _section_blocks(section):
            if visibility is not None:
                block["visibility_settings"] = dict(visibility)
            out.append(block)
    return out


def _section_blocks(section: Section) -> Iterator[dict[str, Any]]:
    if section.footnotes:
        yield {"type": "html", "html": section.html}
        return
    for group, html in zip(_groups(section.tokens), section.blocks, strict=True):
        try:
            yield _block(group)
        except _Unblockable:
            yield {"type": "html", "html": html}
