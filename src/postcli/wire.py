"""What a text part becomes on the wire, as pure functions of strings: the per-recipient
unsubscribe link put into the HTML, and the transfer encoding (quoted-printable or base64).

`postcli.mime` builds messages with these; `postcli.check` measures Gmail's clipping size with
the same ones, so the size checked is the size sent. Imports nothing of postcli.
"""

from __future__ import annotations

import binascii
import html
from urllib.parse import quote

PLACEHOLDER = "{email}"


def unsubscribe_link(unsubscribe_template: str | None, recipient: str) -> str | None:
    """The recipient's own unsubscribe URL: `{email}` in the template replaced by the address,
    URL-quoted (so `+` and `&` survive a query string). None without a template."""
    if not unsubscribe_template:
        return None
    return unsubscribe_template.replace(PLACEHOLDER, quote(recipient.strip(), safe="@"))


def html_forms(url: str) -> list[str]:
    """The ways an HTML template may have escaped `url` in an attribute: Jinja2/MarkupSafe's
    (`&#39;`, `&#34;`), the stdlib's (`&#x27;`, `&quot;`), and as written."""
    jinja = (
        url.replace("&", "&amp;")
        .replace(">", "&gt;")
        .replace("<", "&lt;")
        .replace("'", "&#39;")
        .replace('"', "&#34;")
    )
    forms = [jinja, html.escape(url, quote=True), html.escape(url, quote=False), url]
    return list(dict.fromkeys(forms))  # unique, in order


def replace_url(body_html: str, url: str, replacement: str) -> str:
    """`body_html` with `url`, in every escaped form, replaced by `replacement` (HTML-escaped)."""
    escaped = html.escape(replacement, quote=True)
    for form in html_forms(url):
        if form in body_html:
            body_html = body_html.replace(form, escaped)
    return body_html


def transfer_encode(text: str) -> tuple[bytes, str]:
    """`text` as UTF-8, quoted-printable or base64, whichever is shorter (as the email package
    chooses), by binascii; LF line ends. Returns (encoded, Content-Transfer-Encoding)."""
    data = text.encode("utf-8")
    # quoted-printable writes a non-ASCII byte or "=" in 3 characters, and breaks lines at 76;
    # base64 writes 4 characters for every 3 bytes. UTF-8 makes len(data) - len(text) about
    # two thirds of the non-ASCII bytes.
    base64_length = len(data) * 4 // 3 * 77 // 76
    escaped = (len(data) - len(text)) * 3 // 2
    quoted_length = len(data) + 2 * escaped + 3 * len(data) // 76
    if quoted_length <= base64_length:  # then count "=" too, which is rarer
        quoted_length += 2 * data.count(b"=")
    if quoted_length <= base64_length:
        return binascii.b2a_qp(data, istext=True), "quoted-printable"
    return _base64_lines(data), "base64"


def encoded_length(text: str) -> int:
    """Bytes of `text` as the body of its part on the wire: transfer-encoded, CRLF line ends."""
    encoded, _ = transfer_encode(text)
    return len(encoded) + encoded.count(b"\n")


def _base64_lines(data: bytes) -> bytes:
    """base64 in lines of 76 (RFC 2045), in one C call plus slicing."""
    flat = binascii.b2a_base64(data, newline=False)
    return b"\n".join([flat[i : i + 76] for i in range(0, len(flat), 76)]) + b"\n"
