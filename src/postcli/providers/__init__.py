"""Constructing providers: name -> provider class -> provider, checked on the way.

Which providers exist and what they declare is `postcli.registry`'s (it imports no provider);
this module loads the class, checks that it has the methods its kind needs (see
`postcli.providers.base`), checks `[providers.NAME]` against the class's settings schema
(every bad key at once), and constructs it. A plug-in joins under the entry-point group
`postcli.providers`, as the built-ins do (see docs/providers/writing-a-provider.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from postcli.config import key_line
from postcli.errors import ConfigError
from postcli.providers.base import CAMPAIGN_METHODS, RECIPIENT_METHODS, Features, Provider
from postcli.registry import (
    GROUP,
    load_target,
    names,
    register,
    registered,
    secret_variables,
    targets,
    unregister,
    unsubscribe_tags,
)

if TYPE_CHECKING:
    from postcli.config import Settings

__all__ = [
    "GROUP",
    "create",
    "names",
    "provider_class",
    "register",
    "secret_variables",
    "unregister",
    "unsubscribe_tags",
]


def _conforms(name: str, target: str, cls: object, *, checked: bool = True) -> type[Provider]:
    """`cls` if it is a provider class with the methods its kind needs; ConfigError if not.
    A class registered in-process is trusted as it is (`checked=False`)."""
    if not checked and isinstance(cls, type):
        trusted: type[Provider] = cls
        return trusted
    features = getattr(cls, "features", None)
    if not isinstance(cls, type) or not isinstance(features, Features):
        raise ConfigError(
            f"provider '{name}' ({target}) is not a provider class: it declares no features",
            hint="see docs/providers/writing-a-provider.md",
        )
    needed = RECIPIENT_METHODS if features.per_recipient else CAMPAIGN_METHODS
    missing = [method for method in needed if not callable(getattr(cls, method, None))]
    if missing:
        kind = "per-recipient" if features.per_recipient else "campaign"
        raise ConfigError(
            f"provider '{name}' ({target}) is a {kind} provider without {', '.join(missing)}",
            hint="see docs/providers/writing-a-provider.md",
        )
    provider: type[Provider] = cls
    return provider


def provider_class(name: str, settings: Settings | None = None) -> type[Provider]:
    """The class registered as `name`; ConfigError naming [provider] name when unknown."""
    cls = registered(name)
    if cls is not None:
        return _conforms(name, f"{cls.__module__}:{cls.__qualname__}", cls, checked=False)
    target = targets().get(name)
    if target is None:
        path = settings.path if settings else None
        line = None
        if path is not None and path.is_file():
            line = key_line(path.read_text(encoding="utf-8"), "provider", "name")
        raise ConfigError(
            f"unknown provider '{name}'",
            path=path,
            line=line,
            hint=f"known providers: {', '.join(names())}; others install as plug-ins",
        )
    try:
        loaded = load_target(target)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"provider '{name}' cannot be loaded ({target}): {exc}",
            hint="reinstall the package that provides it",
        ) from exc
    return _conforms(name, target, loaded)


def create(settings: Settings, name: str | None = None, *, client: object = None) -> Provider:
    """Construct the configured provider (or `name`). HTTP providers get `client`, an
    `httpx.Client` the caller may supply (tests pass one on a mock transport)."""
    chosen = name or settings.provider
    cls = provider_class(chosen, settings)
    schema = getattr(cls, "settings_schema", None)  # a plug-in may check its table itself
    if schema is not None:
        from postcli.providers._settings import check_table

        check_table(settings, chosen, schema)
    return cls(settings, client=client)


if TYPE_CHECKING:  # the built-ins are what their kind's protocol says, checked by mypy
    from postcli.providers.base import CampaignProvider, RecipientProvider, SelfGatedProvider
    from postcli.providers.beehiiv import BeehiivProvider
    from postcli.providers.buttondown import ButtondownProvider
    from postcli.providers.file import FileProvider
    from postcli.providers.ghost import GhostProvider
    from postcli.providers.kit import KitProvider
    from postcli.providers.listmonk import ListmonkProvider
    from postcli.providers.mailchimp import MailchimpProvider
    from postcli.providers.resend import ResendProvider
    from postcli.providers.smtp import SmtpProvider

    _RECIPIENT: tuple[type[RecipientProvider], ...] = (FileProvider, SmtpProvider)
    _CAMPAIGN: tuple[type[CampaignProvider], ...] = (
        ButtondownProvider,
        ResendProvider,
        MailchimpProvider,
        ListmonkProvider,
        KitProvider,
    )
    _SELF_GATED: tuple[type[SelfGatedProvider], ...] = (GhostProvider, BeehiivProvider)
