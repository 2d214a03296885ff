"""The issue parsed once for the rules: every link, image and run of text with its file line,
and which variants carry each body line."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from postcli import markdown
from postcli.check.html import HtmlTags, strip_tags
from postcli.issues import Issue, Variant
from postcli.markdown import Token


@dataclass
class Item:
    """Something in the body a rule looks at: a link, an image, a run of text."""

    kind: str  # "text" | "link" | "image" | "code"
    value: str  # the text, the URL, the image's src
    line: int  # file line
    alt: str = ""
    raw: bool = False  # written as HTML: sent exactly as written, never resolved


@dataclass
class Document:
    """The issue parsed once for the rules, with each body line's variants known."""

    issue: Issue
    checked: tuple[Variant, ...]
    premium_only: list[tuple[int, int]] = field(default_factory=list)  # body line ranges
    free_only: list[tuple[int, int]] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)  # the whole body, all references kept
    code_lines: set[int] = field(default_factory=set)  # body lines inside code blocks
    # The whole body parsed with every reference (what `items` were collected from).
    tokens: list[Token] = field(default_factory=list)

    def __post_init__(self) -> None:
        issue = self.issue
        for block in issue.blocks:
            span = issue.tokens[block.start].map or [0, 0]
            target = self.premium_only if block.kind is Variant.PREMIUM else self.free_only
            target.append((span[0], span[1]))
        if issue.paywall is not None:
            span = issue.tokens[issue.paywall].map or [0, 0]
            self.premium_only.append((span[0], 1 << 30))
        for token in issue.tokens:
            if token.type in ("fence", "code_block") and token.map:
                self.code_lines.update(range(token.map[0], token.map[1]))
        self.items = list(self._collect(issue.env))

    def body_index(self, line: int) -> int:
        return line - self.issue.body_line

    def is_premium_only(self, line: int) -> bool:
        index = self.body_index(line)
        return any(start <= index < end for start, end in self.premium_only)

    def variants_of(self, line: int) -> set[Variant]:
        """The checked variants that carry this file line."""
        index = self.body_index(line)
        if index < 0:  # front matter: every variant
            return set(self.checked)
        out = set(self.checked)
        if any(start <= index < end for start, end in self.premium_only):
            out.discard(Variant.FREE)
        if any(start <= index < end for start, end in self.free_only):
            out.discard(Variant.PREMIUM)
        return out

    def variant_of(self, line: int) -> tuple[bool, Variant | None]:
        """(sent at all, the variant to name or None for every variant checked)."""
        variants = self.variants_of(line)
        if not variants:
            return False, None
        if len(variants) == len(self.checked) and len(variants) > 1:
            return True, None
        return True, next(iter(sorted(variants)))

    def parse(self, env: dict[str, Any]) -> list[Token]:
        """The whole body with its inline content parsed (nothing cut), given references."""
        tokens = [_shallow_copy(t) for t in self.issue.tokens]
        return markdown.parse_inline(self.issue.source, tokens, env)

    def _collect(self, env: dict[str, Any]) -> Iterable[Item]:
        lines = self.issue.source.split("\n")
        self.tokens = self.parse(copy_env(env))
        for token in self.tokens:
            if not token.map:
                continue
            line = self.issue.line_of(token)
            if token.type in ("fence", "code_block"):
                for offset, text in enumerate(token.content.split("\n")):
                    first = line + 1 if token.type == "fence" else line  # after the ``` line
                    yield Item("code", text, first + offset)
            elif token.type == "html_block":
                yield Item("text", strip_tags(token.content), line)
                yield from html_inline_items(token.content, line)
            elif token.type == "inline":
                yield from inline_items(token, line, lines, self.issue.body_line)


def _shallow_copy(t: Token) -> Token:
    """`t.copy(children=None)`, field by field: the same shallow copy, six times faster than
    dataclasses.replace (a site build copies every token of every issue)."""
    return Token(
        t.type,
        t.tag,
        t.nesting,
        t.attrs,
        t.map,
        t.level,
        None,
        t.content,
        t.markup,
        t.info,
        t.meta,
        t.block,
        t.hidden,
    )


def copy_env(env: dict[str, Any]) -> dict[str, Any]:
    return {
        "references": dict(env.get("references", {})),
        "duplicate_refs": list(env.get("duplicate_refs", [])),
        "footnotes": {"refs": dict(env.get("footnotes", {}).get("refs", {}))},
    }


def inline_items(token: Token, line: int, lines: list[str], body_line: int) -> Iterable[Item]:
    """Text runs (split where formatting starts or ends), links and images of one inline."""
    span = token.map or [line - body_line, line - body_line + 1]

    def exact_line(needle: str) -> int:
        # An inline may span lines; name the one that holds the thing, when it can be told.
        for index in range(span[0], min(span[1], len(lines))):
            if needle and needle in lines[index]:
                return body_line + index
        return line

    run: list[str] = []

    def flush() -> Iterable[Item]:
        text = "".join(run)
        run.clear()
        if text.strip():
            yield Item("text", text, exact_line(text.split("\n")[0].strip()[:40]))

    for child in token.children or []:
        if child.type == "text":
            run.append(child.content)
            continue
        if child.type in ("softbreak", "hardbreak"):
            run.append("\n")
            continue
        yield from flush()
        if child.type == "code_inline":
            yield Item("code", child.content, exact_line(child.content))
        elif child.type == "link_open":
            href = str(child.attrGet("href") or "")
            yield Item("link", href, exact_line(href))
        elif child.type == "image":
            src = str(child.attrGet("src") or "")
            alt = child.content or "".join(c.content for c in child.children or [])
            yield Item("image", src, exact_line(src), alt=alt)
            if alt.strip():
                yield Item("text", alt, exact_line(src))
            title = child.attrGet("title")
            if title:
                yield Item("text", str(title), exact_line(src))
        elif child.type == "html_inline":
            yield from html_inline_items(child.content, exact_line(child.content))
    yield from flush()


def html_inline_items(content: str, line: int) -> Iterable[Item]:
    for tag in HtmlTags.of(content):
        where = line + tag.line - 1
        if tag.name == "a" and tag.attrs.get("href") is not None:
            yield Item("link", tag.attrs["href"] or "", where, raw=True)
        elif tag.name == "img":
            alt = tag.attrs.get("alt") or ""
            yield Item("image", tag.attrs.get("src") or "", where, alt=alt, raw=True)
