"""`postcli build ISSUE [--out DIR] [--json]`."""

from __future__ import annotations

from pathlib import Path

import typer

from postcli.cli import _build
from postcli.cli._context import state


def build(
    ctx: typer.Context,
    issue: str = typer.Argument(..., help="The issue: a path or an id like 2026-12-01-slug."),
    out: Path = typer.Option(None, "--out", help="Write here instead of build/<id>/."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Render the free and premium variants to build/<id>/ (HTML, text, meta.json)."""
    _build.build(state(ctx), issue, out, as_json, typer.echo)
