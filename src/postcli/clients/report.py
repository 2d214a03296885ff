"""The features an email uses x the clients a newsletter cares about -> the support report.

Pure: takes HTML strings (and, to say where a feature comes from, the HTML fragments of the
issue's own blocks with their lines) and the caniemail data; returns values. It prints nothing;
`format_table` makes the text that `postcli check --clients` and the preview show.

A feature is "used" for a client platform when the platform reads at least one place that uses
it: what sits inside `<!--[if mso]>` only counts for Outlook's Word engine, and what sits inside
`<!--[if !mso]><!-->` never does. A partly or not supported feature "has a fallback" for a
platform when every place that platform reads is covered: the place is inside `@media`
(progressive: without the rule the styles outside it apply), the feature is the media query
itself, or, for Outlook's Word engine, the element sits in one of MJML's ghost tables.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from postcli import data as caniemail
from postcli.clients.analyze import Use, analyze
from postcli.clients.fallback import fallback as fallback_of
from postcli.clients.table import format_table as format_table  # re-exported
from postcli.clients.table import platform_names as platform_names  # re-exported
from postcli.data import Data, Feature, Platform, Support

# Features whose absence breaks the layout or the reading of an email; only these become
# warnings in plain `postcli check`. Anything else is shown by `--clients` alone: among them
# overflow and the wrapping properties (word-break, overflow-wrap, word-wrap, white-space,
# hyphens), whose absence shows content whole or wraps it by the client's default rules.
LAYOUT = frozenset(
    {
        "css-display",
        "css-display-flex",
        "css-display-grid",
        "css-display-none",
        "css-width",
        "css-max-width",
        "css-min-width",
        "css-height",
        "css-max-height",
        "css-float",
        "css-position",
        "css-left-right-top-bottom",
        "css-inset",
        "css-margin",
        "css-padding",
        "css-border-collapse",
        "css-table-layout",
        "css-box-sizing",
        "css-flex-direction",
        "css-flex-wrap",
        "css-gap",
        "css-grid-template",
        "css-justify-content",
        "css-align-items",
        "css-vertical-align",
        "css-text-align",
        "css-direction",
        "css-writing-mode",
        "css-unit-px",
        "css-unit-percent",
        "css-unit-em",
        "css-unit-rem",
        "css-unit-vw",
        "css-unit-vh",
        "css-unit-calc",
        "css-function-clamp",
        "css-function-min",
        "css-function-max",
        "css-variables",
        "css-nesting",
        "html-table",
        "html-div",
        "html-p",
        "html-img",
        "html-width",
        "html-height",
        "html-align",
        "html-valign",
        "html-cellpadding",
        "html-cellspacing",
    }
)
LEGIBILITY = frozenset(
    {
        "css-background",
        "css-background-color",
        "css-background-image",
        "css-font",
        "css-font-size",
        "css-font-weight",
        "css-line-height",
        "css-letter-spacing",
        "css-text-decoration",
        "css-rgb",
        "css-rgba",
        "css-modern-color",
        "css-function-light-dark",
        "css-opacity",
        "css-visibility",
        "css-list-style",
        "css-list-style-type",
        "html-h1-h6",
        "html-lists",
        "html-blockquote",
        "html-pre",
        "html-code",
        "html-svg",
        "html-picture",
        "image-webp",
        "image-avif",
        "image-svg",
        "image-base64",
        "image-heif",
        "image-tiff",
        "image-bmp",
    }
)


def impact(slug: str) -> str | None:
    """ "layout", "legibility", or None for a feature whose absence a reader hardly notices."""
    if slug in LAYOUT:
        return "layout"
    if slug in LEGIBILITY:
        return "legibility"
    return None


@dataclass(frozen=True)
class Cell:
    """One feature in one client platform."""

    support: Support
    notes: tuple[str, ...] = ()
    fallback: str | None = None  # why a partly/not supported feature still does no harm


@dataclass
class FeatureUse:
    """A feature the email uses, where it comes from, and how each client takes it."""

    feature: Feature
    impact: str | None
    variants: list[str] = field(default_factory=list)
    template: bool = False  # some use comes from the template (or the content CSS)
    lines: list[int] = field(default_factory=list)  # issue lines whose content uses it
    places: list[str] = field(default_factory=list)  # "style attribute on <td>", ...
    html_lines: list[int] = field(default_factory=list)  # lines in the HTML, first few
    cells: dict[str, Cell] = field(default_factory=dict)  # platform key -> cell

    @property
    def origin(self) -> str:
        parts = []
        if self.lines:
            parts.append("issue line" + "s" * (len(self.lines) > 1) + " ")
            parts[-1] += ", ".join(str(n) for n in self.lines[:5])
            if len(self.lines) > 5:
                parts[-1] += ", …"
        if self.template or not self.lines:
            parts.append("the template")
        return " and ".join(parts)

    def problems(self, *, with_fallback: bool = False) -> dict[str, Cell]:
        """Platforms where it is partly or not supported (and, by default, has no fallback)."""
        return {
            key: cell
            for key, cell in self.cells.items()
            if cell.support in (Support.NONE, Support.PARTIAL)
            and (with_fallback or cell.fallback is None)
        }

    def note(self, number: str) -> str:
        return plain_note(self.feature.notes.get(number, ""))


@dataclass(frozen=True)
class Row:
    platform: Platform
    full: int
    partial: int
    none: int
    unknown: int
    covered: int  # partly or not supported, but with a fallback


@dataclass
class ClientReport:
    platforms: list[Platform]
    features: list[FeatureUse]
    source: dict[str, Any]

    def rows(self) -> list[Row]:
        out = []
        for platform in self.platforms:
            cells = [f.cells[platform.key] for f in self.features if platform.key in f.cells]
            out.append(
                Row(
                    platform,
                    full=sum(c.support is Support.FULL for c in cells),
                    partial=sum(c.support is Support.PARTIAL for c in cells),
                    none=sum(c.support is Support.NONE for c in cells),
                    unknown=sum(c.support is Support.UNKNOWN for c in cells),
                    covered=sum(
                        c.support in (Support.NONE, Support.PARTIAL) and c.fallback is not None
                        for c in cells
                    ),
                )
            )
        return out

    def to_fix(self, limit: int | None = 10) -> list[FeatureUse]:
        """Features some client takes badly with no fallback: first those some client does not
        support at all (the ones that matter first), then the partly supported ones."""
        ranked = []
        for feature in self.features:
            problems = feature.problems()
            if not problems:
                continue
            nones = sum(c.support is Support.NONE for c in problems.values())
            key = (nones == 0, feature.impact is None, -nones, -len(problems))
            ranked.append((key, feature.feature.slug, feature))
        ranked.sort(key=lambda item: item[:2])
        top = [item[2] for item in ranked]
        return top if limit is None else top[:limit]

    def unsupported(self) -> list[tuple[FeatureUse, str, list[Platform]]]:
        """(feature, family, its platforms) for every feature that matters that some of the
        family's platforms do not support at all, with no fallback: plain check's warnings."""
        out = []
        for feature in self.features:
            if feature.impact is None:
                continue
            problems = feature.problems()
            families: dict[str, list[Platform]] = {}
            for platform in self.platforms:
                cell = problems.get(platform.key)
                if cell is not None and cell.support is Support.NONE:
                    families.setdefault(platform.family, []).append(platform)
            out += [(feature, family, found) for family, found in families.items()]
        return out

    def as_dict(self) -> dict[str, Any]:
        """The `clients` object of `postcli check --clients --json` (docs/checks.md)."""
        return {
            "source": self.source,
            "clients": [
                {
                    "client": row.platform.key,
                    "name": row.platform.label,
                    "full": row.full,
                    "partial": row.partial,
                    "none": row.none,
                    "unknown": row.unknown,
                    "with_fallback": row.covered,
                }
                for row in self.rows()
            ],
            "to_fix": [f.feature.slug for f in self.to_fix(None)],
            "features": [_feature_dict(f) for f in self.features],
        }


def _feature_dict(use: FeatureUse) -> dict[str, Any]:
    return {
        "feature": use.feature.slug,
        "title": use.feature.title,
        "category": use.feature.category,
        "impact": use.impact,
        "variants": use.variants,
        "origin": {"template": use.template or not use.lines, "lines": use.lines},
        "places": use.places,
        "html_lines": use.html_lines,
        "support": {
            key: {
                "support": _SUPPORT_WORDS[cell.support],
                "notes": [{"number": n, "text": use.note(n)} for n in cell.notes],
                "fallback": cell.fallback,
            }
            for key, cell in use.cells.items()
        },
    }


_SUPPORT_WORDS = {
    Support.FULL: "full",
    Support.PARTIAL: "partial",
    Support.NONE: "none",
    Support.UNKNOWN: "unknown",
}


def plain_note(text: str) -> str:
    """A caniemail note for a terminal: `[text](url)` -> `text (url)`."""
    return re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"\1 (\2)", text)


# --- Matching ---------------------------------------------------------------------------------

_SPEC_RE = re.compile(r"^([a-z0-9]+)(?:\[([a-z-]+)(\^?=)([^\]]*)\])?$")


def _element_matches(spec: str, use: Use) -> bool:
    match = _SPEC_RE.match(spec)
    if not match or match.group(1) != use.name:
        return False
    if match.group(2) is None:
        return True
    attrs = dict(use.attrs)
    value = attrs.get(match.group(2))
    if value is None:
        return False
    if match.group(3) == "^=":
        return value.strip().lower().startswith(match.group(4))
    return value.strip().lower() == match.group(4)


def _index(data: Data) -> dict[tuple[str, str], list[Feature]]:
    index: dict[tuple[str, str], list[Feature]] = {}
    for feature in data.features.values():
        for kind, names in feature.match.items():
            if kind == "values":
                continue
            for name in names:
                key = name.split("[", 1)[0] if kind == "element" else name
                index.setdefault((kind, key), []).append(feature)
    return index


def features_used(
    uses: Iterable[Use], data: Data, index: dict[tuple[str, str], list[Feature]] | None = None
) -> dict[str, list[Use]]:
    """Feature slug -> the uses that match it, in document order. `index` is `_index(data)`,
    for a caller that matches many documents against the same data."""
    index = index if index is not None else _index(data)
    found: dict[str, list[Use]] = {}
    for use in uses:
        for feature in index.get((use.kind, use.name), ()):
            if (
                use.kind == "property"
                and "values" in feature.match
                and not set(use.values) & set(feature.match["values"])
            ):
                continue
            if use.kind == "element" and not any(
                _element_matches(spec, use) for spec in feature.match["element"]
            ):
                continue
            found.setdefault(feature.slug, []).append(use)
    return found


@dataclass(frozen=True)
class Email:
    """One variant's HTML, and its issue blocks as (file line, HTML fragment) pairs."""

    variant: str
    html: str
    sources: Sequence[tuple[int, str]] = ()


def client_report(
    emails: Sequence[Email], clients: Sequence[str], data: Data | None = None
) -> ClientReport:
    """The report for the given client names (families or family/platform keys)."""
    data = data or caniemail.load()
    platforms = data.select(list(clients))
    merged: dict[str, FeatureUse] = {}
    index = _index(data)
    for email in emails:
        found = features_used(analyze(email.html), data, index)
        from_issue: dict[str, dict[int, int]] = {}  # slug -> issue line -> uses
        for line, fragment in email.sources:
            for slug, uses in features_used(analyze(fragment), data, index).items():
                from_issue.setdefault(slug, {})[line] = len(uses)
        for slug, uses in found.items():
            feature = data.features[slug]
            item = merged.setdefault(slug, FeatureUse(feature, impact(slug)))
            item.variants.append(email.variant)
            lines = from_issue.get(slug, {})
            item.lines = sorted(set(item.lines) | set(lines))
            if len(uses) > sum(lines.values()):
                item.template = True
            for use in uses:
                if use.where.place not in item.places and len(item.places) < 5:
                    item.places.append(use.where.place)
                if len(item.html_lines) < 5 and use.where.line not in item.html_lines:
                    item.html_lines.append(use.where.line)
            readers = {mso: [u for u in uses if u.where.seen_by(mso)] for mso in (False, True)}
            for platform in platforms:
                seen = readers[platform.reads_mso]
                if not seen:
                    continue
                verdict = feature.verdict(platform.key)
                fallback = None
                if verdict.support in (Support.NONE, Support.PARTIAL):
                    fallback = fallback_of(feature, seen, platform, data, found)
                previous = item.cells.get(platform.key)
                if previous is None or (previous.fallback is not None and fallback is None):
                    item.cells[platform.key] = Cell(verdict.support, verdict.notes, fallback)
    features = sorted(
        (f for f in merged.values() if f.cells), key=lambda f: (f.feature.category, f.feature.slug)
    )
    return ClientReport(platforms, features, data.source)
