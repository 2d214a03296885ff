"""The standard library's HTML parser, for what the quick readers cannot be sure of: Korean
keep-all's scan (typography.py) gives way to `TextHolders` on HTML it does not know, and script
URLs are looked for by `ScriptUrlFinder` only in HTML that may hold one (script_urls.py).

Imported only then: importing html.parser is a few percent of a `postcli build` process.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from postcli.render.script_urls import URL_ATTRIBUTES, dangerous_scheme
from postcli.render.typography import SKIPPED, VOID_ELEMENTS, holds_cjk


class TextHolders(HTMLParser):
    """Finds the start tags (as offsets into the HTML) of elements that hold text directly."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.line_starts = [0]
        for match in re.finditer("\n", html):
            self.line_starts.append(match.end())
        self.stack: list[tuple[str, int, str, bool]] = []  # tag, offset, raw tag, skipped
        self.holders: dict[int, str] = {}  # offset -> raw start tag

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID_ELEMENTS:
            return
        skipped = tag in SKIPPED or bool(self.stack and self.stack[-1][3])
        self.stack.append((tag, self._offset(), self.get_starttag_text() or "", skipped))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        pass  # <div/> holds nothing

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if not self.stack or not holds_cjk(data):
            return
        tag, offset, raw, skipped = self.stack[-1]
        if not skipped and tag != "html" and tag != "body":
            self.holders[offset] = raw


class ScriptUrlFinder(HTMLParser):
    """Start tags with a URL attribute that has a dangerous scheme: (offset, raw tag, attrs)."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self._line_starts = [0]
        for line in source.splitlines(keepends=True):
            self._line_starts.append(self._line_starts[-1] + len(line))
        self.found: list[tuple[int, str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if any(
            name in URL_ATTRIBUTES and value and dangerous_scheme(value) for name, value in attrs
        ):
            line, column = self.getpos()
            raw = self.get_starttag_text() or ""
            self.found.append((self._line_starts[line - 1] + column, raw, attrs))

    handle_startendtag = handle_starttag
