"""postcli's Markdown dialect and both of its parsing passes; the only markdown-it user.

The dialect is CommonMark plus tables, strikethrough, scheme-only autolinks, footnotes and the
`::: premium` / `::: free` containers. An issue is parsed in two passes on purpose:

1. `parse_blocks` runs only the block stage (paragraphs, headings, lists, code, HTML blocks,
   containers, reference and footnote definitions). `postcli.issues` locates the paywall marker
   and the containers in that token stream.
2. `parse_inline` runs the inline stage (text, emphasis, links, images) on a token list the
   caller chose: the renderer passes only the blocks one variant keeps, with that variant's own
   definitions, so premium-only inline content is never parsed into the free email.

`html_renderer` gives the renderer its own HTML renderer with extra rules; the shared parser is
never changed after it is built. Other modules handle tokens (markdown_it.token.Token and the
SyntaxTreeNode view) but never markdown-it's rules or parser state.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml as escape_html
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import block as block_rule
from markdown_it.rules_core import normalize as normalize_rule
from markdown_it.rules_core.state_core import StateCore
from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

__all__ = [
    "BLOCK_NAMES",
    "BlockParse",
    "RenderRule",
    "SyntaxTreeNode",
    "Token",
    "escape_html",
    "html_renderer",
    "parse",
    "parse_blocks",
    "parse_inline",
    "parser",
]

BLOCK_NAMES = ("premium", "free")

# A render rule as markdown-it calls it: (renderer, tokens, index, options, env) -> HTML.
RenderRule = Callable[[Any, Sequence[Token], int, Any, Any], str]


class _SchemeLinkify:
    """Bare URLs become links only when they carry a scheme (https://, mailto:).

    Fuzzy matching would turn words like "Node.js" into links, and its pre-test regex is the
    costliest step of a render; a scheme check in plain Python is a fraction of that.
    """

    _pretest = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)

    @cached_property
    def _linkify(self) -> Any:
        from linkify_it import LinkifyIt

        return LinkifyIt(options={"fuzzy_link": False, "fuzzy_email": False})

    def pretest(self, text: str) -> bool:
        return ("//" in text or "mailto:" in text) and bool(self._pretest.search(text))

    def test(self, text: str) -> bool:
        # markdown-it pre-tests a whole paragraph, then tests each text run in it; in a
        # paragraph holding one [link](https://...) most runs have no URL at all, and the cheap
        # check spares them the full regex (a third of a long issue's inline parse).
        return self.pretest(text) and bool(self._linkify.test(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._linkify, name)


@cache
def parser() -> MarkdownIt:
    """The one Markdown parser: CommonMark plus tables, strikethrough, autolinks, footnotes."""
    from mdit_py_plugins.container import container_plugin
    from mdit_py_plugins.footnote import footnote_plugin

    md = MarkdownIt("commonmark", {"html": True, "linkify": True, "xhtmlOut": True})
    md.enable(["table", "strikethrough", "linkify"])
    md.linkify = _SchemeLinkify()
    md.use(footnote_plugin)
    for name in BLOCK_NAMES:
        md.use(container_plugin, name)
    return md


@dataclass(frozen=True)
class BlockParse:
    """The block stage's result: block tokens (inline children not parsed yet) and the
    environment it filled (link references, footnote labels)."""

    tokens: list[Token]
    env: dict[str, Any]


def parse_blocks(source: str) -> BlockParse:
    """Pass 1: the block stage alone."""
    env: dict[str, Any] = {}
    state = StateCore(source, parser(), env)
    normalize_rule(state)
    block_rule(state)
    return BlockParse(state.tokens, env)


def parse_inline(source: str, tokens: list[Token], env: dict[str, Any]) -> list[Token]:
    """Pass 2: the inline stage (and the core rules after it) on `tokens`, which the caller
    has chosen from a `parse_blocks` result. Returns the finished token list."""
    md = parser()
    state = StateCore(source, md, env)
    state.tokens = tokens
    for rule in md.core.ruler.getRules(""):
        if rule not in (normalize_rule, block_rule):
            rule(state)
    return state.tokens


def parse(text: str) -> list[Token]:
    """Both passes on a small trusted text (the upgrade pitch)."""
    return parser().parse(text)


def html_renderer(
    rules: Mapping[str, RenderRule],
) -> Callable[[Sequence[Token], dict[str, Any]], str]:
    """A renderer of finished tokens to HTML, with `rules` replacing markdown-it's own for
    those token types. Each call builds a new renderer; the shared parser is left alone."""
    md = parser()
    renderer = RendererHTML(md)
    base = md.renderer
    assert isinstance(base, RendererHTML)
    for name, bound in base.rules.items():  # the plugins' rules (footnotes), rebound
        function = getattr(bound, "__func__", None)
        renderer.rules[name] = function.__get__(renderer) if function is not None else bound
    for name, rule in rules.items():
        renderer.rules[name] = rule.__get__(renderer)

    def render(tokens: Sequence[Token], env: dict[str, Any]) -> str:
        return str(renderer.render(tokens, md.options, env))

    return render
