"""`postcli unschedule ISSUE [--variant free|premium]`."""

from __future__ import annotations

import typer

from postcli.cli._context import state


def unschedule(
    ctx: typer.Context,
    issue: str = typer.Argument(..., help="The issue: a path or an id like 2026-12-01-slug."),
    variant: str = typer.Option(None, "--variant", help="Only this variant: free or premium."),
) -> None:
    """Cancel a scheduled send and hold the issue until 'postcli send ISSUE' runs again."""
    from postcli.errors import UsageError
    from postcli.model import Variant
    from postcli.unschedule import unschedule as unschedule_core

    if variant is not None and variant not in tuple(Variant):
        raise UsageError(f"--variant '{variant}' is neither free nor premium")
    st = state(ctx)
    results = unschedule_core(st.settings(), issue, Variant(variant) if variant else None)
    for result in results:
        typer.echo(f"{result.variant:8} {result.message}")
    st.say("'postcli send --due' leaves it alone until you run 'postcli send ISSUE' again")
