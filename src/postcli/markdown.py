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
    "container_is_closed",
    "escape_html",
    "fence_is_closed",
    "html_block_is_closed",
    "html_renderer",
    "parse",
    "parse_blocks",
    "parse_inline",
    "parser",
]

BLOCK_NAMES = ("premium", "free")
CODE_SPAN_RE = re.compile(r"(`+).+?\1")  # an inline code span, as written

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
        rule_name = f"container_{name}"
        rule = next(r for r in md.block.ruler.__rules__ if r.name == rule_name)
        md.block.ruler.at(rule_name, _recording_closure(rule.fn), {"alt": list(rule.alt)})
    return md


def _recording_closure(rule: Callable[..., bool]) -> Callable[..., bool]:
    """The container rule, noting on its open token whether it found a closing `:::` line
    (`meta["closed"]`): the plugin closes an unclosed block silently at the end of its parent."""

    def container(state: Any, start_line: int, end_line: int, silent: bool) -> bool:
        first = len(state.tokens)
        found = bool(rule(state, start_line, end_line, silent))
        if found and not silent:
            opened = state.tokens[first]
            assert opened.map is not None
            opened.meta["closed"] = state.line == opened.map[1] + 1
        return found

    return container


def fence_is_closed(token: Token) -> bool:
    """Whether markdown-it ended this fenced code block at a closing fence line (rather than at
    the end of the document or of the list item or quote holding it).

    Read from the token itself: with a closing line the token spans its content lines plus the
    opening and the closing line; without, the opening line and its content only."""
    assert token.type == "fence" and token.map is not None
    content = token.content
    lines = content.count("\n") + (1 if content and not content.endswith("\n") else 0)
    return token.map[1] - token.map[0] == lines + 2


def html_block_is_closed(token: Token) -> bool:
    """Whether a raw HTML block of CommonMark types 1-5 (`<script>`, `<pre>`, `<style>`,
    `<textarea>`, a comment, `<?...?>`, `<!X...>`, CDATA) met its end condition, judged with
    markdown-it's own table of sequences. Types 6 and 7 end at a blank line: always closed."""
    from markdown_it.rules_block.html_block import HTML_SEQUENCES

    assert token.type == "html_block"
    lines = token.content.rstrip("\n").split("\n")
    for opening, closing, _ in HTML_SEQUENCES:
        if opening.search(lines[0].lstrip(" ")):
            return closing.pattern == "^$" or bool(closing.search(lines[-1]))
    return True


def container_is_closed(token: Token) -> bool:
    """Whether a `::: premium` / `::: free` open token's block ended at a `:::` line."""
    return bool(token.meta.get("closed"))


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
