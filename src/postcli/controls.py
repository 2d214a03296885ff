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

_CONTROL_RE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufdd0-\ufdef\ufffe\uffff"
    "\U0001fffe\U0001ffff\U0002fffe\U0002ffff\U0003fffe\U0003ffff\U0004fffe\U0004ffff"
    "\U0005fffe\U0005ffff\U0006fffe\U0006ffff\U0007fffe\U0007ffff\U0008fffe\U0008ffff"
    "\U0009fffe\U0009ffff\U000afffe\U000affff\U000bfffe\U000bffff\U000cfffe\U000cffff"
    "\U000dfffe\U000dffff\U000efffe\U000effff\U000ffffe\U000fffff\U0010fffe\U0010ffff]"
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


def first_control(text: str) -> Control | None:
    """The first refused character in `text`, with its line; None when there is none."""
    match = _CONTROL_RE.search(text)
    if match is None:
        return None
    return Control(match.start(), text.count("\n", 0, match.start()) + 1, match.group())
