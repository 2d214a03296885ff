"""Parsed issue + variant -> the body's tokens for that variant, and the body as an HTML fragment.

The variant filter lives here and is the only place premium-only content is removed: it cuts the
*block* token stream (below the paywall, `::: premium` blocks for free readers, `::: free`
blocks for premium readers) and drops link-reference and footnote definitions that were cut,
before any inline content is parsed. The free variant's text, links, alt text and footnotes are
therefore parsed from what it keeps and nothing else.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from postcli import markdown
from postcli.issues import Issue
from postcli.markdown import Token
from postcli.model import Variant
from postcli.render.script_urls import neutralise_script_urls

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
    drop = variant.other
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
    drop = variant.other
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
        kept.append(_without_children(token) if token.type == "inline" else token)
        index += 1
    return kept


def _without_children(token: Token) -> Token:
    """token.copy(children=None), without dataclasses.replace's look at the fields on every
    call (a render copies every inline token it keeps)."""
    return Token(
        token.type,
        token.tag,
        token.nesting,
        token.attrs,
        token.map,
        token.level,
        None,
        token.content,
        token.markup,
        token.info,
        token.meta,
        token.block,
        token.hidden,
    )


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
    kept = variant_block_tokens(issue, variant)
    env = _variant_env(issue, variant, kept)
    tokens = markdown.parse_inline(issue.source, kept, env)
    from postcli import guards

    guards.check_token_depth(tokens, issue.line_of, issue.path)
    cut = variant is Variant.FREE and issue.has_premium_only
    return Body(variant=variant, tokens=tokens, env=env, cut=cut)


# --- HTML -------------------------------------------------------------------------------------

_FIGURE_IMAGE_WIDTH = 552  # the 600 px column less its padding


def _is_figure(tokens: Sequence[Token], index: int) -> bool:
    """A paragraph holding one image (maybe inside a link) and nothing else is a figure."""
    if index + 1 >= len(tokens) or tokens[index + 1].type != "inline":
        return False
    if "![" not in tokens[index + 1].content:  # no image syntax: not a figure
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
        elif token.type == "html_block":
            token = token.copy(content=neutralise_script_urls(token.content))
        for child in token.children or []:
            if child.type == "html_inline":
                child.content = neutralise_script_urls(child.content)
            elif child.type == "image":
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


@cache
def _html() -> Callable[[Sequence[Token], dict[str, Any]], str]:
    """The body's HTML renderer: figures, captions and scrollable tables."""
    escape = markdown.escape_html

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
        return '<div class="table-wrap">' + str(self.renderToken(tokens, idx, options, env))

    def table_close(self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any) -> str:
        return str(self.renderToken(tokens, idx, options, env)) + "</div>\n"

    return markdown.html_renderer(
        {
            "paragraph_open": paragraph_open,
            "paragraph_close": paragraph_close,
            "image": image,
            "table_open": table_open,
            "table_close": table_close,
        }
    )


def body_html(body: Body, resolve: UrlResolver) -> str:
    """The body as an HTML fragment (content CSS not inlined yet)."""
    tokens = prepare_html_tokens(body.tokens, resolve)
    return _html()(tokens, copy.copy(body.env))


def markdown_html(text: str) -> str:
    """A small piece of trusted Markdown (the upgrade pitch) as HTML."""
    return _html()(markdown.parse(text), {})
