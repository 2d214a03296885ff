"""`postcli preview ISSUE [--port N] [--host H] [--no-open]`."""

from __future__ import annotations

import typer

from postcli.cli._context import state

DEFAULT_PORT = 8765


def preview(
    ctx: typer.Context,
    issue: str = typer.Argument(..., help="The issue: a path or an id like 2026-12-01-slug."),
    port: int = typer.Option(
        DEFAULT_PORT, "--port", help="Port to serve on; a free one is used if it is taken."
    ),
    host: str = typer.Option(
        "127.0.0.1", "--host", help="Address to serve on. Anything but 127.0.0.1 shares drafts."
    ),
    no_open: bool = typer.Option(False, "--no-open", help="Do not open a browser."),
) -> None:
    """Serve a live preview: free and premium side by side, rebuilt on every save."""
    import webbrowser

    from postcli.issues import resolve_issue_path
    from postcli.net import is_loopback_host
    from postcli.preview import start
    from postcli.preview.app import run_until_interrupted

    st = state(ctx)
    root = st.root()
    # Only the issue has to exist to start; a broken issue, config or template shows in the page.
    issue_path = resolve_issue_path(issue, root / "issues")
    running = start(root, issue_path, host=host, port=port)
    if running.port_changed:
        st.say(f"Port {port} is taken; using {running.server.port}.")
    if not is_loopback_host(host):
        st.say(f"Warning: serving on {host}: anyone who can reach it sees the premium edition.")
    error = running.session.state()["error"]
    if error:
        where = f"{error['location']}: " if error["location"] else ""
        st.say(f"Build failed: {where}{error['message']} (the page shows it until it is fixed)")
    st.say(f"Previewing {issue_path.stem} (Ctrl-C to stop)")
    typer.echo(running.url)
    if not no_open:
        webbrowser.open(running.url)
    run_until_interrupted(running.wait, running.stop)
    st.say("Preview stopped.")
