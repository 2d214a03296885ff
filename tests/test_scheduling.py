"""Scheduling an editor can see and steer: drafts, the one planner behind `status` and
`send --due`, local schedules that follow the file, holds (`postcli unschedule`), and the
status table and its JSON."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from helpers.send import configure, parse, parts, write_subscribers
from postcli import schedule
from postcli.config import load as load_settings
from postcli.due import run_due
from postcli.ledger import Ledger
from postcli.model import CronAction, ScheduleState, SendStatus, Variant

NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
FREE, PREMIUM = Variant.FREE, Variant.PREMIUM

DRAFT_ISSUE = """---
title: "{title}"
preheader: A test issue
send_at: {send_at}
{draft}---
Hello, everyone: {marker}.

<!-- paywall -->

Premium only.
"""


def write(root: Path, issue_id: str, send_at: datetime, *, draft: bool = False, marker: str = "v1"):  # type: ignore[no-untyped-def]
    path = root / "issues" / f"{issue_id}.md"
    path.write_text(
        DRAFT_ISSUE.format(
            title=issue_id,
            send_at=send_at.isoformat(timespec="minutes"),
            draft="draft: true\n" if draft else "",
            marker=marker,
        ),
        encoding="utf-8",
    )
    return path


def fresh(root: Path) -> Path:
    """A workspace with only the issues a test writes."""
    for path in (root / "issues").glob("*.md"):
        path.unlink()
    return root


# --- the planner, from a table of (issue, ledger, now) ---------------------------------------

TIMING = schedule.Timing("file", native=False, max_lateness=timedelta(hours=24))
NATIVE = schedule.Timing("buttondown", native=True, max_lateness=timedelta(hours=24))
Facts = schedule.LedgerFacts

CASES: list[tuple[str, schedule.Timing, datetime | None, bool, Facts | None, bool, Any]] = [
    # name, timing, send_at, draft, ledger facts, held -> (state, cron)
    ("no time, no record", TIMING, None, False, None, False, None),
    ("upcoming", TIMING, NOW + HOUR, False, None, False, ("upcoming", "wait")),
    ("due now", TIMING, NOW - timedelta(minutes=3), False, None, False, ("due", "send")),
    ("overdue", TIMING, NOW - 2 * HOUR, False, None, False, ("overdue", "send")),
    ("stale", TIMING, NOW - 30 * HOUR, False, None, False, ("stale", "skip")),
    ("draft", TIMING, NOW - HOUR, True, None, False, ("draft", "skip")),
    ("draft without time", TIMING, None, True, None, False, None),
    ("held", TIMING, NOW - HOUR, False, None, True, ("held", "none")),
    (
        "sent",
        TIMING,
        NOW - HOUR,
        False,
        Facts(SendStatus.SENT, sent_at=NOW),
        False,
        ("sent", "none"),
    ),
    (
        "local schedule follows the file's later send_at",
        TIMING,
        NOW + HOUR,
        False,
        Facts(SendStatus.SCHEDULED, scheduled_for=NOW - timedelta(minutes=1)),
        False,
        ("upcoming", "wait"),
    ),
    (
        "local schedule from --at, no send_at",
        TIMING,
        None,
        False,
        Facts(SendStatus.SCHEDULED, scheduled_for=NOW - timedelta(minutes=1)),
        False,
        ("due", "send"),
    ),
    (
        "on the provider",
        NATIVE,
        NOW + HOUR,
        False,
        Facts(SendStatus.SCHEDULED, scheduled_for=NOW + HOUR, remote_id="e1"),
        False,
        ("scheduled", "none"),
    ),
    (
        "running",
        TIMING,
        NOW - HOUR,
        False,
        Facts(SendStatus.SENDING, running=True, total=4, done=1),
        False,
        ("sending", "none"),
    ),
    (
        "interrupted, time come",
        TIMING,
        NOW - timedelta(minutes=2),
        False,
        Facts(SendStatus.SENDING, total=4, done=1),
        False,
        ("interrupted", "send"),
    ),
    (
        "interrupted batch, every message in flight",
        TIMING,
        NOW - timedelta(minutes=2),
        False,
        Facts(SendStatus.SENDING, total=26, done=0),
        False,
        ("interrupted", "send"),
    ),
    (
        "interrupted, no time of its own",
        TIMING,
        None,
        False,
        Facts(SendStatus.SENDING, total=26, done=10),
        False,
        ("interrupted", "none"),
    ),
    (
        "interrupted, before its time",
        TIMING,
        NOW + HOUR,
        False,
        Facts(SendStatus.PENDING, total=4, done=0),
        False,
        ("interrupted", "wait"),
    ),
    (
        "interrupted, past max_lateness: cron will not finish it",
        TIMING,
        NOW - 30 * HOUR,
        False,
        Facts(SendStatus.SENDING, total=4, done=1),
        False,
        ("stale", "skip"),
    ),
    (
        "failed, retried",
        TIMING,
        NOW - timedelta(minutes=2),
        False,
        Facts(SendStatus.FAILED, error="550"),
        False,
        ("failed", "send"),
    ),
    (
        "held, but the cancel on the provider never finished",
        NATIVE,
        NOW + HOUR,
        False,
        Facts(SendStatus.SCHEDULED, scheduled_for=NOW + HOUR, remote_id="e1"),
        True,
        ("scheduled", "none"),
    ),
    (
        "sent wins over draft and hold",
        TIMING,
        NOW - HOUR,
        True,
        Facts(SendStatus.SENT, sent_at=NOW),
        True,
        ("sent", "none"),
    ),
]


@pytest.mark.parametrize(
    ("timing", "send_at", "draft", "facts", "held", "wanted"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_the_planner_gives_each_case_its_state_and_cron_action(
    timing: schedule.Timing,
    send_at: datetime | None,
    draft: bool,
    facts: Facts | None,
    held: bool,
    wanted: Any,
) -> None:
    issue = schedule.IssueTimes("i", (FREE,), send_at, draft)
    ledger = {("i", FREE): facts} if facts else {}
    rows = schedule.plan([issue], ledger, {("i", FREE)} if held else set(), NOW, timing)
    if wanted is None:
        assert rows == []
        return
    (row,) = rows
    assert (row.state, row.cron) == (ScheduleState(wanted[0]), CronAction(wanted[1]))
    assert row.problem == (row.state in ("failed", "overdue", "stale"))
    assert row.note


def test_status_is_exactly_what_send_due_does(workspace: Path, run_cli: Callable[..., Any]) -> None:
    """One workspace holding every case; status --json and send --due --dry-run agree row by
    row, and a real send --due then sends exactly the rows status said it would."""
    root = fresh(workspace)
    real_now = datetime.now(UTC)
    write(root, "2026-11-01-upcoming", real_now + 3 * HOUR)
    write(root, "2026-11-02-due", real_now - timedelta(minutes=2))
    write(root, "2026-11-03-overdue", real_now - 2 * HOUR)
    write(root, "2026-11-04-stale", real_now - 50 * HOUR)
    write(root, "2026-11-05-draft", real_now - timedelta(minutes=2), draft=True)
    write(root, "2026-11-06-sent", real_now - timedelta(minutes=2))
    write(root, "2026-11-07-held", real_now - timedelta(minutes=2))
    with Ledger.open(root / ".postcli") as ledger:
        for variant in (FREE, PREMIUM):
            record = ledger.begin("2026-11-06-sent", variant, "file", content_hash="h")
            ledger.set_status(record.id, SendStatus.SENT)
            ledger.hold("2026-11-07-held", variant, "file")
    status = run_cli("-C", root, "status", "--json")
    assert status.exit_code == 1  # overdue and stale
    rows = json.loads(status.stdout)["sends"]
    states = {(r["issue"][11:], r["variant"]): (r["state"], r["cron"]) for r in rows}
    assert {k[0]: v for k, v in states.items() if k[1] == "free"} == {
        "upcoming": ("upcoming", "wait"),
        "due": ("due", "send"),
        "overdue": ("overdue", "send"),
        "stale": ("stale", "skip"),
        "draft": ("draft", "skip"),
        "sent": ("sent", "none"),
        "held": ("held", "none"),
    }
    assert all(states[(k, "free")] == states[(k, "premium")] for k, _ in states)
    to_send = {(r["issue"], r["variant"]) for r in rows if r["cron"] == "send"}

    dry = run_cli("-C", root, "send", "--due", "--dry-run", "--json")
    items = json.loads(dry.stdout)["items"]
    assert {(i["issue"], i["variant"]) for i in items if i["outcome"] == "dry-run"} == to_send
    skipped = {(i["issue"], i["variant"], i["outcome"]) for i in items if i["outcome"] != "dry-run"}
    assert skipped == {
        (f"2026-11-0{n}-{what}", v, what)
        for n, what in ((4, "stale"), (5, "draft"))
        for v in ("free", "premium")
    }

    real = run_cli("-C", root, "send", "--due", "--json")
    done = {
        (i["issue"], i["variant"])
        for i in json.loads(real.stdout)["items"]
        if i["outcome"] == "sent"
    }
    assert done == to_send
    outbox = {p.relative_to(root / "outbox").parts[0] for p in (root / "outbox").rglob("*.eml")}
    assert outbox == {issue for issue, _ in to_send}


# --- drafts --------------------------------------------------------------------------------


def test_new_writes_a_draft_that_send_refuses_naming_the_line(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    made = run_cli("-C", workspace, "new", "초안", "--send-at", "2026-11-30 09:00")
    assert made.exit_code == 0, made.output
    path = Path(made.stdout.strip())
    lines = path.read_text("utf-8").split("\n")
    line = next(n for n, text in enumerate(lines, 1) if text.startswith("draft: true"))

    refused = run_cli("-C", workspace, "send", path, "--yes", "--now")
    assert refused.exit_code == 1
    assert f"{path.name}:{line}:" in refused.stderr and "draft" in refused.stderr
    assert "delete that line" in refused.stderr and "Traceback" not in refused.output
    assert not (workspace / "outbox").exists()

    test = run_cli("-C", workspace, "send", path, "--test", "me@example.net", "--variant", "free")
    assert test.exit_code == 0, test.output
    assert len(list((workspace / "outbox").rglob("*.eml"))) == 1

    check = run_cli("-C", workspace, "check", path, "--json")
    drafts = [f for f in json.loads(check.stdout)["findings"] if f["rule"] == "draft"]
    assert [(f["level"], f["line"]) for f in drafts] == [("warning", line)]

    status = run_cli("-C", workspace, "status", path.stem)
    assert "draft" in status.stdout and status.exit_code == 0

    path.write_text("\n".join(t for t in lines if not t.startswith("draft:")), "utf-8")
    assert "draft" not in run_cli("-C", workspace, "status", path.stem).stdout.split()


def test_bad_draft_values_are_refused_with_their_line(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    path = write(fresh(workspace), "2026-11-09-bad", NOW)
    text = path.read_text("utf-8").replace("send_at:", "draft: maybe\nsend_at:")
    path.write_text(text, "utf-8")
    result = run_cli("-C", workspace, "build", path)
    assert result.exit_code == 1 and f"{path.name}:4:" in result.stderr
    assert "'draft' must be true or false" in result.stderr


def test_ten_concurrent_send_due_runs_never_send_a_draft(workspace: Path) -> None:
    root = fresh(workspace)
    past = datetime.now(UTC) - timedelta(minutes=2)
    write(root, "2026-11-10-ready", past)
    for n in range(3):
        write(root, f"2026-11-1{n + 1}-draft", past, draft=True)
    write_subscribers(root, 6)
    configure(root, '[providers.file]\nsubscribers = "subscribers.csv"')
    command = [sys.executable, "-m", "postcli", "-C", str(root), "send", "--due", "--json"]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(10)
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    folders = {p.relative_to(root / "outbox").parts[0] for p in (root / "outbox").rglob("*.eml")}
    assert folders == {"2026-11-10-ready"}
    # Each of the six subscribers got the ready issue once; every run listed the drafts.
    per_reader = [p for p in (root / "outbox").rglob("*.eml") if "reader" in p.name]
    assert len(per_reader) == 6
    for stdout, _ in outputs:
        items = json.loads(stdout)["items"]
        assert sorted(i["issue"] for i in items if i["outcome"] == "draft") == sorted(
            f"2026-11-1{n + 1}-draft" for n in range(3) for _ in (FREE, PREMIUM)
        )


# --- local schedules follow the file ---------------------------------------------------------


def test_a_local_schedule_follows_the_files_send_at_and_text(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    root = fresh(workspace)
    first = datetime(2026, 12, 1, 8, 36, tzinfo=UTC)
    path = write(root, "2026-12-01-moving", first + 365 * 24 * HOUR, marker="old text")
    # Scheduled in the ledger for a time a year ahead, through the command line.
    scheduled = run_cli("-C", root, "send", path, "--yes")
    assert scheduled.exit_code == 0 and "scheduled for" in scheduled.stdout
    later = first + 366 * 24 * HOUR
    path.write_text(
        path.read_text("utf-8")
        .replace(
            f"send_at: {(first + 365 * 24 * HOUR).isoformat(timespec='minutes')}",
            f"send_at: {later.isoformat(timespec='minutes')}",
        )
        .replace("old text", "new text"),
        "utf-8",
    )
    settings = load_settings(root)
    # At the old time nothing goes out: the file says a day later now.
    at_old = run_due(settings, now=first + 365 * 24 * HOUR + timedelta(minutes=1))
    assert at_old.items == [] and at_old.waiting == 2
    assert not (root / "outbox").exists()

    moved = run_cli("-C", root, "send", path, "--yes")
    assert moved.exit_code == 0, moved.output
    assert "moved from 2027-12-01 17:36 KST to 2027-12-02 17:36 KST" in moved.stdout

    at_new = run_due(settings, now=later + timedelta(minutes=1))
    assert [item.outcome for item in at_new.items] == ["sent", "sent"]
    texts = [parts(parse(p))[0] for p in (root / "outbox").rglob("*.eml")]
    assert len(texts) == 2 and all("new text" in t and "old text" not in t for t in texts)


def test_unschedule_holds_a_local_schedule_until_send_runs_again(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    root = fresh(workspace)
    soon = datetime.now(UTC) + timedelta(minutes=30)
    path = write(root, "2026-11-20-held", soon)
    nothing = run_cli("-C", root, "unschedule", path, "--variant", "premium")
    assert nothing.exit_code == 0, nothing.output  # a future send_at is cron's to send: held
    assert "held" in nothing.stdout
    settings = load_settings(root)
    report = run_due(settings, now=soon + timedelta(minutes=1))
    assert [(i.variant, i.outcome) for i in report.items] == [("free", "sent")]
    again = run_cli("-C", root, "unschedule", path)
    assert again.exit_code == 1
    assert "free went out already" in again.stderr and "premium is held already" in again.stderr

    resumed = run_cli("-C", root, "send", path, "--yes", "--variant", "premium")
    assert resumed.exit_code == 0, resumed.output
    rows = json.loads(run_cli("-C", root, "status", path.stem, "--json").stdout)["sends"]
    assert {r["variant"]: r["state"] for r in rows} == {"free": "sent", "premium": "upcoming"}
    report = run_due(settings, now=soon + timedelta(minutes=2))
    assert [(i.variant, i.outcome) for i in report.items] == [("premium", "sent")]


def test_unschedule_with_nothing_scheduled_is_exit_1(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    result = run_cli("-C", workspace, "unschedule", "2026-12-08-open-weights-week")
    assert result.exit_code == 1 and "is not scheduled" in result.stderr


# --- status ----------------------------------------------------------------------------------


def test_status_names_the_closest_ids_for_a_typo(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    result = run_cli("-C", workspace, "status", "2026-12-01-china-ai-globl")
    assert result.exit_code == 1
    assert "no issue '2026-12-01-china-ai-globl'" in result.stderr
    assert "2026-12-01-china-ai-global" in result.stderr


def test_status_shows_both_rows_after_the_free_send_failed_lined_up_by_display_width(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    root = fresh(workspace)
    hangul = "2026-11-21-중국-ai"
    write(root, hangul, datetime.now(UTC) + 3 * HOUR)
    write(root, "2026-11-22-plain", datetime.now(UTC) + 4 * HOUR)
    with Ledger.open(root / ".postcli") as ledger:
        failed = ledger.begin(hangul, FREE, "file", content_hash="h")
        ledger.set_status(failed.id, SendStatus.FAILED, error="550 refused")
    table = run_cli("-C", root, "status")
    assert table.exit_code == 1
    lines = [line for line in table.stdout.splitlines() if line]
    mine = [line for line in lines if line.startswith(hangul)]
    assert [line.split()[1:3] for line in mine] == [["free", "failed"], ["premium", "upcoming"]]
    from postcli.render.text import display_width

    header = lines[0]
    for line in lines[1:]:
        # Every column starts at the same display column as its heading.
        for word in ("VARIANT", "STATE", "WHEN"):
            column = display_width(header[: header.index(word)])
            cut = next(i for i in range(len(line) + 1) if display_width(line[:i]) >= column)
            assert display_width(line[:cut]) == column and line[cut - 2 : cut] == "  "
    data = json.loads(run_cli("-C", root, "status", hangul, "--json").stdout)
    row = data["sends"][0]
    assert set(row) >= {
        "issue",
        "variant",
        "state",
        "at",
        "local_time",
        "provider",
        "recipients",
        "cron",
        "next",
        "problem",
        "error",
    }
    assert (row["state"], row["error"], row["problem"]) == ("failed", "550 refused", True)
    assert data["timezone"] == "Asia/Seoul"
