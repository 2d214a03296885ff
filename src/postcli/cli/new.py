"""`postcli new TITLE [--date D] [--send-at T]`."""

from __future__ import annotations

from datetime import date

import typer

from postcli.cli._context import state


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date like 2026-12-01") from None


def new(
    ctx: typer.Context,
    title: str = typer.Argument(..., help="The issue's title."),
    day: str = typer.Option(None, "--date", help="The issue's date, YYYY-MM-DD (default: today)."),
    send_at: str = typer.Option(None, "--send-at", help="When to send, like '2026-12-01 09:00'."),
    slug: str = typer.Option(
        None, "--slug", help="The file name's slug (default: from the title)."
    ),
) -> None:
    """Create issues/DATE-slug.md from the issue template and print its path."""
    from postcli.workspace import NewIssue, new_issue

    request = NewIssue(title, _parse_date(day), send_at, slug)
    path = new_issue(state(ctx).settings(), request)
    typer.echo(str(path))
