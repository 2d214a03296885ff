"""The shipped caniemail data (caniemail.json in this package), loaded once and typed.

Owns reading the generated file and naming email clients; it knows nothing of HTML and imports
no other postcli module, so that config.py can check `[check] clients` against it. The file is made
by scripts/gen_caniemail.py from a caniemail checkout (MIT; the notice is caniemail.LICENSE
next to it). Each feature's `support` is a list aligned with the file's `platforms` list of
"family/platform" keys; a value is "y", "n", "a" (partial) or "u" (unknown), maybe followed by
note numbers ("a #2"), or "" where caniemail has no result for that platform.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

DATA_FILE = "caniemail.json"

# Outlook's Word-based renderers: the only ones that read `<!--[if mso]>` conditionals.
MSO_PLATFORMS = frozenset({"outlook/windows", "outlook/windows-mail"})


class Support(StrEnum):
    FULL = "y"
    PARTIAL = "a"
    NONE = "n"
    UNKNOWN = "u"


@dataclass(frozen=True)
class Verdict:
    """What caniemail says of one feature in one client platform's latest tested version."""

    support: Support
    notes: tuple[str, ...] = ()  # note numbers, as in the feature's notes

    @classmethod
    def parse(cls, raw: str) -> Verdict:
        return _verdict(raw)


@cache
def _verdict(raw: str) -> Verdict:
    """The data holds a few dozen distinct values ("y", "a #2"...): each is parsed once."""
    if not raw:
        return Verdict(Support.UNKNOWN)
    letter, *notes = raw.split()
    return Verdict(Support(letter), tuple(n.lstrip("#") for n in notes))


@dataclass(frozen=True)
class Feature:
    slug: str
    title: str
    category: str  # css | html | image | others
    match: dict[str, tuple[str, ...]]
    notes: dict[str, str]
    support: tuple[str, ...]  # raw values, aligned with `columns`
    columns: dict[str, int]  # "family/platform" -> index into `support`, shared by all features

    def verdict(self, platform: str) -> Verdict:
        column = self.columns.get(platform)
        return Verdict.parse("" if column is None else self.support[column])


@dataclass(frozen=True)
class Platform:
    key: str  # "outlook/windows"
    family: str  # "outlook"
    family_name: str  # "Outlook"
    name: str  # "Windows"

    @property
    def label(self) -> str:
        return f"{self.family_name} {self.name}"

    @property
    def reads_mso(self) -> bool:
        return self.key in MSO_PLATFORMS


@dataclass(frozen=True)
class Data:
    source: dict[str, Any]
    platforms: dict[str, Platform]  # in the file's order
    features: dict[str, Feature]

    @property
    def families(self) -> list[str]:
        return sorted({p.family for p in self.platforms.values()})

    def known_names(self) -> list[str]:
        """What `[check] clients` accepts: a family, or one of its platforms as family/platform."""
        return [*self.families, *self.platforms]

    def select(self, names: tuple[str, ...] | list[str]) -> list[Platform]:
        """The platforms that client names stand for, in the order given; unknown names are
        skipped (config.py reports them)."""
        out: list[Platform] = []
        for name in names:
            for platform in self.platforms.values():
                if (name in (platform.family, platform.key)) and platform not in out:
                    out.append(platform)
        return out


def parse(raw: dict[str, Any]) -> Data:
    clients = raw["clients"]
    platforms: dict[str, Platform] = {}
    for key in raw["platforms"]:
        family, platform = key.split("/", 1)
        client = clients[family]
        platforms[key] = Platform(key, family, client["name"], client["platforms"][platform])
    columns = {key: number for number, key in enumerate(raw["platforms"])}
    features = {}
    for slug, item in raw["features"].items():
        features[slug] = Feature(
            slug=slug,
            title=item["title"],
            category=item["category"],
            match={kind: tuple(names) for kind, names in item["match"].items()},
            notes=dict(item["notes"]),
            support=tuple(item["support"]),
            columns=columns,
        )
        if len(item["support"]) != len(columns):
            raise ValueError(f"{slug}: {len(item['support'])} support values for {len(columns)}")
    return Data(source=dict(raw["source"]), platforms=platforms, features=features)


@cache
def load() -> Data:
    """The shipped data, parsed once per process."""
    from importlib import resources  # not at import: most commands never load the data

    text = resources.files("postcli.data").joinpath(DATA_FILE).read_text(encoding="utf-8")
    return parse(json.loads(text))


def known_client_names() -> list[str]:
    return load().known_names()
