"""What every provider's settings share: checking `[providers.NAME]` against the provider's
schema (every unknown or mistyped key reported at once, each with its line, as the core tables
are), pointing an error at one key, the subscribers file, and the unsubscribe link that
per-recipient providers put in every message.

Reads postcli.toml's text only to find line numbers; never the environment (see `config.secret`).
"""

from __future__ import annotations

from pathlib import Path

from postcli.config import Problems, Settings, key_line
from postcli.errors import ConfigError
from postcli.providers.base import SettingsSchema

__all__ = ["bad_key", "check_table", "require_unsubscribe_url", "subscribers_path"]


def _text(settings: Settings) -> str:
    path = settings.path
    return path.read_text(encoding="utf-8") if path is not None and path.is_file() else ""


def check_table(settings: Settings, provider: str, schema: SettingsSchema) -> dict[str, object]:
    """`[providers.<provider>]` checked against `schema`: ConfigError listing every unknown key
    and every value of the wrong type, each with its line; else the table."""
    options = settings.provider_settings(provider)
    table = f"providers.{provider}"
    problems = Problems(settings.path or Path("postcli.toml"), _text(settings))
    only_unknown = True
    for key, value in options.items():
        spec = schema.get(key)
        if spec is None:
            known = ", ".join(schema)
            problems.add(table, key, f"unknown key '{key}' in [{table}]; known: {known}")
        elif not isinstance(value, spec.types):
            only_unknown = False
            kind = spec.types[0].__name__
            problems.add(table, key, spec.message or f"'{key}' in [{table}] must be a {kind}")
    try:
        problems.raise_if_any()
    except ConfigError as error:
        if only_unknown:
            error.hint = None  # the message lists the known keys already
        raise
    return options


def bad_key(
    settings: Settings, provider: str, key: str, message: str, hint: str | None = None
) -> ConfigError:
    """A ConfigError pointing at `key` of [providers.<provider>] (or the table) in postcli.toml."""
    text, table = _text(settings), f"providers.{provider}"
    line = key_line(text, table, key) or key_line(text, table, "")
    return ConfigError(message, path=settings.path, line=line, hint=hint)


def require_unsubscribe_url(settings: Settings, provider: str) -> None:
    """Per-recipient providers put newsletter.unsubscribe_url in every message; they need it."""
    if not settings.newsletter.unsubscribe_url:
        raise ConfigError(
            f"the {provider} provider needs newsletter.unsubscribe_url",
            path=settings.path,
            hint="add to [newsletter]: "
            'unsubscribe_url = "https://example.com/unsubscribe?email={email}"',
        )


def subscribers_path(settings: Settings, provider: str, options: dict[str, object]) -> Path | None:
    """The subscribers file `subscribers = "..."` names, relative to the workspace; None."""
    value = options.get("subscribers")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise bad_key(
            settings,
            provider,
            "subscribers",
            f"'subscribers' in [providers.{provider}] must be the path of a CSV file",
        )
    path = Path(value).expanduser()
    return path if path.is_absolute() else settings.root / path
