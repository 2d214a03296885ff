"""What a paywall marker or a `:::` line looks like, including the lines that only look like one.

An editor shows `<!-- pay­wall -->` (with a soft hyphen) or `​:::` (after a zero-width space)
exactly like the real thing, yet Markdown reads them as an ordinary comment or paragraph and the
premium text after them goes to free readers. `disguised_marker` finds such lines: it folds
invisible characters away, other spaces to a space and look-alike punctuation to ASCII, and
reports a line that becomes a marker only after folding.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

PAYWALL_RE = re.compile(r"^<!--\s*(paywall|members-only)\s*-->$", re.IGNORECASE)
PAYWALL_ANYWHERE_RE = re.compile(r"<!--\s*(paywall|members-only)\s*-->", re.IGNORECASE)
FENCE_RE = re.compile(r"^\s{0,3}(:{3,})\s*(\S*)")
# A line that would look like a marker to a reader once its spaces are taken out: the paywall,
# or any line beginning with three colons. Only lines with non-ASCII characters are judged by it
# (disguised_marker): an odd space inside a word reads as a typo, not as a reason to send the
# premium text below it to free readers.
MARKER_LIKE_RE = re.compile(
    r"^(>|[-+*]|\d{1,9}[.)])*(<!--(paywall|members-only)-->|:::.*)$", re.IGNORECASE
)
# Quote and list markers a marker line may stand behind, as its author sees it.
_BEHIND = r"^(?:\s*(?:>|[-+*](?=\s)|\d{1,9}[.)](?=\s)))*\s*"
# A line that opens a block, or is the paywall: what free code must never hold.
OPENER_LIKE_RE = re.compile(
    _BEHIND + r"(:{3,}\s*(premium|free)\b.*|<!--\s*(paywall|members-only)\s*-->)\s*$",
    re.IGNORECASE,
)
# Any marker or block line: what code that runs on unclosed, or raw HTML, must never hold.
ANY_STRUCTURE_RE = re.compile(
    _BEHIND + r"(:{3,}\s*(premium|free)?\s*|<!--\s*(paywall|members-only)\s*-->)$",
    re.IGNORECASE,
)

# Punctuation that reads as the marker's own, beyond what NFKC folds (fullwidth forms).
_LOOKALIKES = {
    **dict.fromkeys("\u2236\ua789\u02f8\u0589\u05c3\u16ec\u205a\u2e2c\ufe13\ufe55\uff1a", ":"),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2e3a\ufe58\ufe63\uff0d", "-"),
    **dict.fromkeys("\u2039\u2329\u3008\ufe64\uff1c", "<"),
    **dict.fromkeys("\u203a\u232a\u3009\ufe65\uff1e", ">"),
    **dict.fromkeys("\u01c3\uff01", "!"),
}
# Characters an editor does not show: format characters (zero-width spaces and joiners, word
# joiner, BOM, soft hyphen, bidi marks) and the fillers and joiners of other categories.
_EXTRA_INVISIBLE = "\u034f\u115f\u1160\u3164\uffa0\u180e"


@cache
def _is_invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf" or char in _EXTRA_INVISIBLE


def _fold_char(char: str) -> str:
    if char.isascii():
        return char
    if _is_invisible(char):
        return ""
    if char in _LOOKALIKES:
        return _LOOKALIKES[char]
    if unicodedata.category(char) == "Zs" or char.isspace():
        return " "
    return unicodedata.normalize("NFKC", char)


def fold(line: str) -> str:
    """The line as it looks: invisible characters gone, spaces and look-alikes made ASCII."""
    if line.isascii():
        return line
    return "".join(_fold_char(char) for char in line)


def odd_characters(line: str) -> list[str]:
    """The characters of `line` that fold away or into something else, named for a message."""
    odd = [char for char in line if not char.isascii() and _fold_char(char) != char]
    return [
        f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed character')}" for c in dict.fromkeys(odd)
    ]


def is_blank_looking(line: str) -> bool:
    """Empty to the eye but not to Markdown: a line of invisible characters and odd spaces."""
    if line.isascii() or line.strip(" \t") == "":
        return False
    return all(char.isspace() or _is_invisible(char) for char in line)


_PREFIX_CHARS = frozenset(" \t>-+*0123456789.)")


def _could_be_marker(line: str) -> bool:
    """Cheap first look: the first character that is no space, invisible or list/quote marker
    must read as '<' or ':'. Lines of prose (most of an issue) stop at their first letter."""
    for char in line:
        if char in _PREFIX_CHARS:
            continue
        folded = _fold_char(char)
        if folded in ("", " ") or folded in _PREFIX_CHARS:
            continue
        return folded.startswith(("<", ":"))
    return False


def disguised_marker(line: str) -> bool:
    """True for a line that is a marker only once its invisible and look-alike characters are
    folded: the reader sees a marker, Markdown does not."""
    if line.isascii() or not _could_be_marker(line):
        return False
    folded = fold(line)
    return folded != line and bool(MARKER_LIKE_RE.match("".join(folded.split())))
