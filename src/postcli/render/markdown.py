"""Parsed issue + variant -> the body as an HTML fragment and as plain text.

The variant filter lives here and is the only place premium-only content is removed: it cuts the
*block* token stream (below the paywall, `::: premium` blocks for free readers, `::: free`
blocks for premium readers) and drops link-reference and footnote definitions that were cut,
before any inline content is parsed. The free variant's text, links, alt text and footnotes are
therefore parsed from what it keeps and nothing else.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from markdown_it.rules_core import block as block_rule
from markdown_it.rules_core import normalize as normalize_rule
from markdown_it.rules_core.state_core import StateCore
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

from postcli.issues import Issue, Variant, markdown

# (kind, url) -> url to send: kind is "img" or "a"; the caller knows assets_url and the site.
UrlResolver = Callable[[str, str], str]


@dataclass(frozen=True)
class Body:
    """One variant's body, parsed from the blocks that variant keeps."""

    variant: Variant
    tokens: list[Token]
    env: dict[str, Any]
    cut: bool  # premium-only content was removed: the upgrade block belongs here


def _dropped_ranges(issue: Issue, variant: Variant) -> list[tuple[int, int]]:
    """Body line ranges [start, end) the variant does not get."""
    drop = Variant.PREMIUM if variant is Variant.FREE else Variant.FREE
    ranges = []
    for block in issue.blocks:
        if block.kind is drop:
            span = issue.tokens[block.start].map
            assert span is not None
            ranges.append((span[0], span[1]))
    if variant is Variant.FREE and issue.paywall is not None:
        span = issue.tokens[issue.paywall].map
        assert span is not None
        ranges.append((span[0], 1 << 30))
    return ranges


def variant_block_tokens(issue: Issue, variant: Variant) -> list[Token]:
    """The block tokens this variant keeps (copies, inline content not parsed)."""
    drop = Variant.PREMIUM if variant is Variant.FREE else Variant.FREE
    skip: dict[int, int] = {}  # start index -> index after the skipped run
    for block in issue.blocks:
        if block.kind is drop:
            skip[block.start] = block.end + 1
        else:  # keep the content, lose the fences
            skip[block.start] = block.start + 1
            skip[block.end] = block.end + 1
    stop = len(issue.tokens)
    if issue.paywall is not None:
        skip[issue.paywall] = issue.paywall + 1
        if variant is Variant.FREE:
            stop = issue.paywall
    kept: list[Token] = []
    index = 0
    while index < stop:
        if index in skip:
            index = skip[index]
            continue
        token = issue.tokens[index]
        # Inline tokens get their children from the variant's own inline parse: copy them.
        kept.append(token.copy(children=None) if token.type == "inline" else token)
        index += 1
    return kept


def _variant_env(issue: Issue, variant: Variant, kept: Sequence[Token]) -> dict[str, Any]:
    """Reference and footnote definitions the variant keeps; the first kept one wins."""
    ranges = _dropped_ranges(issue, variant)

    def kept_line(line: int) -> bool:
        return not any(start <= line < end for start, end in ranges)

    references: dict[str, Any] = {}
    definitions = list(issue.env.get("references", {}).items()) + [
        (dup["label"], dup) for dup in issue.env.get("duplicate_refs", [])
    ]
    for label, ref in sorted(definitions, key=lambda item: item[1]["map"][0]):
        if label not in references and kept_line(ref["map"][0]):
            references[label] = {k: ref[k] for k in ("title", "href", "map")}
    footnote_labels = {
        ":" + t.meta["label"] for t in kept if t.type == "footnote_reference_open" and t.meta
    }
    return {"references": references, "footnotes": {"refs": dict.fromkeys(footnote_labels, -1)}}


def parse_variant(issue: Issue, variant: Variant) -> Body:
    """Cut the block stream for `variant`, then run the inline parse on what is left."""
    md = markdown()
    kept = variant_block_tokens(issue, variant)
    env = _variant_env(issue, variant, kept)
    state = StateCore(issue.source, md, env)
    state.tokens = kept
    for rule in md.core.ruler.getRules(""):
        if rule not in (normalize_rule, block_rule):
            rule(state)
    from postcli import limits

    limits.check_token_depth(state.tokens, issue.line_of, issue.path)
    cut = variant is Variant.FREE and issue.has_premium_only
    return Body(variant=variant, tokens=state.tokens, env=env, cut=cut)


# --- HTML -------------------------------------------------------------------------------------

_FIGURE_IMAGE_WIDTH = 552  # the 600 px column less its padding


def _is_figure(tokens: Sequence[Token], index: int) -> bool:
    """A paragraph holding one image (maybe inside a link) and nothing else is a figure."""
    if index + 1 >= len(tokens) or tokens[index + 1].type != "inline":
        return False
    children = [c for c in tokens[index + 1].children or [] if c.type != "softbreak"]
    kinds = [c.type for c in children if not (c.type == "text" and not c.content.strip())]
    return kinds in (["image"], ["link_open", "image", "link_close"])


def _figure_image(children: Sequence[Token]) -> Token:
    return next(c for c in children if c.type == "image")


def prepare_html_tokens(tokens: list[Token], resolve: UrlResolver) -> list[Token]:
    """Resolve URLs for sending and mark figures; the tokens are this variant's own copies."""
    out: list[Token] = []
    for index, token in enumerate(tokens):
        if token.type == "paragraph_open" and _is_figure(tokens, index):
            token = token.copy(meta={**(token.meta or {}), "figure": True})
            image = _figure_image(tokens[index + 1].children or [])
            image.attrSet("width", str(_FIGURE_IMAGE_WIDTH))
            image.attrSet("class", "figure-img")
        elif token.type == "paragraph_close" and out and _closes_figure(out):
            token = token.copy(meta={**(token.meta or {}), "figure": True})
        for child in token.children or []:
            if child.type == "image":
                src = child.attrGet("src")
                if isinstance(src, str):
                    child.attrSet("src", resolve("img", src))
            elif child.type == "link_open":
                href = child.attrGet("href")
                if isinstance(href, str):
                    child.attrSet("href", resolve("a", href))
        out.append(token)
    return out


def _closes_figure(previous: list[Token]) -> bool:
    for token in reversed(previous):
        if token.type == "paragraph_open":
            return bool(token.meta and token.meta.get("figure"))
    return False


def _install_html_rules() -> None:
    md = markdown()
    if getattr(md, "_postcli_rules", False):
        return
    from markdown_it.common.utils import escapeHtml as escape

    def paragraph_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        if tokens[idx].meta.get("figure"):
            return '<div class="figure">'
        return str(self.renderToken(tokens, idx, options, env))

    def paragraph_close(
        self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
    ) -> str:
        if tokens[idx].meta.get("figure"):
            # The caption is the image's title: "Image credit: ..." and the like.
            for back in range(idx - 1, -1, -1):
                if tokens[back].type == "inline":
                    image = _figure_image(tokens[back].children or [])
                    title = image.attrGet("title")
                    caption = f'<p class="caption">{escape(str(title))}</p>' if title else ""
                    return f"{caption}</div>\n"
            return "</div>\n"
        return str(self.renderToken(tokens, idx, options, env))

    def image(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        alt = self.renderInlineAsText(token.children or [], options, env)
        attrs = {k: v for k, v in token.attrs.items() if k not in ("alt", "title")}
        rendered = " ".join(f'{k}="{escape(str(v))}"' for k, v in attrs.items())
        return f'<img {rendered} alt="{escape(alt)}" />'

    def table_open(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return '<div class="table-wrap">' + self.renderToken(tokens, idx, options, env)

    def table_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return self.renderToken(tokens, idx, options, env) + "</div>\n"

    md.add_render_rule("paragraph_open", paragraph_open)
    md.add_render_rule("paragraph_close", paragraph_close)
    md.add_render_rule("image", image)
    md.add_render_rule("table_open", table_open)
    md.add_render_rule("table_close", table_close)
    md._postcli_rules = True  # type: ignore[attr-defined]


def body_html(body: Body, resolve: UrlResolver) -> str:
    """The body as an HTML fragment (content CSS not inlined yet)."""
    _install_html_rules()
    md = markdown()
    tokens = prepare_html_tokens(body.tokens, resolve)
    return str(md.renderer.render(tokens, md.options, copy.copy(body.env)))


# --- Plain text -------------------------------------------------------------------------------


def display_width(text: str) -> int:
    """Columns the text takes in a monospaced font: Hangul and CJK take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - display_width(text))


class _TextRenderer:
    """Renders a parsed body as readable plain text: the text/plain part of the email."""

    def __init__(self, resolve: UrlResolver) -> None:
        self.resolve = resolve

    def render(self, tokens: list[Token]) -> str:
        root = SyntaxTreeNode(tokens)
        text = "\n\n".join(self.blocks(root.children))
        return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"

    def blocks(self, nodes: Sequence[SyntaxTreeNode], tight: bool = False) -> list[str]:
        out = [self.block(node) for node in nodes]
        out = [b for b in out if b.strip()]
        return ["\n".join(out)] if tight and out else out

    def block(self, node: SyntaxTreeNode) -> str:
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

    def list(self, node: SyntaxTreeNode) -> str:
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

    def table(self, node: SyntaxTreeNode) -> str:
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

    def inline(self, node: SyntaxTreeNode) -> str:
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


def markdown_html(text: str) -> str:
    """A small piece of trusted Markdown (the upgrade pitch) as HTML."""
    return str(markdown().render(text))


def markdown_text(text: str) -> str:
    md = markdown()
    return _TextRenderer(lambda _kind, url: url).render(md.parse(text)).strip()
