"""The provider registry: provider name -> provider class, and what each declares about itself.

Providers join under the entry-point group `postcli.providers`, built-ins exactly as a third-party
package would (see pyproject.toml and docs/providers/writing-a-provider.md):

    [project.entry-points."postcli.providers"]
    myesp = "postcli_myesp:MyEspProvider"

`register()` adds one in-process (tests, embedding). The built-ins are also listed here, so a
source tree that was never installed still finds them. Importing this module imports no provider;
`info()` and `secret_variables()` load the classes they are asked about (once per process), so
redaction and `check` know a plug-in's secrets and merge tag as well as a built-in's.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from postcli.config import key_line
from postcli.errors import ConfigError, PostcliError
from postcli.providers.base import (
    CAMPAIGN_METHODS,
    RECIPIENT_METHODS,
    Features,
    Provider,
    ProviderInfo,
    SettingsSchema,
)

if TYPE_CHECKING:
    from postcli.config import Settings

GROUP = "postcli.providers"

log = logging.getLogger("postcli.providers")

# Fallback for an uninstalled source tree; entry points win when both exist.
_BUILTINS = {
    "file": "postcli.providers.file:FileProvider",
    "smtp": "postcli.providers.smtp:SmtpProvider",
    "buttondown": "postcli.providers.buttondown:ButtondownProvider",
    "resend": "postcli.providers.resend:ResendProvider",
    "mailchimp": "postcli.providers.mailchimp:MailchimpProvider",
    "listmonk": "postcli.providers.listmonk:ListmonkProvider",
}
_registered: dict[str, type[Provider]] = {}


def register(name: str, cls: type[Provider]) -> None:
    """Make `cls` the provider called `name` in this process."""
    _registered[name] = cls
    _loaded.cache_clear()


def unregister(name: str) -> None:
    _registered.pop(name, None)
    _loaded.cache_clear()


def _targets() -> dict[str, str]:
    found = dict(_BUILTINS)
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep.value
    return found


def names() -> list[str]:
    """Every provider name known here, sorted."""
    return sorted({*_targets(), *_registered})


def _conforms(name: str, target: str, cls: object) -> type[Provider]:
    """`cls` if it is a provider class with the methods its kind needs; ConfigError if not."""
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


@cache
def _loaded(name: str, target: str) -> type[Provider]:
    module_name, _, attr = target.partition(":")
    try:
        cls: object = getattr(import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"provider '{name}' cannot be loaded ({target}): {exc}",
            hint="reinstall the package that provides it",
        ) from exc
    return _conforms(name, target, cls)


def provider_class(name: str, settings: Settings | None = None) -> type[Provider]:
    """The class registered as `name`; ConfigError naming [provider] name when unknown."""
    if name in _registered:
        return _registered[name]
    target = _targets().get(name)
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
    return _loaded(name, target)


def _info_of(name: str, cls: type[Provider]) -> ProviderInfo:
    # A plug-in may leave out what it has none of: no secrets, no merge tag, no schema.
    secrets: tuple[str, ...] = tuple(getattr(cls, "secret_variables", ()))
    tag: str | None = getattr(cls, "unsubscribe_tag", None)
    schema: SettingsSchema | None = getattr(cls, "settings_schema", None)
    return ProviderInfo(name, secrets, tag, schema)


def info(name: str) -> ProviderInfo:
    """What the provider called `name` declares about itself (loading its class)."""
    return _info_of(name, provider_class(name))


def infos() -> list[ProviderInfo]:
    """What every provider that loads declares; one that does not load is left out (and says
    why once, in the log): redaction must not fail because a plug-in is broken."""
    found: list[ProviderInfo] = []
    for name in names():
        try:
            found.append(info(name))
        except PostcliError as error:
            log.debug("provider %s: %s", name, error)
    return found


def secret_variables() -> tuple[str, ...]:
    """The environment variables holding any known provider's secrets."""
    return tuple(dict.fromkeys(v for i in infos() for v in i.secret_variables))


def unsubscribe_tags() -> dict[str, str]:
    """Provider name -> its unsubscribe merge tag, for every provider that has one."""
    return {i.name: i.unsubscribe_tag for i in infos() if i.unsubscribe_tag}


def create(settings: Settings, name: str | None = None, *, client: object = None) -> Provider:
    """Construct the configured provider (or `name`). HTTP providers get `client`, an
    `httpx.Client` the caller may supply (tests pass one on a mock transport)."""
    chosen = name or settings.provider
    cls = provider_class(chosen, settings)
    schema = _info_of(chosen, cls).settings_schema
    if schema is not None:
        from postcli.providers._settings import check_table

        check_table(settings, chosen, schema)
    return cls(settings, client=client)


if TYPE_CHECKING:  # the built-ins are what their kind's protocol says, checked by mypy
    from postcli.providers.base import CampaignProvider, RecipientProvider
    from postcli.providers.buttondown import ButtondownProvider
    from postcli.providers.file import FileProvider
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
    )
