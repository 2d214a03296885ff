"""Checking postcli.toml's tables: where a key sits, every problem collected, the checks of a
table's keys, its addresses and its URL placeholders. Part of `postcli.config`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from postcli.errors import ConfigError

if TYPE_CHECKING:
    from postcli.config import Newsletter


def key_line(text: str, table: str | None, key: str) -> int | None:
    """The line of `key` inside `[table]` (or at top level), for messages; None if not found."""
    lines = text.splitlines()
    current: str | None = None
    key_re = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
    for number, line in enumerate(lines, start=1):
        header = re.match(r"^\s*\[+\s*([^\]]+?)\s*\]+", line)
        if header:
            current = header.group(1)
            if table and key == "" and current == table:
                return number
            continue
        if current == table and key and key_re.match(line):
            return number
    return None


class Problems:
    """Collects every problem in the file, so one run reports them all."""

    def __init__(self, path: Path, text: str, *, hint: str | None = None) -> None:
        self.path, self.text = path, text
        self.items: list[tuple[int | None, str]] = []
        self.hint = hint or "fix postcli.toml; docs/configuration.md lists every key"

    def add(self, table: str | None, key: str, message: str) -> None:
        line = key_line(self.text, table, key) if key else key_line(self.text, table, "")
        self.items.append((line, message))

    def raise_if_any(self) -> None:
        if not self.items:
            return
        first_line = self.items[0][0]
        lines = [f"{self.path}:{line or '?'}: {message}" for line, message in self.items]
        raise ConfigError(
            self.items[0][1]
            if len(self.items) == 1
            else f"{len(self.items)} problems:\n" + "\n".join(lines),
            path=self.path,
            line=first_line,
            hint=self.hint,
        )


def control_in(value: Any) -> str | None:
    """The control character in a text (or list of texts) setting, named; None without one."""
    from postcli.controls import first_control

    for text in value if isinstance(value, list) else [value]:
        found = first_control(text) if isinstance(text, str) else None
        if found is not None:
            return found.message
    return None


def check_table(
    problems: Problems,
    table: str,
    data: Any,
    known: dict[str, tuple[type, ...]],
) -> dict[str, Any]:
    if not isinstance(data, dict):
        problems.add(None, table, f"[{table}] must be a table")
        return {}
    clean: dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            problems.add(table, key, f"unknown key '{key}' in [{table}]; known: {', '.join(known)}")
        elif not isinstance(value, known[key]):
            problems.add(table, key, f"'{key}' in [{table}] must be a {known[key][0].__name__}")
        elif control_in(value):
            problems.add(table, key, f"'{key}' in [{table}] holds {control_in(value)}")
        else:
            clean[key] = value
    return clean


def check_addresses(problems: Problems, newsletter: Newsletter) -> None:
    """`from` and `reply_to` are each one real address, on one line."""
    from postcli.addresses import address_problem

    for key, value in (("from", newsletter.from_), ("reply_to", newsletter.reply_to)):
        problem = address_problem(value) if value is not None else None
        if problem:
            problems.add("newsletter", key, f"'{key}' in [newsletter] {problem}: {value!r}")


# The {placeholders} a URL setting filled in with str.format may hold; any other brace is a
# mistake. (unsubscribe_url's {email} is replaced as text, so it may hold any brace.)
_PLACEHOLDERS = {"web_url": ("id",)}


def check_placeholders(problems: Problems, newsletter: Newsletter) -> None:
    import string

    for key, allowed in _PLACEHOLDERS.items():
        value = getattr(newsletter, key)
        if not value:
            continue
        try:
            fields = [f for _, f, _, _ in string.Formatter().parse(value) if f is not None]
        except ValueError as exc:
            problems.add("newsletter", key, f"'{key}' has a stray brace ({exc}): {value!r}")
            continue
        unknown = [f for f in fields if f not in allowed]
        if unknown:
            known = ", ".join("{" + name + "}" for name in allowed)
            problems.add(
                "newsletter",
                key,
                f"'{key}' has an unknown placeholder {{{unknown[0]}}}; it may hold {known} "
                "(write {{ and }} for a brace)",
            )
