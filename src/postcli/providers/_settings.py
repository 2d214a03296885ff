"""What every provider's settings share: checking `[providers.NAME]` against the provider's
schema (every unknown or mistyped key reported at once, each with its line, as the core tables
are), pointing an error at one key, the subscribers file, and the unsubscribe link that
per-recipient providers put in every message. `ProviderTable` is the base of the HTTP providers
(`_campaigns.HttpCampaignProvider`, `_bulk.BulkSettings`): their declaration, taken from
`postcli.registry`'s table for a built-in, the checked table with its `base_url` and `timeout`,
and their secrets, which must be set.

Reads postcli.toml's text only to find line numbers; never the environment (see `config.secret`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from postcli.config import Problems, Settings, key_line, secret
from postcli.errors import ConfigError
from postcli.providers.base import Key, SettingsSchema
from postcli.registry import builtin as builtin_info

__all__ = [
    "ProviderTable",
    "bad_key",
    "check_table",
    "http_schema",
    "require_secret",
    "require_unsubscribe_url",
    "subscribers_path",
]


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
            problems.add(table, key, key_message(provider, key, spec))
    try:
        problems.raise_if_any()
    except ConfigError as error:
        if only_unknown:
            error.hint = None  # the message lists the known keys already
        raise
    return options


def key_message(provider: str, key: str, spec: Key) -> str:
    """What to say when `key` of [providers.<provider>] has a value it cannot take."""
    must = spec.must or f"a {spec.types[0].__name__}"
    return spec.message or f"'{key}' in [providers.{provider}] must be {must}"


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


def http_schema(*, audiences: bool = False, **extra: Key) -> SettingsSchema:
    """The keys every HTTP provider takes (`base_url`, `timeout`, and `audiences` when asked),
    with the provider's own."""
    keys = {
        "base_url": Key((str,), must="an http(s) URL"),
        "timeout": Key((int, float), must="seconds, like 30"),
    }
    if audiences:
        keys["audiences"] = Key((dict,), must="a table like { free = ..., premium = ... }")
    return {**keys, **extra}


def require_secret(variable: str, title: str) -> str:
    """The secret in `variable` (the environment or .env); ConfigError when it is not set."""
    value = secret(variable)
    if value is None:
        raise ConfigError(
            f"{variable} is not set: the {title} provider needs it",
            hint=f"put {variable}=... in the environment or the workspace's .env "
            "(never in postcli.toml)",
        )
    return value


class ProviderTable:
    """A provider's declaration and its `[providers.<name>]`, read and checked.

    A built-in names itself in its class line, `class ResendProvider(HttpCampaignProvider,
    builtin="resend")`, and takes its name, secret variables and merge tag from the registry's
    table, so the two never disagree; a plug-in sets the class attributes itself."""

    name: ClassVar[str]
    title: ClassVar[str]  # the provider as people write it: "Buttondown"
    secret_variables: ClassVar[tuple[str, ...]] = ()
    unsubscribe_tag: ClassVar[str | None] = None
    settings_schema: ClassVar[SettingsSchema]

    def __init_subclass__(cls, *, builtin: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if builtin is not None:
            declared = builtin_info(builtin)
            cls.name = declared.name
            cls.secret_variables = declared.secret_variables
            cls.unsubscribe_tag = declared.unsubscribe_tag
            cls.title = declared.title

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.options: dict[str, Any] = check_table(settings, self.name, self.settings_schema)
        base_url = self.options.get("base_url")
        if base_url is not None and (
            not isinstance(base_url, str) or not base_url.startswith(("http://", "https://"))
        ):
            raise self.invalid("base_url")
        self.base_url_setting: str | None = base_url.rstrip("/") if base_url else None
        timeout = self.options.get("timeout", 30)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise self.invalid("timeout")
        self.timeout = float(timeout)

    def bad(self, key: str, message: str, hint: str | None = None) -> ConfigError:
        """A ConfigError pointing at `key` of [providers.<name>] (or the table) in postcli.toml."""
        hint = hint or f"see docs/providers/{self.name}.md"
        return bad_key(self.settings, self.name, key, message, hint)

    def invalid(self, key: str) -> ConfigError:
        """`key` has a value it cannot take: what its schema entry says (key_message)."""
        return self.bad(key, key_message(self.name, key, self.settings_schema[key]))

    def require_secret(self, variable: str) -> str:
        return require_secret(variable, self.title)
