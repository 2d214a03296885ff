"""The email-client report as text: what `postcli check --clients` and the preview print."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from postcli.data import Platform, Support

if TYPE_CHECKING:
    from postcli.clients.report import ClientReport


def format_table(report: ClientReport, *, top: int = 8) -> str:
    """The client x support counts and the features to fix, as `check --clients` prints."""
    rows = report.rows()
    width = max([len(r.platform.label) for r in rows] + [6])
    lines = [
        f"{'client':<{width}}  {'full':>5}  {'partly':>6}  {'not':>4}  {'unknown':>7}"
        "  with fallback",
    ]
    for row in rows:
        lines.append(
            f"{row.platform.label:<{width}}  {row.full:>5}  {row.partial:>6}  {row.none:>4}"
            f"  {row.unknown:>7}  {row.covered:>13}"
        )
    fixes = report.to_fix(top)
    if not fixes:
        lines += ["", "nothing to fix: every feature partly or not supported has a fallback"]
        return "\n".join(lines)
    lines += ["", "features to fix (no fallback in the email):"]
    for use in fixes:
        problems = use.problems()
        label = f"{use.feature.title} [{use.feature.slug}]"
        what = f", {use.impact}" if use.impact else ""
        lines.append(f"  {label} from {use.origin}{what}")
        for support in (Support.NONE, Support.PARTIAL):
            keys = [k for k, c in problems.items() if c.support is support]
            if not keys:
                continue
            word = "not supported" if support is Support.NONE else "partly supported"
            lines.append(f"    {word}: {platform_names(report.platforms, keys)}")
            notes = sorted({n for k in keys for n in problems[k].notes}, key=_note_order)
            for number in notes:
                lines.append(f"      note {number}: {use.note(number)}")
    more = len(report.to_fix(None)) - len(fixes)
    if more > 0:
        lines.append(f"  and {more} more (--json lists them all)")
    return "\n".join(lines)


def platform_names(platforms: Sequence[Platform], keys: Iterable[str]) -> str:
    """ "Gmail (Android, iOS), Outlook (all 6)": the platforms of `keys`, by family."""
    wanted = set(keys)
    families: dict[str, list[Platform]] = {}
    for platform in platforms:
        families.setdefault(platform.family, []).append(platform)
    parts = []
    for members in families.values():
        chosen = [p for p in members if p.key in wanted]
        if not chosen:
            continue
        if len(members) == 1:
            parts.append(chosen[0].label)
        elif len(chosen) == len(members):
            parts.append(f"{chosen[0].family_name} (all {len(members)})")
        else:
            parts.append(f"{chosen[0].family_name} ({', '.join(p.name for p in chosen)})")
    return ", ".join(parts)


def _note_order(number: str) -> tuple[int, str]:
    return (int(number), "") if number.isdigit() else (1 << 30, number)
