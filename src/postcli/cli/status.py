"""`postcli status [ISSUE] [--json]`: every issue with a send_at or a ledger record, per variant,
with its state, its time, the provider, the recipients done and what cron will do next; the
rows of the planner `send --due` acts on (`postcli.agenda`). The `--json` shape is in
docs/sending.md."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from postcli.cli._context import print_json, state

if TYPE_CHECKING:
    from postcli.agenda import Agenda
    from postcli.config import Settings
    from postcli.ledger import SendRecord
    from postcli.schedule import Row


def _issue_id(arg: str) -> str:
    """ISSUE as a path or an id; a deleted issue file still has its history."""
    return Path(arg).stem if arg.endswith(".md") else arg


def _local(moment: Any, settings: Settings) -> str:
    if moment is None:
        return ""
    return str(moment.astimezone(settings.newsletter.tz).strftime("%Y-%m-%d %H:%M"))


def _row_json(row: Row, agenda: Agenda, settings: Settings) -> dict[str, Any]:
    from postcli.times import iso_or_none

    record = agenda.records.get(row.key)
    counts = agenda.counts.get(record.id) if record else None
    recipients = None
    if counts is not None and counts.total:
        recipients = {"done": counts.sent, **counts.to_json()}
    return {
        "issue": row.issue_id,
        "variant": row.variant,
        "title": row.title,
        "state": row.state,
        "at": iso_or_none(row.at),
        "local_time": _local(row.at, settings) or None,
        "provider": row.provider,
        "recipients": recipients,
        "cron": row.cron,
        "next": row.note,
        "problem": row.problem,
        "error": row.error,
        "remote_id": record.remote_id if record else None,
        "status": record.status if record else None,  # the ledger's word, when it has one
        "scheduled_for": iso_or_none(record.scheduled_for) if record else None,
        "sent_at": iso_or_none(record.sent_at) if record else None,
        "possibly_duplicated": agenda.duplicated.get(record.id, []) if record else [],
    }


def _record_json(record: SendRecord, agenda: Agenda) -> dict[str, Any]:
    counts = agenda.counts.get(record.id)
    return {
        **record.to_json(),
        "state": record.status,
        "recipients": counts.to_json() if counts and counts.total else None,
    }


def status(
    ctx: typer.Context,
    issue: str = typer.Argument(None, help="Only this issue (a path or an id)."),
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
) -> None:
    """Show every scheduled, sent or failed issue per variant, and what cron will do next;
    exit 1 when one is failed, overdue or stale."""
    from postcli import providers
    from postcli.agenda import gather
    from postcli.issues.paths import resolve_issue_path
    from postcli.model import Mode, SendStatus
    from postcli.providers.base import is_self_gated
    from postcli.send.plan import schedules_natively
    from postcli.times import utc_now

    st = state(ctx)
    settings = st.settings()
    provider = providers.create(settings)
    agenda = gather(
        settings,
        utc_now(),
        provider=provider.name,
        native=schedules_natively(provider),
        self_gated=is_self_gated(provider),
    )
    issue_id = _issue_id(issue) if issue else None
    rows = [r for r in agenda.rows if issue_id in (None, r.issue_id)]
    others = [r for r in agenda.others + agenda.orphans if issue_id in (None, r.issue_id)]
    if issue is not None and issue_id not in agenda.issues and not rows and not others:
        resolve_issue_path(issue, settings.issues_dir)  # an unknown ISSUE: exit 1, near ids
    tests = [r for r in others if r.mode is Mode.TEST]
    history = [r for r in others if r.mode is Mode.LIVE]
    failed = [r for r in history if r.status is SendStatus.FAILED or r in agenda.orphans]
    problems = [r.key for r in rows if r.problem] + [(r.issue_id, r.variant) for r in failed]
    if as_json:
        print_json(
            {
                "issue": issue_id,
                "timezone": str(settings.newsletter.tz),
                "sends": [_row_json(r, agenda, settings) for r in rows],
                "other_sends": [_record_json(r, agenda) for r in history],
                "tests": [_record_json(r, agenda) for r in tests],
                "problems": len(problems),
            }
        )
    elif not rows and not others:
        where = f" for {issue_id}" if issue_id else ""
        st.say(f"nothing scheduled, sent or failed{where}, and no issue has a send_at")
    else:
        _print_table(rows, history + tests, agenda, settings)
    if problems:
        raise typer.Exit(1)


def _print_table(
    rows: list[Row], others: list[SendRecord], agenda: Agenda, settings: Settings
) -> None:
    from postcli.model import Mode
    from postcli.render.text import display_width  # Hangul takes two columns a character

    table = [("ISSUE", "VARIANT", "STATE", "WHEN", "PROVIDER", "RECIPIENTS", "NEXT")]
    for row in rows:
        record = agenda.records.get(row.key)
        counts = agenda.counts.get(record.id) if record else None
        recipients = f"{row.done}/{row.total}" if row.total else ""
        if counts is not None and counts.failed:
            recipients += f", {counts.failed} failed"
        note = row.note
        if row.error:
            note = f"{note}: {row.error.splitlines()[0]}"
        table.append(
            (
                row.issue_id,
                row.variant,
                row.state,
                _local(row.at, settings),
                row.provider,
                recipients,
                note,
            )
        )
    for record in others:
        when = record.sent_at or record.scheduled_for or record.updated_at
        what = f"test to {record.target}" if record.mode is Mode.TEST else ""
        if record in agenda.orphans:
            what = "scheduled, but the issue file is missing or cannot be read"
        table.append(
            (
                record.issue_id,
                str(record.variant),
                str(record.status),
                _local(when, settings),
                record.provider,
                "",
                "; ".join(filter(None, [what, (record.error or "").partition("\n")[0]])),
            )
        )
    widths = [max(display_width(r[i]) for r in table) for i in range(len(table[0]) - 1)]
    for r in table:
        cells = [c + " " * (w - display_width(c)) for c, w in zip(r, widths, strict=False)]
        typer.echo(("  ".join(cells) + "  " + r[-1]).rstrip())
    for row in rows:
        record = agenda.records.get(row.key)
        for email in agenda.duplicated.get(record.id, []) if record else []:
            typer.echo(f"{row.issue_id} {row.variant}: possibly delivered twice: {email}")
