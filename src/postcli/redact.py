"""Every form a secret takes in text, and taking them all out: the one redaction of postcli.

A secret reaches a message in more shapes than itself. A server echoes what it was sent: the
base64 of AUTH PLAIN's "\\0user\\0password", of AUTH LOGIN's password, of HTTP Basic's
"user:password". A URL carries it percent-encoded, a JSON body escaped, an HTML page
entity-escaped. A `Redactor` is built once from the configured secrets and knows all of these;
`redact` replaces each of them with `***`, and so it does any run of `PREFIX` (8) or more
characters that starts one of them: a secret cut short, by a server or by a limit on a message's
length, is a leak too.

Base64 of a secret inside a longer value depends on where in the value it stands (its offset
modulo 3), so each secret is encoded at all three offsets and the characters that depend only
on the secret are kept as forms: "\\0user\\0password" is caught whatever the user name is.

`cut` redacts first and shortens after. Every place that shortens text that may carry a secret
goes through it, so no cut can leave a secret minus its last characters.

Values shorter than `MIN_SECRET` characters are not redacted: replacing every "abc" in a message
would hide more than it protects.

This module knows nothing of where secrets come from; `postcli.config.redactor` builds the one
for the environment's secrets.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus

MASK = "***"
PREFIX = 8  # a run this long that starts a secret's form is redacted too
MIN_SECRET = 4


def _base64_forms(data: bytes) -> set[str]:
    """The base64 characters that depend only on `data`, at each of the three offsets it can
    stand at inside a longer value; standard and URL-safe alphabets, padded and not."""
    forms: set[str] = set()
    whole = base64.b64encode(data).decode("ascii")
    forms.update({whole, whole.rstrip("=")})
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode("ascii")
        first = -(-8 * offset // 6)  # the first character made only of the data's bits
        end = 8 * (offset + len(data)) // 6  # past the last such character
        core = encoded[first:end]
        if len(core) >= MIN_SECRET:
            forms.add(core)
    forms |= {form.replace("+", "-").replace("/", "_") for form in forms}
    return forms


def wire_forms(secret: str) -> set[str]:
    """`secret` as it can appear in text: itself, percent-encoded, JSON- and HTML-escaped,
    base64 (alone or inside a longer encoded value)."""
    if len(secret) < MIN_SECRET:
        return set()
    forms = {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        html.escape(secret),
        html.escape(secret, quote=False),
    }
    forms |= _base64_forms(secret.encode("utf-8"))
    return {form for form in forms if len(form) >= MIN_SECRET}


def login_forms(user: str, password: str) -> set[str]:
    """What a login puts on the wire as a whole: AUTH PLAIN (with and without an authorization
    identity) and HTTP Basic credentials, base64-encoded."""
    if len(password) < MIN_SECRET:
        return set()
    forms: set[str] = set()
    for joined in (f"\0{user}\0{password}", f"{user}\0{user}\0{password}", f"{user}:{password}"):
        whole = base64.b64encode(joined.encode("utf-8")).decode("ascii")
        forms |= {whole, whole.rstrip("=")}
    forms.add(f"{user}:{password}")
    return forms


@dataclass(frozen=True)
class Redactor:
    """The wire forms of some secrets, longest first; `redact` and `cut` take them out."""

    forms: tuple[str, ...] = field(default=(), repr=False)  # never shown: they are the secrets

    def __repr__(self) -> str:
        return f"<Redactor of {len(self.forms)} forms>"

    @classmethod
    def of(cls, secrets: Iterable[str], logins: Iterable[tuple[str, str]] = ()) -> Redactor:
        """A redactor for `secrets` (API keys, tokens, passwords) and `logins` (user name and
        password pairs, whose combined encodings are computed as well)."""
        forms: set[str] = set()
        for value in secrets:
            if value:
                forms |= wire_forms(value)
        for user, password in logins:
            if password:
                forms |= wire_forms(password) | login_forms(user or "", password)
        return cls(tuple(sorted(forms, key=lambda f: (-len(f), f))))

    def __add__(self, other: Redactor) -> Redactor:
        merged = set(self.forms) | set(other.forms)
        return Redactor(tuple(sorted(merged, key=lambda f: (-len(f), f))))

    def __bool__(self) -> bool:
        return bool(self.forms)

    def redact(self, text: str) -> str:
        """`text` with every form, and every run of PREFIX+ characters starting one, as ***."""
        if not self.forms or not text:
            return text
        spans = sorted(self._spans(text))
        if not spans:
            return text
        out: list[str] = []
        position = 0
        for start, end in spans:
            if end <= position:
                continue
            if start < position:  # overlaps the span just masked: extend that one
                position = end
                continue
            out += [text[position:start], MASK]
            position = end
        out.append(text[position:])
        return "".join(out)

    def cut(self, text: str, limit: int, ellipsis: str = "…") -> str:
        """`text` redacted, then shortened to at most `limit` characters (plus `ellipsis`)."""
        text = self.redact(text)
        if len(text) <= limit:
            return text
        return self.redact(text[:limit]) + ellipsis

    def _spans(self, text: str) -> Iterable[tuple[int, int]]:
        for form in self.forms:
            if len(form) < PREFIX:
                start = text.find(form)
                while start != -1:
                    yield start, start + len(form)
                    start = text.find(form, start + 1)
                continue
            head = form[:PREFIX]
            start = text.find(head)
            while start != -1:
                end = start + PREFIX
                limit = min(len(form), len(text) - start)
                while end - start < limit and text[end] == form[end - start]:
                    end += 1
                yield start, end
                start = text.find(head, start + 1)


NONE = Redactor()
