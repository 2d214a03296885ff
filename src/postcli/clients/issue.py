"""An issue and its rendered emails -> the client support report, and plain check's warnings.

The one module of postcli.clients that knows an Issue: it renders each top-level block of a
variant's body on its own (the same renderer `build` uses, content CSS not inlined), so the
report can say which issue line a feature comes from; whatever the email uses beyond those
blocks comes from the template (the MJML, the content CSS, the upgrade block and footer).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from postcli.clients.report import ClientReport, Email, client_report, plain_note

if TYPE_CHECKING:
    from postcli.config import Settings
    from postcli.issues import Issue
    from postcli.markdown import Token
    from postcli.model import Variant
    from postcli.render import RenderedEmail


def block_sources(issue: Issue, settings: Settings, variant: Variant) -> list[tuple[int, str]]:
    """(file line, HTML) for each top-level block the variant's body keeps."""
    from postcli.render import body as md
    from postcli.render import make_resolver

    body = md.parse_variant(issue, variant)
    resolve = make_resolver(issue, settings)
    groups: list[list[Token]] = []
    depth = 0
    for token in body.tokens:
        if token.type.startswith("container_"):
            continue  # a ::: block's own wrapper; its blocks count one by one
        if depth == 0:
            groups.append([])
        groups[-1].append(token)
        depth += token.nesting
    out = []
    for group in groups:
        first = next((t for t in group if t.map), None)
        if first is None:
            continue
        part = md.Body(variant=body.variant, tokens=group, env=body.env, cut=body.cut)
        out.append((issue.line_of(first), md.body_html(part, resolve)))
    return out


def issue_report(
    issue: Issue, emails: Mapping[Variant, RenderedEmail], settings: Settings
) -> ClientReport:
    return client_report(
        [
            Email(variant.value, email.html, block_sources(issue, settings, variant))
            for variant, email in emails.items()
        ],
        settings.check.clients,
    )


def warnings(report: ClientReport, checked: int) -> list[tuple[str | None, int | None, str]]:
    """(variant or None for all, issue line or None, message) for each feature that matters
    and that a family's platforms do not support, with no fallback in the email; `checked` is
    how many variants the report covers."""
    out = []
    for use, _family, platforms in report.unsupported():
        names = ", ".join(p.name for p in platforms)
        family_name = platforms[0].family_name
        notes = sorted({n for p in platforms for n in use.cells[p.key].notes}, key=_number)
        why = "; ".join(f"note {n}: {plain_note(use.note(n))}" for n in notes)
        message = (
            f"{use.feature.title} ({use.impact}, from {use.origin}) is not supported by "
            f"{family_name} ({names}){' (' + why + ')' if why else ''}; readers there get the "
            "email without it: give it a fallback (docs/checks.md lists those postcli "
            "recognises) or take the client out of [check] clients"
        )
        variant = use.variants[0] if len(use.variants) == 1 and checked > 1 else None
        out.append((variant, use.lines[0] if use.lines else None, message))
    return out


def _number(note: str) -> tuple[int, str]:
    return (int(note), "") if note.isdigit() else (1 << 30, note)
