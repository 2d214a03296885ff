"""The rule table of `postcli check` and the Finding every rule reports.

Every rule id is stable across releases; docs/checks.md describes each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from postcli.issues import Variant
from postcli.limits import GMAIL_CLIP_BYTES

LONG_SUBJECT_CHARS = 80
LARGE_IMAGE_BYTES = 1_000_000  # 1 MB
WIDE_IMAGE_PX = 1200  # twice the email's 600 px column
MIN_PASSAGE_CHARS = 12  # shorter premium fragments are too common to mean a leak
MAX_LEAKS_PER_VARIANT = 10  # beyond this, one summary finding: the cause is the same


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


# Every rule id, stable across releases, with its level. docs/checks.md describes each.
RULES: dict[str, Level] = {
    "premium-leak": Level.ERROR,
    "gmail-clip": Level.ERROR,
    "no-unsubscribe": Level.ERROR,
    "empty-subject": Level.ERROR,
    "unresolved-url": Level.ERROR,
    "javascript-link": Level.ERROR,
    "paywall-twice": Level.ERROR,
    "premium-in-free-audience": Level.ERROR,
    "init-placeholder": Level.ERROR,  # unless the provider is `file`
    "missing-alt": Level.WARNING,
    "long-subject": Level.WARNING,
    "no-preheader": Level.WARNING,
    "placeholder": Level.WARNING,
    "local-link": Level.WARNING,
    "large-image": Level.WARNING,
    "wide-image": Level.WARNING,
    "image-no-width": Level.WARNING,
    "client-support": Level.WARNING,
    "low-contrast": Level.WARNING,
    "unknown-string": Level.WARNING,
    "draft": Level.WARNING,
}

# Relative URL -> the workspace file it names, or None; and a file's size in bytes.
FindFile = Callable[[str], Path | None]
FileSize = Callable[[Path], int]


@dataclass(frozen=True)
class Finding:
    """One problem: how bad, which rule, what to do, and where it comes from."""

    level: Level
    rule: str
    message: str  # plain words: what is wrong, then what to do
    variant: Variant | None = None  # None: the issue as a whole, or every variant alike
    path: Path | None = None
    line: int | None = None

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.value,
            "rule": self.rule,
            "variant": self.variant.value if self.variant else None,
            "path": str(self.path) if self.path else None,
            "line": self.line,
            "message": self.message,
        }


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.level is Level.ERROR for f in findings)


def finding(rule: str, message: str, **where: Any) -> Finding:
    return Finding(RULES[rule], rule, message, **where)


def sorted_findings(findings: list[Finding]) -> list[Finding]:
    order = {None: 0, Variant.FREE: 1, Variant.PREMIUM: 2}
    return sorted(
        findings,
        key=lambda f: (order[f.variant], f.level is not Level.ERROR, f.line or 0, f.rule),
    )


def merge_variants(findings: list[Finding], checked: set[Variant]) -> list[Finding]:
    """A finding that every checked variant shares, word for word, is reported once."""
    if len(checked) < 2:
        return findings
    out: list[Finding] = []
    seen: dict[tuple[Any, ...], set[Variant | None]] = {}
    for f in findings:
        seen.setdefault((f.rule, f.message, f.path, f.line), set()).add(f.variant)
    for f in findings:
        variants = seen[(f.rule, f.message, f.path, f.line)]
        if variants >= checked:
            if f.variant is min(checked):
                out.append(Finding(f.level, f.rule, f.message, None, f.path, f.line))
        else:
            out.append(f)
    return out


__all__ = ["GMAIL_CLIP_BYTES"]
