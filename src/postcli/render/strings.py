"""The words the templates use (strings.toml), per language, with their fallbacks.

Owns reading `strings.toml` (the built-in one and a workspace's override), the order in which a
missing word is looked for, the template filters that fill a word in (`fill`, `josa`), and the
report of keys no template knows. It must not render anything.

A word for `lang` is taken from the first table that has it:

1. the workspace's `[lang]` (e.g. `[ko]` holding only `reply` and `recommend`),
2. the built-in `[lang]`: so every other Korean word stays Korean,
3. the workspace's `[en]`, then the built-in `[en]`: for a language postcli has no words for.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from postcli import korean
from postcli.errors import TemplateError

FILE = "strings.toml"
_TEMPLATE_KEY_RE = re.compile(
    r"""\bt\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])"""
)
_TABLE_RE = re.compile(r"^\s*\[\s*([^\]\s]+)\s*\]\s*(?:#.*)?$")
_KEY_RE = re.compile(r"""^\s*(?:"([^"]+)"|'([^']+)'|([A-Za-z0-9_-]+))\s*=""")


@dataclass(frozen=True)
class UnknownKey:
    """A key of the workspace's strings.toml that neither postcli nor any template uses."""

    path: Path
    line: int | None
    table: str
    key: str

    @property
    def message(self) -> str:
        return (
            f"'{self.key}' in [{self.table}] is no word the templates use, so it changes "
            "nothing; check the spelling against the built-in strings (docs/templates.md)"
        )


def builtin_path() -> Path:
    from postcli.render.templates import BUILTIN_DIR

    return BUILTIN_DIR / FILE


def workspace_path(workspace_templates: Path | None) -> Path | None:
    if workspace_templates is None:
        return None
    path = workspace_templates / FILE
    return path if path.is_file() else None


def _table(path: Path) -> dict[str, Any]:
    try:
        return _read(path, path.stat().st_mtime_ns)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise TemplateError(
            f"not valid TOML: {exc}", path=path, line=int(match.group(1)) if match else None
        ) from exc


@cache
def _read(path: Path, mtime_ns: int) -> dict[str, Any]:
    """The file's tables, re-read only when it changes (preview re-renders on every save)."""
    del mtime_ns  # part of the cache key only
    return tomllib.loads(path.read_text(encoding="utf-8"))


def load(lang: str, workspace_templates: Path | None) -> dict[str, Any]:
    """The template words for `lang`, every missing one filled as the module docstring says."""
    base = lang.split("-")[0].lower()
    builtin = _table(builtin_path())
    own_path = workspace_path(workspace_templates)
    own = _table(own_path) if own_path is not None else {}
    words: dict[str, Any] = {}
    for table in (builtin.get("en"), own.get("en"), builtin.get(base), own.get(base)):
        if isinstance(table, dict):
            words.update(table)
    return words


def unknown_keys(workspace_templates: Path | None) -> list[UnknownKey]:
    """Keys of the workspace's strings.toml that are in no built-in table and that no template
    (built-in or the workspace's) reads as `t.KEY` or `t["KEY"]`: most likely typos."""
    own_path = workspace_path(workspace_templates)
    if own_path is None:
        return []
    own = _table(own_path)
    builtin = _table(builtin_path())
    known = {key for table in builtin.values() if isinstance(table, dict) for key in table}
    known |= _keys_templates_use(workspace_templates)
    text = own_path.read_text(encoding="utf-8")
    found = []
    for table_name, table in own.items():
        if not isinstance(table, dict):
            continue
        for key in table:
            if key not in known:
                found.append(UnknownKey(own_path, _line(text, table_name, key), table_name, key))
    return found


def _keys_templates_use(workspace_templates: Path | None) -> set[str]:
    from postcli.render.templates import BUILTIN_DIR

    folders = [BUILTIN_DIR] + ([workspace_templates] if workspace_templates else [])
    used: set[str] = set()
    for folder in folders:
        for path in sorted(folder.glob("*.j2")):
            for match in _TEMPLATE_KEY_RE.finditer(path.read_text(encoding="utf-8")):
                used.add(match.group(1) or match.group(2))
    return used


def _line(text: str, table: str, key: str) -> int | None:
    """The 1-based line of `key =` under `[table]`."""
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        header = _TABLE_RE.match(line)
        if header:
            current = header.group(1).strip("\"'")
            continue
        match = _KEY_RE.match(line)
        if match and current == table and key in match.groups():
            return number
    return None


# --- Template filters --------------------------------------------------------------------------


def fill(word: object, **values: Any) -> str:
    """`{{ t.received_because | fill(name=newsletter.name) }}`: the word with its `{name}`
    placeholders filled, then its Korean particle pairs ("을(를)") resolved."""
    return korean.resolve(str(word).format(**values))


def josa(word: object, pair: str) -> str:
    """`{{ newsletter.name | josa('을') }}`: the word followed by the right particle."""
    return korean.attach(str(word), pair)


FILTERS = {"fill": fill, "josa": josa}
