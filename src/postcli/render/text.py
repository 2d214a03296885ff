"""A variant's body tokens -> readable plain text: the text/plain part of the email.

Made from the same parsed tokens as the HTML, so both parts of an email agree.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from postcli import markdown
from postcli.markdown import Token
from postcli.render.body import Body, UrlResolver
from postcli.render.script_urls import dangerous_scheme


def display_width(text: str) -> int:
    """Columns the text takes in a monospaced font: Hangul and CJK take two."""
    # Each character's class name holds a "W" or an "F" only if it is wide or full-width
    # ("W", "F"; the others are "Na", "N", "A", "H"): counted in C, not per character.
    classes = "".join(map(unicodedata.east_asian_width, text))
    return len(text) + classes.count("W") + classes.count("F")


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


class _Node:
    """One node of the token tree, as markdown-it's SyntaxTreeNode sees it (an unnested token,
    or an open/close pair with what lies between), built in one loop without its bookkeeping."""

    __slots__ = ("children", "token", "type")

    def __init__(self, kind: str, token: Token, children: list[_Node]) -> None:
        self.type = kind
        self.token = token
        self.children = children

    @property
    def tag(self) -> str:
        return self.token.tag

    @property
    def attrs(self) -> dict[str, str | int | float]:
        return self.token.attrs

    @property
    def content(self) -> str:
        return self.token.content

    @property
    def meta(self) -> dict[Any, Any]:
        return self.token.meta

    @property
    def hidden(self) -> bool:
        return self.token.hidden


def _tree(tokens: Sequence[Token]) -> list[_Node]:
    """The nodes SyntaxTreeNode(tokens).children would hold, with the same types, tokens and
    children (markdown-it's token streams are balanced)."""
    top: list[_Node] = []
    levels = [top]
    for token in tokens:
        nesting = token.nesting
        if nesting == 1:
            node = _Node(token.type.removesuffix("_open"), token, [])
            levels[-1].append(node)
            levels.append(node.children)
        elif nesting == -1:
            levels.pop()
        else:
            inner = token.children
            levels[-1].append(_Node(token.type, token, _tree(inner) if inner else []))
    return top


class _TextRenderer:
    """Renders a parsed body as readable plain text: the text/plain part of the email."""

    def __init__(self, resolve: UrlResolver) -> None:
        self.resolve = resolve

    def render(self, tokens: list[Token]) -> str:
        text = "\n\n".join(self.blocks(_tree(tokens)))
        return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"

    def blocks(self, nodes: Sequence[_Node], tight: bool = False) -> list[str]:
        out = [self.block(node) for node in nodes]
        out = [b for b in out if b.strip()]
        return ["\n".join(out)] if tight and out else out

    def block(self, node: _Node) -> str:
        kind = node.type
        if kind == "heading":
            text = self.inline(node.children[0]) if node.children else ""
            level = int(node.tag[1])
            if level <= 2:
                return f"{text}\n{('=' if level == 1 else '-') * max(display_width(text), 3)}"
            return f"{'#' * level} {text}"
        if kind == "paragraph":
            return self.inline(node.children[0]) if node.children else ""
        if kind in ("bullet_list", "ordered_list"):
            return self.list(node)
        if kind == "blockquote":
            inner = "\n\n".join(self.blocks(node.children))
            return "\n".join(f"> {line}".rstrip() for line in inner.split("\n"))
        if kind in ("fence", "code_block"):
            return "\n".join(f"    {line}" for line in node.content.rstrip("\n").split("\n"))
        if kind == "hr":
            return "* * *"
        if kind == "table":
            return self.table(node)
        if kind == "html_block":
            return re.sub(r"<!--.*?-->|<[^>]+>", "", node.content, flags=re.S).strip()
        if kind == "footnote_block":
            notes = []
            for number, footnote in enumerate(node.children, start=1):
                inner = "\n\n".join(self.blocks(footnote.children)).strip()
                notes.append(f"[{number}] {inner}")
            return "* * *\n" + "\n".join(notes)
        return "\n\n".join(self.blocks(node.children))

    def list(self, node: _Node) -> str:
        start = int(node.attrs.get("start", 1)) if node.type == "ordered_list" else 1
        tight = all(
            getattr(p, "hidden", False)
            for item in node.children
            for p in item.children
            if p.type == "paragraph"
        )
        items = []
        for offset, item in enumerate(node.children):
            marker = f"{start + offset}. " if node.type == "ordered_list" else "- "
            inner = ("\n" if tight else "\n\n").join(self.blocks(item.children))
            lines = inner.split("\n")
            indent = " " * len(marker)
            items.append(
                marker
                + lines[0]
                + "".join(f"\n{indent}{line}" if line else "\n" for line in lines[1:])
            )
        return ("\n" if tight else "\n\n").join(items)

    def table(self, node: _Node) -> str:
        rows: list[list[str]] = []
        header_rows = 0
        for section in node.children:
            for row in section.children:
                rows.append(
                    [
                        self.inline(cell.children[0]) if cell.children else ""
                        for cell in row.children
                    ]
                )
            if section.type == "thead":
                header_rows = len(rows)
        if not rows:
            return ""
        columns = max(len(r) for r in rows)
        widths = [
            max(display_width(r[i]) if i < len(r) else 0 for r in rows) for i in range(columns)
        ]
        lines = []
        for number, texts in enumerate(rows):
            cells = [_pad(texts[i] if i < len(texts) else "", widths[i]) for i in range(columns)]
            lines.append(" | ".join(cells).rstrip())
            if number + 1 == header_rows:
                lines.append("-+-".join("-" * w for w in widths))
        return "\n".join(lines)

    def inline(self, node: _Node) -> str:
        parts: list[str] = []
        for child in node.children:
            kind = child.type
            if kind == "text":
                parts.append(child.content)
            elif kind in ("softbreak", "hardbreak"):
                parts.append("\n")
            elif kind == "code_inline":
                parts.append(child.content)
            elif kind == "link":
                text = self.inline(child)
                href = self.resolve("a", str(child.attrs.get("href", "")))
                if dangerous_scheme(href):
                    parts.append(text)
                    continue
                bare = href.removeprefix("mailto:")
                parts.append(text if text in (href, bare) else f"{text} ({href})")
            elif kind == "image":
                alt = self.inline(child) or child.content
                title = child.attrs.get("title")
                parts.append(f"[{alt}]" + (f" ({title})" if title else ""))
            elif kind == "footnote_ref":
                parts.append(f"[{child.meta['id'] + 1}]")
            elif kind == "footnote_anchor" or kind == "html_inline":
                continue
            else:
                parts.append(self.inline(child))
        return "".join(parts)


def body_text(body: Body, resolve: UrlResolver) -> str:
    """The body as plain text, made from the same parsed tokens as the HTML."""
    return _TextRenderer(resolve).render(body.tokens)


def markdown_text(text: str) -> str:
    return _TextRenderer(lambda _kind, url: url).render(markdown.parse(text)).strip()
