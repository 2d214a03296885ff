"""Whether a setting holds one real email address: `Name <local@domain>` or `local@domain`.

postcli.toml's `from` and `reply_to` go into every message's headers and the SMTP envelope; a
value that is no address ("My Newsletter"), holds two, or carries a line break (which would
spill onto a second header line) must be refused when the config loads, not inside a send after
the ledger began. Parsing is the standard library's (email.headerregistry, RFC 5322).
"""

from __future__ import annotations

import re

_BREAKS_RE = re.compile(r"[\r\n\x00\u0085\u2028\u2029]")
# The everyday forms, `you@example.com` and `Name <you@example.com>` (the name in letters and
# digits of any script, `AI 글로벌 브리프 <hello@example.com>`), which the standard library's
# parser accepts as one clean address (tests/test_addresses.py holds the two to agree): told
# without importing email.policy, which would cost every command's start-up.
_PLAIN_ADDRESS = (
    r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"
)
_PLAIN_RE = re.compile(rf"{_PLAIN_ADDRESS}|[^\W_]+(?: [^\W_]+)* <{_PLAIN_ADDRESS}>")
_DOMAIN_RE = re.compile(r"^[^\s@.][^\s@]*\.[^\s@]+$|^localhost$|^\[[0-9A-Fa-f:.]+\]$")


def address_problem(value: str) -> str | None:
    """Why `value` is not one mailbox address (None when it is)."""
    if _BREAKS_RE.search(value):
        return "has a line break in it"
    if _PLAIN_RE.fullmatch(value):
        return None
    return _parsed_problem(value)


def _parsed_problem(value: str) -> str | None:
    """address_problem for any value, by the standard library's RFC 5322 parser."""
    from email import policy

    try:
        header = policy.default.header_factory("Reply-To", value)
        addresses = header.addresses
        defects = header.defects
    # Past HeaderParseError, the parser itself breaks on some odd values (AttributeError on
    # `.:`, TypeError on ` .;`, CPython 3.11): all of it is a value that is no address.
    except Exception:
        return "is not an email address"
    if len(addresses) != 1:
        return "is not one email address" if addresses else "is not an email address"
    address = addresses[0]
    if not address.username or not _DOMAIN_RE.match(address.domain or ""):
        return "is not an email address (write it like 'Name <you@example.com>')"
    if any(
        "missing" in str(defect).lower() or "invalid" in str(defect).lower() for defect in defects
    ):
        return "is not a valid email address"
    return None
