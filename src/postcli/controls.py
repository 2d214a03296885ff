"""Control characters: which ones postcli refuses in what it is given, and where they are.

A form feed, an ESC or a non-character like U+FFFE in a title or body is invisible in most
editors, breaks the MJML compiler (which then seemed to blame postcli's own template) and has
no meaning in an email. Tab and line breaks are text; every other C0 control (NUL included),
DEL, the C1 controls and the Unicode non-characters are refused, at their own line.

This module knows nothing of files; callers turn a finding into their own error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# The refused characters as one class the regular expression engine scans quickly: those below
# U+10000, and every character from U+1FFFE up, of which only the non-characters (U+nFFFE and
# U+nFFFF) are refused; the others found (rare ideographs of plane 2 and up) are passed over one
# by one. Naming the 32 astral non-characters in the class instead makes the scan of a Korean
# issue about seven times slower.
_CANDIDATE_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff\U0001fffe-\U0010ffff]"
)

_NAMES = {0x00: "NUL", 0x08: "backspace", 0x0B: "vertical tab", 0x0C: "form feed", 0x1B: "ESC"}


@dataclass(frozen=True)
class Control:
    offset: int  # in the text searched
    line: int  # 1-based, counting "\n" from the start of the text
    char: str

    @property
    def name(self) -> str:
        code = ord(self.char)
        name = _NAMES.get(code) or unicodedata.name(self.char, "")
        if not name:
            name = "a non-character" if code >= 0xFDD0 else "a control character"
        return f"U+{code:04X} ({name})"

    @property
    def message(self) -> str:
        return f"invisible control character {self.name}"


HINT = "delete it; your editor may show it as a box, ^L or ^[, or not at all"


def _refused(char: str) -> bool:
    code = ord(char)
    return code <= 0xFFFF or code & 0xFFFE == 0xFFFE


def first_control(text: str) -> Control | None:
    """The first refused character in `text`, with its line; None when there is none."""
    match = _CANDIDATE_RE.search(text)
    while match is not None and not _refused(match.group()):
        match = _CANDIDATE_RE.search(text, match.end())
    if match is None:
        return None
    return Control(match.start(), text.count("\n", 0, match.start()) + 1, match.group())
