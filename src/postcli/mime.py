"""RenderedEmail -> an RFC 5322 message, one per recipient, with the stdlib `email` package only.

Owns the shape of every message postcli sends itself (the `smtp` and `file` providers):
multipart/alternative with the plain text first and the HTML last, both UTF-8 and encoded for a
7-bit transport, RFC 2047 headers, the deterministic Message-ID, and the per-recipient
unsubscribe link with `List-Unsubscribe` / `List-Unsubscribe-Post` (RFC 2369, RFC 8058).
Pure: no network, no files, no clock unless no `date` is given.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import Address, HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage, MIMEPart
from email.policy import Policy
from email.utils import getaddresses, parseaddr
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from postcli import headers
from postcli.wire import PLACEHOLDER as PLACEHOLDER
from postcli.wire import html_forms as html_forms
from postcli.wire import replace_url, transfer_encode
from postcli.wire import unsubscribe_link as unsubscribe_link

if TYPE_CHECKING:
    from postcli.render import RenderedEmail


class _TokenListHeader(UnstructuredHeader):
    """A header of `<token>, <token>` (List-Unsubscribe, Message-ID), folded between tokens only.

    The default folding would RFC 2047-encode a long URL, which no mail client could then use,
    or move a Message-ID to a continuation line; a token may exceed 78 characters (RFC 5322
    allows lines of 998).
    """

    def fold(self, *, policy: Policy) -> str:
        tokens = [t.strip() for t in str(self).split(", ")]
        name = self.name  # type: ignore[attr-defined]  # BaseHeader supplies it
        return f"{name}: " + f",{policy.linesep} ".join(tokens) + policy.linesep


class _FoldOnce:
    """A header object is immutable, so its folded form under one policy never changes: worth
    remembering for the headers that every message of a send shares (see _shared_header)."""

    def fold(self, *, policy: Policy) -> str:
        key = (policy.linesep, policy.max_line_length, getattr(policy, "utf8", False))
        remembered: tuple[object, str] | None = self.__dict__.get("_folded")
        if remembered is not None and remembered[0] == key:
            return remembered[1]
        folded: str = super().fold(policy=policy)  # type: ignore[misc]
        self.__dict__["_folded"] = (key, folded)
        return folded


class _Registry(HeaderRegistry):
    """The stdlib registry, remembering the header class it makes for each name (the stock one
    makes a new class on every lookup, several times for every header of every message), and
    giving those classes _FoldOnce."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            stock = super().__getitem__(name)
            made = self._made[key] = type(stock.__name__, (_FoldOnce, stock), {})
        return made


_HEADERS = _Registry()
for _name in ("list-unsubscribe", "message-id"):
    _HEADERS.map_to_type(_name, _TokenListHeader)  # type: ignore[arg-type]
# Subject and the display names: folded so that readers decode exactly what was written.
for _name in headers.TEXT_HEADERS:
    _HEADERS.map_to_type(_name, headers.TextHeader)  # type: ignore[arg-type]
for _name in headers.ADDRESS_HEADERS:
    _HEADERS.map_to_type(_name, headers.ExactAddressHeader)  # type: ignore[arg-type]
# CRLF line ends, headers folded at 78 characters with RFC 2047 encoded words, and 7-bit only:
# the bodies are quoted-printable or base64 (see _text_part), so no server needs 8BITMIME.
POLICY = email_policy.SMTP.clone(cte_type="7bit", header_factory=_HEADERS)

_ID_SAFE_RE = re.compile(r"[^A-Za-z0-9._-]+")


def personalize(
    email: RenderedEmail, unsubscribe_template: str | None, recipient: str
) -> RenderedEmail:
    """`email` with the rendered unsubscribe URL (the template, `{email}` in it) replaced by the
    recipient's own, HTML-escaped in the HTML and as is in the text.

    Without a template, or one without `{email}`, every recipient shares one link and `email`
    comes back unchanged.
    """
    if not unsubscribe_template or PLACEHOLDER not in unsubscribe_template:
        return email
    own = unsubscribe_link(unsubscribe_template, recipient)
    assert own is not None
    body_html = replace_url(email.html, unsubscribe_template, own)
    body_text = email.text.replace(unsubscribe_template, own)
    return dataclasses.replace(email, html=body_html, text=body_text)


def message_id(issue_id: str, variant: str, recipient: str | None, domain: str) -> str:
    """`<issue.variant.digest@domain>`: the same (issue, variant, recipient) always gets the same
    Message-ID, so a message sent twice (after a crash in flight) can be recognised as one."""
    key = "\x00".join((issue_id, str(variant), (recipient or "").strip().lower()))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]
    readable = re.sub(r"-{2,}", "-", _ID_SAFE_RE.sub("-", issue_id)).strip("-.")[:40] or "issue"
    host = _ascii_domain(domain) or "postcli.invalid"
    return f"<{readable}.{variant}.{digest}@{host}>"


def _ascii_domain(domain: str) -> str:
    domain = domain.strip().strip("<>").lower().rstrip(".")
    if "@" in domain:
        domain = domain.rpartition("@")[2]
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            return ""
    return _ID_SAFE_RE.sub("-", domain)


def _one_line(value: str) -> str:
    """Header text on one line: a subject with a newline in it must not end the header. Other
    whitespace stays as written (a subject's double space included)."""
    return " ".join(value.splitlines()).strip()


def _address(value: str, header: str) -> Address:
    """'Name <a@b>' or 'a@b' -> Address; a Korean display name is kept and RFC 2047-encoded."""
    name, addr = parseaddr(_one_line(value))
    if not addr or "@" not in addr:
        raise ValueError(f"{header} '{value}' is not an email address")
    local, _, domain = addr.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def list_id_header(list_id: str) -> str:
    """RFC 2919 List-Id: 'Name <id>' stays; a bare id is put in angle brackets."""
    list_id = _one_line(list_id)
    return list_id if list_id.endswith(">") else f"<{list_id.strip('<>')}>"


def build_message(
    email: RenderedEmail,
    *,
    sender: str,
    to: str,
    reply_to: str | None,
    unsubscribe_url: str | None,
    message_id: str,
    date: datetime | None = None,
    subject_prefix: str = "",
    list_id: str | None = None,
    unsubscribe_mailto: str | None = None,
) -> EmailMessage:
    """One message of `email` for `to`: multipart/alternative (text/plain, then text/html).

    `unsubscribe_url` is the recipient's own link (see `personalize`): it goes into
    `List-Unsubscribe`, with `List-Unsubscribe-Post: List-Unsubscribe=One-Click` when it is
    http(s), as RFC 8058 asks. `unsubscribe_mailto`, an address, adds a `mailto:` alternative.
    Raises ValueError for an address that is none.
    """
    # Headers that every recipient shares are parsed once per send (see _shared_header); the
    # per-recipient ones are made from values, not parsed: a send of 10,000 messages is bound
    # by the network, not by building them.
    message = EmailMessage(policy=POLICY)
    subject = f"{subject_prefix} {email.subject}" if subject_prefix else email.subject
    message["Subject"] = _shared_header("Subject", subject)
    message["From"] = _shared_header("From", sender)
    message["To"] = _address(to, "To")
    if reply_to:
        message["Reply-To"] = _shared_header("Reply-To", reply_to)
    when = date or datetime.now(UTC)
    message["Date"] = when if when.tzinfo else when.replace(tzinfo=UTC)
    message["Message-ID"] = message_id
    targets = []
    if unsubscribe_url:
        targets.append(f"<{unsubscribe_url}>")
    if unsubscribe_mailto:
        mailto = unsubscribe_mailto.removeprefix("mailto:")
        targets.append(f"<mailto:{mailto}?subject=unsubscribe>")
    if targets:
        message["List-Unsubscribe"] = ", ".join(targets)
        if unsubscribe_url and unsubscribe_url.lower().startswith(("https://", "http://")):
            message["List-Unsubscribe-Post"] = _shared_header(
                "List-Unsubscribe-Post", "List-Unsubscribe=One-Click"
            )
    if list_id:
        message["List-Id"] = _shared_header("List-Id", list_id)
    message["MIME-Version"] = _shared_header("MIME-Version", "1.0")
    message["Content-Type"] = _shared_header("Content-Type", _ALTERNATIVE)
    message.set_payload([_text_part("plain", email.text), _text_part("html", email.html)])
    return message


# "=_" can never occur in quoted-printable (which writes "=" as "=3D") nor in base64, so this
# boundary cannot collide with the encoded parts and needs no per-message search.
BOUNDARY = "=_postcli_alternative_2b7e1516"
_ALTERNATIVE = f'multipart/alternative; boundary="{BOUNDARY}"'


@lru_cache(maxsize=64)
def _shared_header(name: str, value: str) -> Any:
    """A parsed header object, built once for a value that every recipient shares."""
    if name in ("From", "Reply-To"):
        return POLICY.header_factory(name, _addresses(value, name))
    if name == "List-Id":
        value = list_id_header(value)
    return POLICY.header_factory(name, headers.literal(_one_line(value)))


def _text_part(subtype: str, text: str) -> MIMEPart:
    """A UTF-8 text part, quoted-printable or base64, whichever is shorter (as the email package
    chooses), encoded by binascii rather than the package's pure-Python encoder."""
    encoded, cte = transfer_encode(text)
    part = MIMEPart(policy=POLICY)
    part["Content-Type"] = _shared_header("Content-Type", f'text/{subtype}; charset="utf-8"')
    part["Content-Transfer-Encoding"] = _shared_header("Content-Transfer-Encoding", cte)
    part.set_payload(encoded.decode("ascii"))
    return part


def _addresses(value: str, header: str) -> list[Address]:
    """'A <a@b>, "Park, J" <c@d>' -> Addresses; ValueError if any is no address."""
    found = []
    for name, addr in getaddresses([_one_line(value)]):
        if not addr or "@" not in addr:
            raise ValueError(f"{header} '{value}' is not an email address")
        local, _, domain = addr.rpartition("@")
        found.append(Address(display_name=name, username=local, domain=domain))
    if not found:
        raise ValueError(f"{header} '{value}' is not an email address")
    return found


@lru_cache(maxsize=64)
def envelope_address(value: str) -> str:
    """The bare address of 'Name <a@b>' (or of 'a@b'), for the SMTP envelope."""
    return parseaddr(_one_line(value))[1]


def as_bytes(message: EmailMessage) -> bytes:
    """The message as it goes on the wire (CRLF line ends, 7-bit).

    A message `build_message` made is joined from its parts directly: the same bytes as the
    email package's generator writes (a test holds the two equal), without the generator's
    line-by-line writes, the costliest step of a large send. Anything else goes the generic way.
    """
    parts = message.get_payload()
    simple = (
        message.policy.linesep == "\r\n"
        and message.get_content_type() == "multipart/alternative"
        and message.get_param("boundary") == BOUNDARY
        and isinstance(parts, list)
        and message.preamble is None
        and message.epilogue is None
        and all(
            isinstance(part, MIMEPart)
            and not part.is_multipart()
            and isinstance(part.get_payload(), str)
            and part.policy.linesep == "\r\n"
            for part in parts
        )
    )
    if not simple:
        return message.as_bytes(policy=message.policy)
    delimiter = f"--{BOUNDARY}\r\n".encode()
    out = [_header_bytes(message), delimiter]
    for number, part in enumerate(parts):
        if number:
            out.append(b"\r\n" + delimiter)
        payload = part.get_payload()
        if "\r" in payload:
            body = _LINE_ENDS_RE.sub("\r\n", payload).encode("ascii")
        else:  # what build_message writes: LF only, so one plain replace does
            body = payload.replace("\n", "\r\n").encode("ascii")
        out.append(_header_bytes(part) + body)
    out.append(f"\r\n--{BOUNDARY}--\r\n".encode())
    return b"".join(out)


# Every line end as the generator reads one (a lone CR too), written as CRLF.
_LINE_ENDS_RE = re.compile(r"\r\n|\r|\n")


def _header_bytes(message: EmailMessage | MIMEPart) -> bytes:
    policy = message.policy
    return b"".join(policy.fold_binary(name, value) for name, value in message.raw_items()) + (
        b"\r\n"
    )
