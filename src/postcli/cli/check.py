"""`postcli check ISSUE [--json] [--clients]`: the pre-flight checks, grouped by variant."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from postcli.cli._context import print_json, state
from postcli.errors import ExitCode
from postcli.model import Variant

if TYPE_CHECKING:
    from postcli.check import Finding, Report
    from postcli.clients.report import ClientReport
    from postcli.config import Settings

_GROUPS = (
    (None, "every variant"),
    (Variant.FREE, "free variant"),
    (Variant.PREMIUM, "premium variant"),
)


def check(
    ctx: typer.Context,
    issue: str = typer.Argument(..., help="The issue: a path or an id like 2026-12-01-slug."),
    as_json: bool = typer.Option(False, "--json", help="Print the findings as JSON."),
    clients: bool = typer.Option(
        False, "--clients", help="Also show how the [check] clients support the email's HTML/CSS."
    ),
) -> None:
    """Run the pre-flight checks; exit 1 if any finding is an error (warnings alone pass)."""
    from postcli.check import check_issue

    settings = state(ctx).settings()
    report = check_issue(settings, issue, unsubscribe_url=_unsubscribe_tag(settings))
    support = _client_report(report, settings) if clients else None
    if as_json:
        data = report.as_dict(display_path)
        if support is not None:
            data["clients"] = support.as_dict()
        print_json(data)
    else:
        typer.echo(format_report(report))
        if support is not None:
            from postcli.clients.report import format_table

            typer.echo(f"\nemail clients ([check] clients):\n{format_table(support)}")
    if report.has_errors:
        raise typer.Exit(int(ExitCode.INPUT))


def _client_report(report: Report, settings: Settings) -> ClientReport:
    from postcli.clients.issue import issue_report

    return issue_report(report.issue, report.emails, settings)


def _unsubscribe_tag(settings: Settings) -> str | None:
    """The configured provider's unsubscribe merge tag, as `send` would render with; None for
    providers that use newsletter.unsubscribe_url, or one that cannot be loaded (then `send`
    says why)."""
    from postcli import providers
    from postcli.errors import ConfigError

    try:
        cls = providers.provider_class(settings.provider, settings)
    except ConfigError:
        return None
    tag = getattr(cls, "unsubscribe_tag", None)
    return tag if isinstance(tag, str) else None


def display_path(path: Path) -> str:
    """The path relative to the current folder when it is below it, else as it is."""
    try:
        return os.path.relpath(path) if path.resolve().is_relative_to(Path.cwd()) else str(path)
    except (OSError, ValueError):
        return str(path)


def format_report(report: Report) -> str:
    variants = " and ".join(v.value for v in report.emails) or "no variant"
    lines = [f"{report.issue.id}: checked {variants}"]
    for key, title in _GROUPS:
        group = [f for f in report.findings if f.variant == key]
        if group:
            lines += ["", f"{title}:"]
            lines += [_format_finding(f) for f in group]
    errors, warnings = report.errors, report.warnings
    summary = f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"
    if errors:
        summary += ": fix the errors before sending"
    elif warnings:
        summary += ": ready to send, but have a look at the warnings"
    else:
        summary += ": ready to send"
    lines += ["", summary]
    return "\n".join(lines)


def _format_finding(finding: Finding) -> str:
    where = ""
    if finding.path is not None:
        where = display_path(finding.path) + (f":{finding.line}" if finding.line else "")
        where += ": "
    return f"  {finding.level.value:7} {where}{finding.message} [{finding.rule}]"
