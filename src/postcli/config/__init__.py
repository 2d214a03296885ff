"""postcli.toml -> typed settings.

Owns finding the workspace, reading postcli.toml and `.env`, and checking every key: all
problems are reported at once, each with its line. Secrets are never read from the file; they
come from the environment (see `secret`). This module must not import anything above it.

`problems.py` checks the tables and collects every problem; `secrets.py` reads, adds and redacts
the secrets. Their public names are imported here: `postcli.config` is the one place to import from.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from postcli.config.problems import (
    Problems,
    check_addresses,
    check_placeholders,
    check_table,
    key_line,
)
from postcli.config.secrets import add_secret, redact, redactor, secret, secret_values
from postcli.errors import ConfigError

__all__ = [
    "CONFIG_NAME",
    "DEFAULT_CHECK_CLIENTS",
    "UPGRADE_KEYS",
    "Check",
    "Newsletter",
    "Problems",
    "Render",
    "Schedule",
    "Settings",
    "Site",
    "Upgrade",
    "add_secret",
    "find_root",
    "is_script_url",
    "key_line",
    "load",
    "load_dotenv_file",
    "parse",
    "parse_duration",
    "redact",
    "redactor",
    "secret",
    "secret_values",
]

CONFIG_NAME = "postcli.toml"


@dataclass(frozen=True)
class Newsletter:
    name: str = "My Newsletter"
    from_: str = "My Newsletter <hello@example.com>"
    reply_to: str | None = None
    url: str | None = None
    web_url: str | None = None
    lang: str = "en"
    timezone: str = "UTC"
    unsubscribe_url: str | None = None
    assets_url: str | None = None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Upgrade:
    """The upgrade block closing the free variant; `[premium]`, overridable per issue."""

    upgrade_url: str = ""
    heading: str = "Upgrade to premium"
    text: str = "Premium readers get the whole issue."
    benefits: tuple[str, ...] = ()
    button: str = "Upgrade"

    def merged(self, overrides: dict[str, Any]) -> Upgrade:
        values = {k: v for k, v in overrides.items() if v is not None}
        if "benefits" in values:
            values["benefits"] = tuple(values["benefits"])
        return Upgrade(**{**self.__dict__, **values})


@dataclass(frozen=True)
class Render:
    inliner: str = "css-inline"  # css-inline | premailer


@dataclass(frozen=True)
class Schedule:
    max_lateness_hours: float = 24.0


# The email clients `postcli check` reports on when `[check] clients` is not set (DESIGN
# section 5). Kept here rather than beside the caniemail data, so that loading a config does not
# import that module; tests/test_clients.py holds each name to a family of the data.
DEFAULT_CHECK_CLIENTS = ("gmail", "outlook", "apple-mail", "yahoo", "samsung-email")


@dataclass(frozen=True)
class Check:
    clients: tuple[str, ...] = DEFAULT_CHECK_CLIENTS  # caniemail families or family/platform


@dataclass(frozen=True)
class Site:
    """`[site]`: where the web edition (`postcli site`) is served."""

    url: str | None = None
    title: str | None = None

    def issue_url(self, issue_id: str) -> str | None:
        """An issue's page, `{url}/{id}/`; None without `[site] url`."""
        if not self.url:
            return None
        from urllib.parse import quote

        return f"{self.url.rstrip('/')}/{quote(issue_id)}/"


class _Folder:
    """A folder of the workspace, by its name: `settings.issues_dir` is `root / "issues"`."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, settings: Settings, owner: type[Settings]) -> Path:
        return settings.root / self.name


@dataclass(frozen=True)
class Settings:
    root: Path
    newsletter: Newsletter = field(default_factory=Newsletter)
    premium: Upgrade = field(default_factory=Upgrade)
    provider: str = "file"
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    render: Render = field(default_factory=Render)
    schedule: Schedule = field(default_factory=Schedule)
    check: Check = field(default_factory=Check)
    path: Path | None = None
    site: Site = field(default_factory=Site)

    # The workspace's folders.
    issues_dir = _Folder("issues")
    templates_dir = _Folder("templates")
    assets_dir = _Folder("assets")
    build_dir = _Folder("build")
    outbox_dir = _Folder("outbox")
    state_dir = _Folder(".postcli")  # the ledger, the locks, the site's state

    def provider_settings(self, name: str | None = None) -> dict[str, Any]:
        return dict(self.providers.get(name or self.provider, {}))


# Known keys per table: name -> (type or types, required). `from` is `from_` in Python.
_STR = (str,)
_NEWSLETTER_KEYS: dict[str, tuple[type, ...]] = {
    "name": _STR,
    "from": _STR,
    "reply_to": _STR,
    "url": _STR,
    "web_url": _STR,
    "lang": _STR,
    "timezone": _STR,
    "unsubscribe_url": _STR,
    "assets_url": _STR,
}
UPGRADE_KEYS: dict[str, tuple[type, ...]] = {
    "upgrade_url": _STR,
    "heading": _STR,
    "text": _STR,
    "benefits": (list,),
    "button": _STR,
}
_TABLES = (
    "newsletter",
    "premium",
    "provider",
    "providers",
    "render",
    "schedule",
    "check",
    "site",
)


def find_root(start: Path | None = None) -> Path | None:
    """The first folder holding postcli.toml, walking up from `start`."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    return None


def load_dotenv_file(root: Path) -> None:
    """Load `<root>/.env` into the environment; variables already set win."""
    env_file = root / ".env"
    if env_file.is_file():
        import io

        from dotenv import load_dotenv

        load_dotenv(stream=io.StringIO(_read_config_text(env_file)), override=False)


def _read_config_text(path: Path) -> str:
    """postcli.toml or .env as text: unreadable or non-UTF-8 is a ConfigError at its line."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        denied = isinstance(exc, PermissionError)
        raise ConfigError(
            f"cannot read the file: {exc.strerror or type(exc).__name__}",
            path=path,
            hint="check the permissions of this file and of its folder" if denied else None,
        ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
            path=path,
            line=data[: exc.start].count(b"\n") + 1,
            hint="save it as UTF-8",
        ) from None


def load(root: Path) -> Settings:
    """Read `<root>/postcli.toml` (absent means all defaults) and `.env`."""
    path = root / CONFIG_NAME
    load_dotenv_file(root)
    if not path.is_file():
        return Settings(root=root)
    text = _read_config_text(path)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise ConfigError(
            f"not valid TOML: {exc}",
            path=path,
            line=int(match.group(1)) if match else None,
            hint="see https://toml.io for the syntax",
        ) from exc
    return parse(raw, root=root, path=path, text=text)


def parse(raw: dict[str, Any], *, root: Path, path: Path, text: str = "") -> Settings:
    problems = Problems(path, text)
    for table in raw:
        if table not in _TABLES:
            problems.add(None, table, f"unknown table [{table}]; known: {', '.join(_TABLES)}")

    newsletter_raw = check_table(
        problems, "newsletter", raw.get("newsletter", {}), _NEWSLETTER_KEYS
    )
    if "from" in newsletter_raw:
        newsletter_raw["from_"] = newsletter_raw.pop("from")
    newsletter = Newsletter(**newsletter_raw)
    try:
        ZoneInfo(newsletter.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.add(
            "newsletter",
            "timezone",
            f"unknown time zone '{newsletter.timezone}'; use an IANA name like 'Asia/Seoul'",
        )
    check_addresses(problems, newsletter)
    check_placeholders(problems, newsletter)
    for key in ("unsubscribe_url", "assets_url", "url", "web_url"):
        value = getattr(newsletter, key)
        if value and not re.match(r"^https?://", value):
            problems.add("newsletter", key, f"'{key}' must be an http(s) URL, not '{value}'")

    premium_raw = check_table(problems, "premium", raw.get("premium", {}), UPGRADE_KEYS)
    if not all(isinstance(b, str) for b in premium_raw.get("benefits", [])):
        problems.add("premium", "benefits", "'benefits' must be a list of strings")
        premium_raw.pop("benefits")
    if is_script_url(premium_raw.get("upgrade_url", "")):
        problems.add("premium", "upgrade_url", "'upgrade_url' must be a web page, not a script URL")
        premium_raw.pop("upgrade_url")
    premium = Upgrade().merged(premium_raw)

    provider_raw = check_table(problems, "provider", raw.get("provider", {}), {"name": _STR})
    provider = os.environ.get("POSTCLI_PROVIDER") or provider_raw.get("name", "file")

    providers = raw.get("providers", {})
    if not isinstance(providers, dict) or not all(isinstance(v, dict) for v in providers.values()):
        problems.add(None, "providers", "[providers.NAME] must be tables")
        providers = {}

    render_raw = check_table(problems, "render", raw.get("render", {}), {"inliner": _STR})
    if render_raw.get("inliner", "css-inline") not in ("css-inline", "premailer"):
        problems.add("render", "inliner", "'inliner' must be 'css-inline' or 'premailer'")
        render_raw.pop("inliner")

    schedule_raw = check_table(
        problems, "schedule", raw.get("schedule", {}), {"max_lateness": (str, int, float)}
    )
    schedule = Schedule()
    if "max_lateness" in schedule_raw:
        try:
            schedule = Schedule(
                max_lateness_hours=parse_duration(schedule_raw["max_lateness"]) / 3600
            )
        except ValueError as exc:
            problems.add("schedule", "max_lateness", str(exc))

    check = _check_settings(problems, raw.get("check", {}))
    site_raw = check_table(problems, "site", raw.get("site", {}), {"url": _STR, "title": _STR})
    if site_raw.get("url") and not re.match(r"^https?://", site_raw["url"]):
        problems.add(
            "site", "url", f"'url' in [site] must be an http(s) URL, not '{site_raw['url']}'"
        )
        site_raw.pop("url")

    problems.raise_if_any()
    return Settings(
        root=root,
        newsletter=newsletter,
        premium=premium,
        provider=provider,
        providers=providers,
        render=Render(**render_raw),
        schedule=schedule,
        check=check,
        path=path,
        site=Site(**site_raw),
    )


def _check_settings(problems: Problems, data: Any) -> Check:
    """`[check] clients`: each name a caniemail client family or one platform of it."""
    check_raw = check_table(problems, "check", data, {"clients": (list,)})
    if "clients" not in check_raw:
        return Check()
    from postcli.data import load as client_data

    known = client_data()
    clients: list[str] = []
    for name in check_raw["clients"]:
        if isinstance(name, str) and name in known.known_names():
            clients.append(name)
        else:
            problems.add(
                "check",
                "clients",
                f"unknown client {name!r} in [check] clients; known: "
                f"{', '.join(known.families)}, or one platform as family/platform "
                f"({', '.join(k for k in known.platforms if k.startswith('outlook/'))}, ...)",
            )
    return Check(clients=tuple(clients))


def is_script_url(url: object) -> bool:
    """javascript:, vbscript: or data: URLs, spelled as browsers read them (they skip
    whitespace and control characters, and ignore case)."""
    if not isinstance(url, str):
        return False
    squeezed = re.sub(r"[\x00-\x20\x7f]+", "", url).lower()
    return squeezed.startswith(("javascript:", "vbscript:", "data:"))


def parse_duration(value: str | int | float) -> float:
    """'90s', '5m', '24h', '2d' (or a number of hours) -> seconds."""
    if isinstance(value, int | float):
        return float(value) * 3600
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", value)
    if not match:
        raise ValueError(f"'{value}' is not a duration; write it like '90s', '5m', '24h' or '2d'")
    return float(match.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
