"""HTML string -> every HTML and CSS feature it uses, each with where it sits.

Pure: parses with the standard library's html.parser and tinycss2 (a CSS Syntax Level 3
tokenizer and parser), never with regular expressions over markup, and reads nothing else. It
does not know caniemail; report.py matches what is found here against the data.

Each Use says what it is (`kind` and `name`, in the vocabulary of the data file's `match`) and
where it sits (`Where`): the line in the HTML, the kind of place (a style attribute, a `<style>`
block, an element), whether only Outlook's Word engine reads it (`<!--[if mso]>`), or never
reads it (`<!--[if !mso]><!-->`), whether it is inside an `@media` rule (progressive: a client
that ignores the rule keeps the styles outside it), and whether the element sits in one of the
"ghost tables" MJML writes for Outlook inside conditionals (then Outlook lays out the table and
ignores the element's own widths).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import tinycss2
from tinycss2 import ast

# Pseudo-elements that CSS 2 spelled with one colon, which browsers still accept.
_LEGACY_PSEUDO_ELEMENTS = {"before", "after", "first-line", "first-letter"}
_CONDITION_RE = re.compile(r"^\[if\s+([^\]]*)\]>(.*)<!\[endif\]$", re.S | re.I)


@dataclass(frozen=True)
class Where:
    line: int  # 1-based line in the HTML
    place: str  # "style attribute on <td>", "<style> block", "<img> element"...
    outlook: str | None = None  # "only": inside <!--[if mso]>; "never": inside <!--[if !mso]>
    media: bool = False  # inside an @media rule or a <style media="...">
    ghost_table: bool = False  # the element is wrapped in an MSO ghost table
    hidden_by: tuple[str, ...] = ()  # the element's ways of hiding itself: "display:none"...

    def seen_by(self, reads_mso: bool) -> bool:
        if self.outlook == "only":
            return reads_mso
        if self.outlook == "never":
            return not reads_mso
        return True


@dataclass(frozen=True)
class Use:
    kind: str  # property, function, keyword, unit, at-rule, media-feature, pseudo-class,
    #            pseudo-element, selector, css, element, attribute, html, image
    name: str  # lower case: "display", "px", "media", "hover", "td", "comment"
    where: Where
    values: tuple[str, ...] = ()  # a property's keywords ("flex"); an element's attributes
    attrs: tuple[tuple[str, str], ...] = ()  # an element's attributes, for element[attr=v]


def analyze(html: str) -> list[Use]:
    """Every feature the HTML uses, in document order."""
    parser = _Parser(line_offset=0, outlook=None)
    parser.feed(html)
    parser.close()
    return parser.uses


# --- CSS --------------------------------------------------------------------------------------


def css_uses(css: str, where: Where, *, inline: bool = False) -> list[Use]:
    """The features of a style sheet (or, with inline=True, of a style attribute's value)."""
    out: list[Use] = []
    if inline:
        _declarations(tinycss2.parse_blocks_contents(css), where, out)
        return out
    _rules(tinycss2.parse_stylesheet(css, skip_comments=False, skip_whitespace=True), where, out)
    return out


def _rules(nodes: Iterable[Any], where: Where, out: list[Use]) -> None:
    for node in nodes:
        if isinstance(node, ast.Comment):
            out.append(Use("css", "comment", where))
        elif isinstance(node, ast.QualifiedRule):
            _selectors(node.prelude, where, out)
            _declarations(tinycss2.parse_blocks_contents(node.content), where, out)
        elif isinstance(node, ast.AtRule):
            name = node.lower_at_keyword
            out.append(Use("at-rule", name, where))
            inner = where
            if name == "media":
                inner = replace(where, media=True)
                for feature in _media_features(node.prelude):
                    out.append(Use("media-feature", feature, where))
            if node.content is not None:
                if name in ("media", "supports", "document", "layer", "container"):
                    _rules(
                        tinycss2.parse_rule_list(node.content, skip_comments=False),
                        inner,
                        out,
                    )
                else:  # @font-face, @page: declarations
                    _declarations(tinycss2.parse_blocks_contents(node.content), inner, out)


def _media_features(prelude: Sequence[Any]) -> Iterator[str]:
    """`screen and (max-width: 480px)` -> "max-width"; `(prefers-color-scheme: dark)` -> ..."""
    for token in prelude:
        if isinstance(token, ast.ParenthesesBlock):
            idents = [t for t in token.content if not isinstance(t, ast.WhitespaceToken)]
            if idents and isinstance(idents[0], ast.IdentToken):
                yield idents[0].lower_value
            else:  # ((a) or (b)), not (...)
                yield from _media_features(token.content)


def _declarations(nodes: Iterable[Any], where: Where, out: list[Use]) -> None:
    for node in nodes:
        if isinstance(node, ast.Comment):
            out.append(Use("css", "comment", where))
        elif isinstance(node, ast.Declaration):
            name = node.lower_name
            if name.startswith("--"):
                out.append(Use("css", "custom-property", where))
            else:
                keywords = tuple(t.lower_value for t in node.value if isinstance(t, ast.IdentToken))
                out.append(Use("property", name, where, values=keywords))
            if node.important:
                out.append(Use("css", "important", where))
            _values(node.value, where, out)
        elif isinstance(node, ast.QualifiedRule | ast.AtRule):
            out.append(Use("css", "nesting", where))
            _rules([node], where, out)


def _values(tokens: Iterable[Any], where: Where, out: list[Use]) -> None:
    for token in tokens:
        if isinstance(token, ast.FunctionBlock):
            out.append(Use("function", token.lower_name, where))
            _values(token.arguments, where, out)
        elif isinstance(token, ast.DimensionToken):
            out.append(Use("unit", token.lower_unit, where))
        elif isinstance(token, ast.PercentageToken):
            out.append(Use("unit", "%", where))
        elif isinstance(token, ast.IdentToken):
            out.append(Use("keyword", token.lower_value, where))
        elif isinstance(token, ast.Comment):
            out.append(Use("css", "comment", where))
        elif isinstance(token, ast.ParenthesesBlock | ast.SquareBracketsBlock):
            _values(token.content, where, out)


def _selectors(prelude: Sequence[Any], where: Where, out: list[Use]) -> None:
    """Selector kinds, combinators and pseudo-classes of one rule's selector list."""
    groups: list[list[Any]] = [[]]
    for token in prelude:
        if isinstance(token, ast.LiteralToken) and token.value == ",":
            groups.append([])
        elif not isinstance(token, ast.Comment):
            groups[-1].append(token)
    if len(groups) > 1:
        out.append(Use("selector", "grouping", where))
    for group in groups:
        _selector(group, where, out)


def _selector(tokens: list[Any], where: Where, out: list[Use]) -> None:
    kinds: set[str] = set()
    compound = 0  # class, id and attribute selectors in the current compound selector
    pending_space = False
    started = False
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if isinstance(token, ast.WhitespaceToken):
            pending_space = started
            continue
        if isinstance(token, ast.LiteralToken) and token.value in (">", "+", "~"):
            kinds.add({">": "child", "+": "adjacent-sibling", "~": "general-sibling"}[token.value])
            pending_space, compound = False, 0
            continue
        if pending_space:
            kinds.add("descendant")
            pending_space, compound = False, 0
        started = True
        if isinstance(token, ast.IdentToken):
            kinds.add("type")
        elif isinstance(token, ast.LiteralToken) and token.value == "*":
            kinds.add("universal")
        elif isinstance(token, ast.HashToken):
            kinds.add("id")
            compound += 1
        elif isinstance(token, ast.SquareBracketsBlock):
            kinds.add("attribute")
            compound += 1
        elif isinstance(token, ast.LiteralToken) and token.value == ".":
            kinds.add("class")
            compound += 1
            index += 1  # the class name
        elif isinstance(token, ast.LiteralToken) and token.value == ":":
            double = (
                index < len(tokens)
                and isinstance(tokens[index], ast.LiteralToken)
                and tokens[index].value == ":"
            )
            if double:
                index += 1
            name_token = tokens[index] if index < len(tokens) else None
            index += 1
            if isinstance(name_token, ast.FunctionBlock):
                name = name_token.lower_name
                _selector(list(name_token.arguments), where, out)  # :not(.a > b)
            elif isinstance(name_token, ast.IdentToken):
                name = name_token.lower_value
            else:
                continue
            if double or name in _LEGACY_PSEUDO_ELEMENTS:
                out.append(Use("pseudo-element", name, where))
            else:
                out.append(Use("pseudo-class", name, where))
        if compound == 2:
            kinds.add("chaining")
    for kind in sorted(kinds):
        out.append(Use("selector", kind, where))


_TINY = 1.0  # px: text this small is unreadable, a way to hide it
_NOWHERE = Where(0, "")


@lru_cache(maxsize=4096)
def _inline_uses(style: str) -> tuple[Use, ...]:
    """A style attribute's uses, placed nowhere yet; MJML repeats the same attributes a lot."""
    return tuple(css_uses(style, _NOWHERE, inline=True))


@lru_cache(maxsize=4096)
def hiding(style: str) -> tuple[str, ...]:
    """The ways a style attribute hides its element (a preheader uses several, so that a
    client that ignores one still applies another): "display:none", "max-height:0"..."""
    found = []
    for node in tinycss2.parse_blocks_contents(style):
        if not isinstance(node, ast.Declaration):
            continue
        name = node.lower_name
        tokens = [t for t in node.value if not isinstance(t, ast.WhitespaceToken | ast.Comment)]
        if len(tokens) != 1:
            continue
        token = tokens[0]
        word = token.lower_value if isinstance(token, ast.IdentToken) else None
        number = (
            token.value
            if isinstance(token, ast.NumberToken | ast.DimensionToken | ast.PercentageToken)
            else None
        )
        if (name, word) in (
            ("display", "none"),
            ("overflow", "hidden"),
            ("visibility", "hidden"),
            ("mso-hide", "all"),
        ):
            found.append(f"{name}:{word}")
        elif name in ("max-height", "max-width", "opacity") and number == 0:
            found.append(f"{name}:0")
        elif name in ("font-size", "line-height") and number is not None and number <= _TINY:
            found.append(f"{name}:tiny")
    return tuple(found)


# --- HTML -------------------------------------------------------------------------------------


def _image_format(src: str) -> str | None:
    src = src.strip()
    if src.lower().startswith("data:"):
        return "data"
    path = urlsplit(src).path
    if "." in path.rsplit("/", 1)[-1]:
        return path.rsplit(".", 1)[-1].lower()
    return None


class _Parser(HTMLParser):
    """Collects Uses from markup; conditional comments are parsed again, recursively."""

    def __init__(self, *, line_offset: int, outlook: str | None) -> None:
        super().__init__(convert_charrefs=True)
        self.uses: list[Use] = []
        self.line_offset = line_offset
        self.outlook = outlook  # the conditional context this parser runs in
        self.not_mso = False  # between <!--[if !mso]><!--> and <!--<![endif]-->
        self.ghost_pending = False  # an MSO ghost table opened right before the next tag
        self.style: tuple[Where, str] | None = None  # an open <style>: where, media attribute
        self.style_text: list[str] = []

    def where(self, place: str, **extra: Any) -> Where:
        outlook = self.outlook or ("never" if self.not_mso else None)
        return Where(self.getpos()[0] + self.line_offset, place, outlook, **extra)

    def add(self, kind: str, name: str, where: Where, **extra: Any) -> None:
        self.uses.append(Use(kind, name, where, **extra))

    def handle_decl(self, decl: str) -> None:
        if decl.lower().startswith("doctype"):
            self.add("html", "doctype", self.where("the doctype"))

    def handle_comment(self, data: str) -> None:
        stripped = data.strip()
        condition = _CONDITION_RE.match(stripped)
        if condition:
            negated = condition.group(1).strip().startswith("!")
            inner = _Parser(
                line_offset=self.getpos()[0] + self.line_offset - 1,
                outlook=self.outlook or ("never" if negated else "only"),
            )
            body = condition.group(2)
            inner.feed(body)
            inner.close()
            self.uses += inner.uses
            lowered = body.lower()
            if not negated and ("<table" in lowered or "<td" in lowered):
                self.ghost_pending = True
            elif not negated and ("</td" in lowered or "</table" in lowered):
                self.ghost_pending = False
            return
        if re.match(r"^\[if\s+!", stripped, re.I):  # <!--[if !mso]><!-->
            self.not_mso = True
            return
        if stripped.lower().startswith("<![endif]"):  # <!--<![endif]-->
            self.not_mso = False
            return
        self.add("html", "comment", self.where("an HTML comment"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)
        if tag == "style":
            self.handle_endtag(tag)

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        ghost, self.ghost_pending = self.ghost_pending, False
        pairs = tuple((name.lower(), value or "") for name, value in attrs)
        where = self.where(f"<{tag}> element", ghost_table=ghost)
        self.add("element", tag, where, attrs=pairs)
        for name, value in pairs:
            self.add("attribute", name, where)
            if name == "style" and value.strip():
                place = replace(where, place=f"style attribute on <{tag}>", hidden_by=hiding(value))
                self.uses += [
                    Use(use.kind, use.name, place, use.values) for use in _inline_uses(value)
                ]
            if tag == "img" and name == "src":
                image = _image_format(value)
                if image:
                    self.add("image", image, where)
        if tag == "style":
            media = dict(pairs).get("media", "").strip().lower()
            in_media = media not in ("", "all")
            self.style = (replace(where, place="<style> block", media=in_media), media)
            self.style_text = []

    def handle_data(self, data: str) -> None:
        if self.style is not None:
            self.style_text.append(data)
        elif data.strip():
            self.ghost_pending = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "style" and self.style is not None:
            where, _ = self.style
            self.style = None
            self.uses += css_uses("".join(self.style_text), where)
