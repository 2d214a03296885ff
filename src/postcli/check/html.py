"""HTML read with the standard library's parser: the <a> and <img> tags of a document, and its
text with the tags taken out; `read` runs any such parser over a document."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import TypeVar

P = TypeVar("P", bound=HTMLParser)


def read(parser: P, html: str) -> P:
    """`parser` after it has read the whole of `html`."""
    parser.feed(html)
    parser.close()
    return parser


@dataclass(frozen=True)
class Tag:
    name: str
    attrs: dict[str, str | None]
    line: int = 1  # line of the document the tag starts on, 1-based


class HtmlTags(HTMLParser):
    """The <a> and <img> tags of an HTML document, attribute values unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[Tag] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "img"):
            self.tags.append(Tag(tag, dict(attrs), self.getpos()[0]))

    handle_startendtag = handle_starttag

    @classmethod
    def of(cls, html: str) -> list[Tag]:
        return read(cls(), html).tags


class _Text(HTMLParser):
    """The text of an HTML document: character data with references decoded, a space for
    every tag, comments and declarations left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.parts.append(" ")

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self.parts.append(" ")


HEAD_RE = re.compile(r"<(style|script|title|head)\b.*?</\1\s*>", re.S | re.I)


def strip_tags(html: str) -> str:
    """The document's text, as a reader with tags hidden would read it."""
    return "".join(read(_Text(), html).parts)


def normalise(text: str) -> str:
    return " ".join(text.split())
