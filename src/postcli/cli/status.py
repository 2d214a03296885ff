"""`postcli status [ISSUE] [--json]`: what the ledger says was sent, scheduled or failed."""

from __future__ import annotations

from pathlib import Path

import typer

from postcli.cli._context import print_json, state


def _issue_id(arg: str) -> str:
    """ISSUE as a path or an id; a deleted issue file still has its history."""
    return Path(arg).stem if arg.endswith(".md") else arg


def status(
    ctx: typer.Context,
    issue: str = typer.Argument(None, help="Only this issue (a path or an id)."),
    as_json: bool = typer.Option(False, "--json", help="Print the ledger's rows as JSON."),
) -> None:
    """Show what was sent, scheduled or failed; exit 1 when a send failed or is overdue."""
    from postcli.ledger import status_rows
    from postcli.model import Mode, SendStatus
    from postcli.times import utc_now

    st = state(ctx)
    settings = st.settings()
    issue_id = _issue_id(issue) if issue else None
    now = utc_now()
    rows = status_rows(settings.state_dir, issue_id, now)
    problems = [row for row in rows if row.problem]
    if as_json:
        print_json(
            {
                "issue": issue_id,
                "sends": [row.to_json() for row in rows if row.send.mode is Mode.LIVE],
                "tests": [row.to_json() for row in rows if row.send.mode is Mode.TEST],
                "problems": len(problems),
            }
        )
    elif not rows:
        st.say(f"nothing sent, scheduled or failed{' for ' + issue_id if issue_id else ''} yet")
    else:
        tz = settings.newsletter.tz
        table = [("ISSUE", "VARIANT", "PROVIDER", "STATUS", "WHEN", "RECIPIENTS", "NOTE")]
        for row in rows:
            send = row.send
            when = (
                send.sent_at
                if send.status is SendStatus.SENT
                else send.scheduled_for or send.updated_at
            )
            counts = row.counts
            recipients = ""
            if counts.total:
                recipients = f"{counts.sent}/{counts.total}"
                if counts.failed:
                    recipients += f", {counts.failed} failed"
            notes = []
            if send.mode is Mode.TEST:
                notes.append(f"test to {send.target}")
            if row.possibly_duplicated:
                notes.append(f"{len(row.possibly_duplicated)} possibly delivered twice")
            if send.remote_id:
                notes.append(f"remote {send.remote_id}")
            if send.error and send.status is SendStatus.FAILED:
                notes.append(send.error.splitlines()[0])
            table.append(
                (
                    send.issue_id,
                    send.variant,
                    send.provider,
                    row.state,
                    when.astimezone(tz).strftime("%Y-%m-%d %H:%M") if when else "",
                    recipients,
                    "; ".join(notes),
                )
            )
        from postcli.render.text import display_width  # Hangul ids take two columns each

        widths = [max(display_width(r[i]) for r in table) for i in range(len(table[0]) - 1)]
        for r in table:
            cells = [c + " " * (w - display_width(c)) for c, w in zip(r, widths, strict=False)]
            typer.echo(("  ".join(cells) + "  " + r[-1]).rstrip())
        for row in rows:
            for email in row.possibly_duplicated:
                typer.echo(
                    f"{row.send.issue_id} {row.send.variant}: possibly delivered twice: {email}"
                )
    if problems:
        raise typer.Exit(1)
