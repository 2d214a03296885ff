"""Secrets: read from the environment only, added at run time, and redacted from every output.
Part of `postcli.config`."""

from __future__ import annotations

import os
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from postcli.redact import Redactor


def secret(name: str) -> str | None:
    """A secret from the environment (and `.env`); never from postcli.toml."""
    value = os.environ.get(name)
    return value or None


# Secrets made or derived at run time (a signed token, the secret half of a key): redacted like
# the ones read from the environment.
_RUNTIME_SECRETS: set[str] = set()


def add_secret(value: str) -> None:
    """Redact `value` from every output of this process from now on."""
    if value:
        _RUNTIME_SECRETS.add(value)


def secret_values() -> list[str]:
    """Every secret currently set, longest first, for redaction: the variables every known
    provider declares (built-in or plug-in; the registry knows them, this module does not),
    and those made at run time (`add_secret`)."""
    from postcli.registry import secret_variables  # imports no provider

    values = {os.environ[name] for name in secret_variables() if os.environ.get(name)}
    return sorted(values | _RUNTIME_SECRETS, key=len, reverse=True)


def redactor() -> Redactor:
    """The redactor of every secret currently in the environment (docs/security.md)."""
    logins = ((os.environ.get("LISTMONK_API_USER") or "", os.environ.get("LISTMONK_API_TOKEN")),)
    key = (tuple(secret_values()), tuple((u, p) for u, p in logins if p))
    return _redactor_for(key)


@cache
def _redactor_for(key: tuple[tuple[str, ...], tuple[tuple[str, str], ...]]) -> Redactor:
    from postcli.redact import Redactor

    return Redactor.of(key[0], key[1])


def redact(text: str) -> str:
    """`text` with every known secret, in every form it takes on the wire, replaced by '***'."""
    return redactor().redact(text)
