"""`postcli init [DIR]`."""

from __future__ import annotations

from pathlib import Path

import typer

from postcli.cli._context import state


def init(
    ctx: typer.Context,
    folder: Path = typer.Argument(Path("."), help="Where to create the workspace (default: here)."),
    name: str = typer.Option("My Newsletter", "--name", help="The newsletter's name."),
    lang: str = typer.Option("en", "--lang", help="Language of the emails: en, ko, ..."),
    timezone: str = typer.Option("UTC", "--timezone", help="IANA time zone for send times."),
) -> None:
    """Scaffold a workspace: postcli.toml, issues/, templates/, assets/, .gitignore."""
    from postcli.workspace import init_workspace

    created = init_workspace(folder, name=name, lang=lang, timezone=timezone)
    st = state(ctx)
    for path in created:
        st.say(f"created {path}")
    st.say("next: postcli new 'Title of the first issue'")
