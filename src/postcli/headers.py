"""Header fields that carry the newsletter's own words (Subject, the display names of From,
Reply-To and To), written so that every reader decodes exactly what was written.

RFC 2047 says a reader drops the whitespace between two adjacent encoded-words. The email
package's folder (through Python 3.13; CPython gh-144156) can fold a mixed Korean/English
subject so that a space of the text ends up *between* two encoded-words, where readers drop it:
"'중국 AI'의 탐험" arrived as "'중국AI'의 탐험". Here every such header is written one of two
ways, both lossless:

- plain ASCII text, no "=?" in it, every word fitting a line: folded only at whitespace, which
  unfolding (RFC 5322: remove the CRLF) restores exactly;
- anything else: the whole text as UTF-8 encoded-words (the email package's own
  `Charset.header_encode_lines`, which splits only between characters), one per line; the text's
  spaces are all *inside* the encoded-words, and the folding whitespace between them is the one
  that RFC 2047 says to drop.

The classes plug into the message policy's header registry (see mime.py), so a header object
made from a value still prints and compares as that value; only its folding is this module's.
"""

from __future__ import annotations

import re
from email.charset import Charset
from email.headerregistry import Address, AddressHeader, UnstructuredHeader
from email.policy import Policy
from typing import Any

_UTF8 = Charset("utf-8")
_WORD_RE = re.compile(r"[ \t]*[^ \t]+|[ \t]+$")
_ATEXT_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+")
ENCODED_WORD_MARK = "=?"
MAX_ENCODED_WORD = 75  # RFC 2047 section 2


def _max_length(policy: Policy) -> int:
    return policy.max_line_length or 78


def needs_encoding(text: str, room: int) -> bool:
    """Whether `text` must go as encoded-words: non-ASCII, anything a reader could take for an
    encoded-word, a control character, or a word too long to fold."""
    if not text.isascii() or ENCODED_WORD_MARK in text:
        return True
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        return True
    return any(len(word) > room for word in text.split())


def encoded_words(text: str, first_room: int, room: int) -> list[str]:
    """`text` as UTF-8 encoded-words: the first fitting in `first_room` characters, the
    others in `room` each."""

    def lengths() -> Any:
        yield min(first_room, MAX_ENCODED_WORD)
        while True:
            yield min(room, MAX_ENCODED_WORD)

    return [word for word in _UTF8.header_encode_lines(text, lengths()) if word]


def fold_text(name: str, text: str, policy: Policy) -> str:
    """`Name: text` folded losslessly (see the module docstring), with the policy's line end."""
    maxlen = _max_length(policy)
    lead = f"{name}: "
    linesep = policy.linesep
    if not text:
        return f"{name}:{linesep}"
    if not needs_encoding(text, maxlen - 2):
        lines = [lead]
        for match in _WORD_RE.finditer(text):
            piece = match.group(0)
            if len(lines[-1]) + len(piece) > maxlen and lines[-1].strip() and lines[-1] != lead:
                # Fold before the whitespace: the continuation line starts with it, and
                # unfolding (removing the CRLF alone) gives the text back as written.
                lines.append(piece if piece[:1] in " \t" else " " + piece)
            else:
                lines[-1] += piece
        return linesep.join(lines) + linesep
    words = encoded_words(text, maxlen - len(lead), maxlen - 1)
    return lead + f"{linesep} ".join(words) + linesep


def display_name_words(display_name: str) -> list[str]:
    """The display name as the words of an RFC 5322 phrase: atoms, one quoted-string, or
    one encoded-word, whichever keeps it exact.

    One encoded-word, however long: readers disagree on the whitespace between two of them in
    a phrase (RFC 2047 drops it; the email package keeps a space), so a name split in two would
    read differently in different clients. A name longer than about 15 Hangul syllables then
    makes an encoded-word over RFC 2047's 75 characters, which readers accept; the line stays
    far below RFC 5322's 998.
    """
    plain = not needs_encoding(display_name, 998) and "\t" not in display_name
    if plain and _is_atoms(display_name):
        return display_name.split(" ")
    if plain:
        escaped = display_name.replace("\\", "\\\\").replace('"', '\\"')
        return [f'"{escaped}"']
    return [_UTF8.header_encode(display_name)]


def _is_atoms(text: str) -> bool:
    """Atoms separated by single spaces: a phrase that needs no quoting and loses nothing."""
    return all(_ATEXT_RE.fullmatch(part) for part in text.split(" "))


def fold_addresses(name: str, addresses: tuple[Address, ...], policy: Policy) -> str:
    """`Name: a, b` with each display name written by `display_name_words`, folded between
    words only."""
    maxlen = _max_length(policy)
    linesep = policy.linesep
    lines = [f"{name}:"]
    for index, address in enumerate(addresses):
        pieces = []
        if address.display_name:
            pieces += display_name_words(address.display_name)
            pieces.append(f"<{address.addr_spec}>")
        else:
            pieces.append(address.addr_spec)
        if index < len(addresses) - 1:
            pieces[-1] += ","
        for piece in pieces:
            if len(lines[-1]) + 1 + len(piece) > maxlen and lines[-1].strip() != f"{name}:":
                lines.append(" " + piece)
            else:
                lines[-1] += " " + piece
    return linesep.join(lines) + linesep


class TextHeader(UnstructuredHeader):
    """Subject and other free-text headers, folded by `fold_text`."""

    def fold(self, *, policy: Policy) -> str:
        return fold_text(self.name, str(self), policy)  # type: ignore[attr-defined]


class ExactAddressHeader(AddressHeader):
    """From, Reply-To, To: display names written by `display_name_words`."""

    def fold(self, *, policy: Policy) -> str:
        if not all(address.addr_spec.isascii() for address in self.addresses):
            # An address that is not ASCII itself (an internationalised local part) is no
            # display-name matter: the email package writes it as it always has.
            return str(super().fold(policy=policy))  # type: ignore[misc]  # BaseHeader has it
        return fold_addresses(self.name, self.addresses, policy)  # type: ignore[attr-defined]


TEXT_HEADERS = ("subject",)
ADDRESS_HEADERS = ("from", "reply-to", "to")


def literal(text: str) -> str:
    """A value for the header factory that parses back to exactly `text`.

    The factory reads "=?...?=" in a value as an encoded-word and decodes it, which would turn
    a subject about RFC 2047 itself into something else; such a text is handed over encoded.
    """
    if ENCODED_WORD_MARK not in text:
        return text
    return " ".join(encoded_words(text, 75, 75))
