"""Gmail's clipping line, measured on what is delivered, not on what was rendered.

Gmail hides everything past 102,000 bytes of a message's HTML behind "View entire message",
the unsubscribe link included. What it counts is the HTML part as it arrives: each subscriber's
own copy (their unsubscribe URL put in, so the longest address makes the largest copy), with
CRLF line ends, after the transfer encoding (quoted-printable or base64) that postcli's MIME
chooses. `delivered_html_bytes` measures that worst copy:

- `{email}` in newsletter.unsubscribe_url (file, smtp) is replaced by the longest address in
  the configured subscribers file, URL-quoted as `postcli.mime` does; without a readable
  subscribers file, by an address of the longest length SMTP allows (254 characters);
- an HTTP provider's merge tag is replaced by `PROVIDER_URL_CHARS` characters, room for the
  longest unsubscribe URL a provider puts there.

The substitution and the encoding are `postcli.wire`'s, which `postcli.mime` sends with. Pure
but for reading the subscribers file named in the settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from postcli import wire
from postcli.config import Settings
from postcli.registry import unsubscribe_tags

if TYPE_CHECKING:
    from postcli.render import RenderedEmail

LONGEST_ADDRESS = "x" * 64 + "@" + "y" * 185 + ".com"  # 254 characters, RFC 5321's limit
PROVIDER_URL_CHARS = 512


def delivered_html_bytes(
    email: RenderedEmail, settings: Settings, unsubscribe_url: str | None
) -> int:
    """Bytes of the largest HTML part any subscriber gets of `email`, as sent."""
    html = email.html
    if unsubscribe_url is not None and unsubscribe_url in set(unsubscribe_tags().values()):
        html = wire.replace_url(html, unsubscribe_url, "x" * PROVIDER_URL_CHARS)
    else:
        template = settings.newsletter.unsubscribe_url
        if template and wire.PLACEHOLDER in template:
            own = wire.unsubscribe_link(template, _longest_recipient(settings))
            assert own is not None
            html = wire.replace_url(html, template, own)
    return wire.encoded_length(html)


def _longest_recipient(settings: Settings) -> str:
    """The address whose unsubscribe URL is longest, from the provider's subscribers file."""
    from urllib.parse import quote

    value = settings.provider_settings().get("subscribers")
    if isinstance(value, str) and value.strip():
        path = Path(value).expanduser()
        path = path if path.is_absolute() else settings.root / path
        try:
            from postcli.subscribers import read_subscribers

            rows = read_subscribers(path)  # a stream: the list is never in memory whole
        except Exception:  # a broken file is reported by send; measure the worst case here
            return LONGEST_ADDRESS
        try:
            if len(rows):
                return max((row.email for row in rows), key=lambda a: len(quote(a, safe="@")))
        finally:
            rows.close()
    return LONGEST_ADDRESS
