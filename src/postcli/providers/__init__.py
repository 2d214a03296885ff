"""The provider registry: provider name -> provider class.

Providers join under the entry-point group `postcli.providers`, built-ins exactly as a third-party
package would (see pyproject.toml):

    [project.entry-points."postcli.providers"]
    myesp = "postcli_myesp:MyEspProvider"

`register()` adds one in-process (tests, embedding). The built-ins are also listed here, so a
source tree that was never installed still finds them. Importing this module imports no provider.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from postcli.errors import ConfigError

if TYPE_CHECKING:
    from postcli.config import Settings
    from postcli.providers.base import Provider

GROUP = "postcli.providers"

# Fallback for an uninstalled source tree; entry points win when both exist.
_BUILTINS = {
    "file": "postcli.providers.file:FileProvider",
    "smtp": "postcli.providers.smtp:SmtpProvider",
    "buttondown": "postcli.providers.buttondown:ButtondownProvider",
    "resend": "postcli.providers.resend:ResendProvider",
    "mailchimp": "postcli.providers.mailchimp:MailchimpProvider",
    "listmonk": "postcli.providers.listmonk:ListmonkProvider",
    "ghost": "postcli.providers.ghost:GhostProvider",
    "beehiiv": "postcli.providers.beehiiv:BeehiivProvider",
    "kit": "postcli.providers.kit:KitProvider",
}
_registered: dict[str, type[Any]] = {}


def register(name: str, cls: type[Any]) -> None:
    """Make `cls` the provider called `name` in this process."""
    _registered[name] = cls


def unregister(name: str) -> None:
    _registered.pop(name, None)


def _targets() -> dict[str, str]:
    found = dict(_BUILTINS)
    for ep in entry_points(group=GROUP):
        found[ep.name] = ep.value
    return found


def names() -> list[str]:
    """Every provider name known here, sorted."""
    return sorted({*_targets(), *_registered})


def provider_class(name: str, settings: Settings | None = None) -> type[Any]:
    """The class registered as `name`; ConfigError naming [provider] name when unknown."""
    if name in _registered:
        return _registered[name]
    target = _targets().get(name)
    if target is None:
        path = settings.path if settings else None
        line = None
        if path is not None and path.is_file():
            from postcli.config import _key_line

            line = _key_line(path.read_text(encoding="utf-8"), "provider", "name")
        raise ConfigError(
            f"unknown provider '{name}'",
            path=path,
            line=line,
            hint=f"known providers: {', '.join(names())}; others install as plug-ins",
        )
    module_name, _, attr = target.partition(":")
    try:
        return getattr(import_module(module_name), attr)  # type: ignore[no-any-return]
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"provider '{name}' cannot be loaded ({target}): {exc}",
            hint="reinstall the package that provides it",
        ) from exc


def create(settings: Settings, name: str | None = None, *, client: Any = None) -> Provider:
    """Construct the configured provider (or `name`). HTTP providers get `client`, an
    `httpx.Client` the caller may supply (tests pass one on a mock transport)."""
    cls = provider_class(name or settings.provider, settings)
    provider: Provider = cls(settings, client=client)
    return provider
