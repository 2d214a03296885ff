"""Which providers exist, and what each declares about itself, without importing any of them.

Providers join under the entry-point group `postcli.providers`, built-ins exactly as a third-party
package would (see pyproject.toml and docs/providers/writing-a-provider.md); `register()` adds one
in-process (tests, embedding). What the rest of postcli needs to know of a provider it does not
send through, redaction (`secret_variables`) and `check`'s unsubscribe-link detection
(`unsubscribe_tags`), is read here: for the built-ins from the table below, which their classes
take their attributes from, so importing this module (from `config`, `check` or the preview)
imports no provider and no httpx; for a plug-in from its class, loaded through its entry point.
Constructing providers is `postcli.providers`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import import_module
from importlib.metadata import EntryPoint, entry_points

__all__ = [
    "GROUP",
    "ProviderInfo",
    "builtin",
    "info",
    "load_target",
    "names",
    "register",
    "registered",
    "secret_variables",
    "targets",
    "unregister",
    "unsubscribe_tags",
]

GROUP = "postcli.providers"

log = logging.getLogger("postcli.providers")


@dataclass(frozen=True)
class ProviderInfo:
    """What a provider declares about itself: the environment variables holding its secrets
    (redacted from every output), and its unsubscribe merge tag (None: it puts
    newsletter.unsubscribe_url in each message)."""

    name: str
    target: str  # "module:Class"
    secret_variables: tuple[str, ...] = ()
    unsubscribe_tag: str | None = None
    title: str = ""  # the provider as people write it, in messages: "Amazon SES"


def _builtin(
    title: str, cls: str, secrets: tuple[str, ...] = (), tag: str | None = None
) -> ProviderInfo:
    name = cls.removesuffix("Provider").lower()
    return ProviderInfo(name, f"postcli.providers.{name}:{cls}", secrets, tag, title)


# The built-ins; also the fallback for an uninstalled source tree (entry points win).
_BUILTINS = {
    info.name: info
    for info in (
        _builtin("file", "FileProvider"),
        _builtin("SMTP", "SmtpProvider", ("POSTCLI_SMTP_PASSWORD",)),
        _builtin(
            "Buttondown", "ButtondownProvider", ("BUTTONDOWN_API_KEY",), "{{ unsubscribe_url }}"
        ),
        _builtin("Resend", "ResendProvider", ("RESEND_API_KEY",), "{{{RESEND_UNSUBSCRIBE_URL}}}"),
        _builtin("Mailchimp", "MailchimpProvider", ("MAILCHIMP_API_KEY",), "*|UNSUB|*"),
        _builtin(
            "listmonk",
            "ListmonkProvider",
            ("LISTMONK_API_USER", "LISTMONK_API_TOKEN"),
            "{{ UnsubscribeURL }}",
        ),
        # The bulk senders put newsletter.unsubscribe_url in each message. SES reads the standard
        # AWS chain; these are its variables (a profile's keys are redacted by the provider).
        _builtin(
            "Amazon SES",
            "SesProvider",
            ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"),
        ),
        _builtin("Postmark", "PostmarkProvider", ("POSTMARK_SERVER_TOKEN",)),
        _builtin("Mailgun", "MailgunProvider", ("MAILGUN_API_KEY",)),
        _builtin("SendGrid", "SendgridProvider", ("SENDGRID_API_KEY",), "{{{unsubscribe}}}"),
        _builtin("Kit", "KitProvider", ("KIT_API_KEY",), "{{ unsubscribe_url }}"),
        # Ghost and beehiiv add their own footer with the reader's link; their tags only stand
        # in the emails postcli renders for its checks, which those platforms never receive.
        _builtin("Ghost", "GhostProvider", ("GHOST_ADMIN_API_KEY",), "%%{unsubscribe_url}%%"),
        _builtin("beehiiv", "BeehiivProvider", ("BEEHIIV_API_KEY",), "{{unsubscribe_url}}"),
    )
}
_registered: dict[str, type] = {}


def builtin(name: str) -> ProviderInfo:
    """A built-in provider's declaration (its class reads its attributes from it)."""
    return _BUILTINS[name]


def register(name: str, cls: type) -> None:
    """Make `cls` the provider called `name` in this process."""
    _registered[name] = cls
    load_target.cache_clear()


def unregister(name: str) -> None:
    _registered.pop(name, None)
    load_target.cache_clear()


def registered(name: str) -> type | None:
    return _registered.get(name)


@cache
def _installed(scan: Callable[..., Iterable[EntryPoint]]) -> tuple[tuple[str, str], ...]:
    # Reading the installed packages' metadata is slow (milliseconds a scan) and `check` asks
    # for every link, so one scan a process; keyed on the scanner, which tests replace.
    return tuple((ep.name, ep.value) for ep in scan(group=GROUP))


def targets() -> dict[str, str]:
    """Provider name -> "module:Class", built-ins and entry points."""
    found = {name: info.target for name, info in _BUILTINS.items()}
    found.update(_installed(entry_points))
    return found


def names() -> list[str]:
    """Every provider name known here, sorted."""
    return sorted({*targets(), *_registered})


@cache
def load_target(target: str) -> object:
    """The object an entry point names (ImportError or AttributeError when it cannot)."""
    module_name, _, attr = target.partition(":")
    loaded: object = getattr(import_module(module_name), attr)
    return loaded


def _declared(name: str, target: str, cls: object) -> ProviderInfo:
    # A plug-in may leave out what it has none of: no secrets, no merge tag.
    secrets = tuple(str(v) for v in getattr(cls, "secret_variables", ()) or ())
    tag = getattr(cls, "unsubscribe_tag", None)
    return ProviderInfo(name, target, secrets, tag if isinstance(tag, str) else None)


def info(name: str) -> ProviderInfo | None:
    """What the provider called `name` declares; None when it is unknown or does not load."""
    cls = _registered.get(name)
    if cls is not None:
        return _declared(name, f"{cls.__module__}:{cls.__qualname__}", cls)
    target = targets().get(name)
    if target is None:
        return None
    known = _BUILTINS.get(name)
    if known is not None and known.target == target:
        return known
    try:
        return _declared(name, target, load_target(target))
    except (ImportError, AttributeError) as exc:
        log.debug("provider %s (%s) does not load: %s", name, target, exc)
        return None


def _infos() -> list[ProviderInfo]:
    return [found for name in names() if (found := info(name)) is not None]


def secret_variables() -> tuple[str, ...]:
    """The environment variables holding any known provider's secrets."""
    return tuple(dict.fromkeys(v for i in _infos() for v in i.secret_variables))


def unsubscribe_tags() -> dict[str, str]:
    """Provider name -> its unsubscribe merge tag, for every provider that has one."""
    return {i.name: i.unsubscribe_tag for i in _infos() if i.unsubscribe_tag}
