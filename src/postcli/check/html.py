"""HTML read with the standard library's parser: the <a> and <img> tags of a document, and its
text with the tags taken out."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass(frozen=True)
class Tag:
    name: str
    attrs: dict[str, str | None]


class HtmlTags(HTMLParser):
    """The <a> and <img> tags of an HTML document, attribute values unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[Tag] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "img"):
            self.tags.append(Tag(tag, dict(attrs)))

    handle_startendtag = handle_starttag

    @classmethod
    def of(cls, html: str) -> list[Tag]:
        parser = cls()
        parser.feed(html)
        parser.close()
        return parser.tags


_TAG_RE = re.compile(r"<!--.*?-->|<[^>]*>", re.S)
HEAD_RE = re.compile(r"<(style|script|title|head)\b.*?</\1\s*>", re.S | re.I)


def strip_tags(html: str) -> str:
    return html_lib.unescape(_TAG_RE.sub(" ", html))


def normalise(text: str) -> str:
    return " ".join(text.split())
