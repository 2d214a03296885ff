"""`postcli cron [--every 5m] [--install]`."""

from __future__ import annotations

import typer

from postcli.cli._context import state


def cron(
    ctx: typer.Context,
    every: str = typer.Option("5m", "--every", help="How often: 1m, 5m, 15m, 1h, ..."),
    install: bool = typer.Option(False, "--install", help="Add the line to your crontab."),
) -> None:
    """Print (or install) the crontab line that runs `postcli send --due`."""
    from postcli import cron as cron_core
    from postcli.errors import UsageError

    st = state(ctx)
    root = st.root()
    (root / ".postcli").mkdir(exist_ok=True)  # the log file's folder, before cron first runs
    try:
        line = cron_core.cron_line(root, every)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    if not install:
        typer.echo(line)
        return
    changed = cron_core.install(line, root)
    typer.echo(line)
    st.say("installed in your crontab" if changed else "already in your crontab; nothing to do")
