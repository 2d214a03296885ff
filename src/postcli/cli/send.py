"""`postcli send ISSUE [--at T | --now] [--test ADDR] [--variant free|premium] [--dry-run] [--yes]
[--force] [--json]` and `postcli send --due [--dry-run] [--late-ok] [--json]`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import typer

from postcli.cli._context import State, print_json, state

if TYPE_CHECKING:
    from postcli.send import Plan, SendReport


def _progress(st: State) -> tuple[Any, Any]:
    """(callback, closer): a progress bar on a terminal, plain lines otherwise."""
    if st.quiet:
        return None, lambda: None
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        bar = Progress(
            TextColumn("{task.description:8}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        tasks: dict[str, Any] = {}

        def on_bar(variant: str, done: int, total: int) -> None:
            if variant not in tasks:
                bar.start()
                tasks[variant] = bar.add_task(variant, total=total)
            bar.update(tasks[variant], completed=done)

        return on_bar, bar.stop

    last: dict[str, int] = {}

    def on_line(variant: str, done: int, total: int) -> None:
        step = max(1, total // 10)
        if total and (done == total or done - last.get(variant, 0) >= step):
            last[variant] = done
            typer.echo(f"{variant}: {done}/{total}", err=True)

    return on_line, lambda: None


def plan_lines(plan: Plan) -> list[str]:
    """What will happen, one line per variant, for the prompt and for --dry-run."""
    from postcli.model import PlanAction
    from postcli.send.plan import show_time

    out = [f"{plan.issue.id} via {plan.provider.describe()}"]
    for v in plan.variants:
        subject = v.email.subject
        if v.action is PlanAction.ALREADY:
            out.append(f"  {v.variant:8} {v.reason}; nothing to do")
        elif v.action is PlanAction.TEST:
            out.append(f"  {v.variant:8} test copy to {plan.options.test}: [TEST] {subject}")
        else:
            when = show_time(v.at or plan.when, plan.settings)
            what = {
                PlanAction.SEND: "send now",
                PlanAction.RESUME: "resume the interrupted send",
                PlanAction.SCHEDULE: f"schedule for {when}",
                PlanAction.MOVE: f"change the provider's scheduled campaign: {v.reason}",
            }[v.action]
            if v.reason and v.action in (PlanAction.SEND, PlanAction.SCHEDULE):
                what += f" ({v.reason})"
            who = ""
            skipped = len(v.recipients) - v.pending
            if v.action is PlanAction.RESUME and plan.per_recipient and not skipped:
                # Nobody was reached before the cut-off: there is nothing to resume.
                what = "send now (an earlier run stopped before reaching anyone)"
            if plan.per_recipient and plan.provider_has_list:
                who = f" to {v.pending} subscriber{'s' if v.pending != 1 else ''}"
                if skipped and v.action is not PlanAction.SCHEDULE:
                    who += f" ({skipped} already sent, skipped)"
                if v.action is PlanAction.SCHEDULE:
                    who = f" ({len(v.recipients)} subscribers today)"
            out.append(f"  {v.variant:8} {what}{who}: {subject}")
    return out


def summary_lines(report: SendReport) -> list[str]:
    """What the run did, per variant, with the failures and the possibly duplicated."""
    from postcli.model import Outcome

    brief = (
        Outcome.ALREADY,
        Outcome.DRY_RUN,
        Outcome.SCHEDULED,
        Outcome.MOVED,
        Outcome.TEST,
        Outcome.BUSY,
    )
    out = []
    for v in report.variants:
        if v.action in brief or not v.total:
            out.append(f"{v.variant:8} {v.message}")
            continue
        parts = [f"{v.sent} sent", f"{v.skipped} skipped (sent before)", f"{v.failed} failed"]
        if v.possibly_duplicated:
            parts.append(f"{len(v.possibly_duplicated)} possibly delivered twice")
        out.append(f"{v.variant:8} {', '.join(parts)}")
        out += [f"  failed: {email}: {why}" for email, why in v.failures[:20]]
        if len(v.failures) > 20:
            out.append(f"  ... and {len(v.failures) - 20} more (postcli status --json)")
        out += [
            f"  possibly delivered twice (same Message-ID): {email}"
            for email in v.possibly_duplicated
        ]
    return out


def send(
    ctx: typer.Context,
    issue: str = typer.Argument(
        None, help="The issue: a path or an id like 2026-12-01-slug (not with --due)."
    ),
    due: bool = typer.Option(
        False, "--due", help="Send every issue whose time has come (for cron); never asks."
    ),
    late_ok: bool = typer.Option(
        False, "--late-ok", help="With --due: send issues later than the maximum lateness too."
    ),
    at: str = typer.Option(
        None, "--at", help="Send at this time ('2026-12-01 09:00', newsletter time zone; or '+2h')."
    ),
    now: bool = typer.Option(
        False, "--now", help="Send now, even if the issue has a later send_at."
    ),
    test: str = typer.Option(
        None, "--test", metavar="ADDR", help="Send a [TEST] copy to this one address only."
    ),
    variant: str = typer.Option(None, "--variant", help="Only this variant: free or premium."),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Do everything but send; print what would happen."
    ),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Do not ask for confirmation (needed without a terminal)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Send again what the ledger says was sent or scheduled."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Send the issue through the configured provider (the file outbox by default)."""
    from postcli.errors import UsageError
    from postcli.model import Variant
    from postcli.send import SendOptions, execute, plan_send

    st = state(ctx)
    if due:
        if issue or at or now or test or variant or force:
            raise UsageError(
                "--due sends whatever has come due; it takes no ISSUE, --at, --now, --test, "
                "--variant or --force",
                hint="run 'postcli send ISSUE ...' for one issue",
            )
        _send_due(st, dry_run=dry_run, late_ok=late_ok, as_json=as_json)
        return
    if late_ok:
        raise UsageError("--late-ok goes with --due")
    if not issue:
        raise UsageError("which issue?", hint="postcli send ISSUE, or postcli send --due")
    if at and now:
        raise UsageError("--at and --now exclude each other", hint="pick one")
    if variant is not None and variant not in tuple(Variant):
        raise UsageError(f"--variant '{variant}' is neither free nor premium")
    if test and (at or force):
        raise UsageError("--test sends one copy now; it takes neither --at nor --force")
    options = SendOptions(
        at=at,
        now=now,
        test=test,
        variant=Variant(variant) if variant else None,
        dry_run=dry_run,
        force=force,
    )
    plan = plan_send(st.settings(), issue, options)
    for note in plan.notes:
        st.say(note)
    if not plan.nothing_to_do:  # otherwise the summary below says it
        for line in plan_lines(plan):
            st.say(line)
    if plan.needs_confirmation and not yes:
        if not sys.stdin.isatty():
            raise UsageError(
                "no terminal to confirm the send on", hint="pass --yes to send without asking"
            )
        if not typer.confirm("Send?", default=False, err=True):
            st.say("Nothing sent.")
            return
    on_progress, stop = _progress(st)
    try:
        report = execute(plan, progress=on_progress)
    finally:
        stop()
    if as_json:
        print_json(report.to_json())
    else:
        for line in summary_lines(report):
            typer.echo(line)
    if report.error is not None:
        raise report.error
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _send_due(st: State, *, dry_run: bool, late_ok: bool, as_json: bool) -> None:
    from postcli.due import run_due

    on_progress, stop = _progress(st)
    try:
        report = run_due(st.settings(), late_ok=late_ok, dry_run=dry_run, progress=on_progress)
    finally:
        stop()
    if as_json:
        print_json(report.to_json())
    else:
        for item in report.items:
            typer.echo(f"{item.issue_id} {item.variant:8} {item.outcome:9} {item.message}".rstrip())
        if not report.items:
            waiting = f"; {report.waiting} scheduled for later" if report.waiting else ""
            st.say(f"nothing is due{waiting}")
    if report.exit_code:
        raise typer.Exit(report.exit_code)
