"""Which host names mean this machine: the preview refuses to share drafts beyond them, and the
SMTP provider allows a plain-text login only to them."""

from __future__ import annotations

LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def is_loopback_host(host: str) -> bool:
    """True for a name of this machine; an IPv6 literal may come in brackets ("[::1]")."""
    return host.strip().lower().removeprefix("[").removesuffix("]") in LOOPBACK_HOSTS
