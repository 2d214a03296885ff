"""`postcli send --due`, the cron entry point, end to end: only what has come due goes out, each
(issue, variant, subscriber) exactly once however many runs overlap or get killed; the maximum
lateness; broken drafts beside due issues; sends handed to a provider's own scheduler (and edits
made after that); --dry-run and --json; and `postcli status` on an overdue local schedule.

Subprocesses cannot be given a fake clock, so issue times are written relative to the real one;
in-process `run_due(..., now=...)` tests pass their own `now`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fakes import ButtondownFake
from helpers.fake_api import serve
from helpers.send import (
    ISSUE,
    SECRET,
    SUBJECT,
    configure,
    parse,
    parts,
    run_postcli,
    set_provider,
    smtp_config,
    write_subscribers,
)
from postcli import config
from postcli.ledger import Ledger
from smtp_server import SmtpTestServer, kill_when_received

DUE = "2026-11-01-due"
LATER = "2026-11-02-later"
UNDATED = "2026-11-03-undated"
BUTTONDOWN_KEY = "test-buttondown-key"


def ago(**delta: float) -> datetime:
    return datetime.now(UTC) - timedelta(**delta)


def ahead(**delta: float) -> datetime:
    return datetime.now(UTC) + timedelta(**delta)


def write_due_issue(
    root: Path, issue_id: str, at: datetime | None, *, audience: str = "all", extra: str = ""
) -> Path:
    """The send tests' issue with its own subject, and `send_at` as an aware ISO time."""
    text = ISSUE.format(audience=audience).replace(
        f'title: "{SUBJECT}"', f'title: "{SUBJECT} {issue_id}"'
    )
    if at is not None:
        stamp = at.astimezone(UTC).isoformat(timespec="seconds")
        text = text.replace(f"audience: {audience}", f'audience: {audience}\nsend_at: "{stamp}"')
    path = root / "issues" / f"{issue_id}.md"
    path.write_text(text + extra, encoding="utf-8")
    return path


@pytest.fixture
def letter(workspace: Path) -> Path:
    """The sample workspace without its sample issues (their send_at would come due one day)."""
    for path in (workspace / "issues").glob("*.md"):
        path.unlink()
    return workspace


def with_subscribers(root: Path, count: int) -> list[tuple[str, str]]:
    rows = write_subscribers(root, count)
    configure(root, '[providers.file]\nsubscribers = "subscribers.csv"')
    return rows


def live(root: Path) -> dict[tuple[str, str], str]:
    """(issue, variant) -> status of the current live send."""
    if not (root / ".postcli" / "ledger.sqlite3").exists():
        return {}
    with Ledger.open(root / ".postcli") as ledger:
        return {(s.issue_id, s.variant): s.status for s in ledger.latest_live()}


def outbox_files(root: Path, issue_id: str) -> list[str]:
    folder = root / "outbox" / issue_id / "to"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def assert_each_got_their_variant(root: Path, issue_id: str, rows: list[tuple[str, str]]) -> None:
    assert outbox_files(root, issue_id) == sorted(f"{email}.eml" for email, _ in rows)
    for email, tier in rows:
        text, html = parts(parse(root / "outbox" / issue_id / "to" / f"{email}.eml"))
        assert (SECRET in text and SECRET in html) is (tier == "premium"), email


def issue_of(message_id: str | None) -> str:
    """The issue id a postcli Message-ID starts with: <issue.variant.digest@domain>."""
    assert message_id and message_id.startswith("<")
    return message_id[1:].split(".", 1)[0]


def per_issue_and_recipient(server: SmtpTestServer) -> Counter[tuple[str, str]]:
    counts: Counter[tuple[str, str]] = Counter()
    for received in server.messages:
        for rcpt in received.rcpt_tos:
            counts[(issue_of(received.message_id), rcpt)] += 1
    return counts


def postcli_command(root: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "postcli", "-C", str(root), *args]


# -- what is due goes out, once ---------------------------------------------------------------


def test_due_sends_only_the_issue_whose_time_has_come_and_a_second_run_nothing(
    letter: Path, run_cli: Callable[..., Any]
) -> None:
    rows = with_subscribers(letter, 30)
    write_due_issue(letter, LATER, ahead(hours=2))
    write_due_issue(letter, UNDATED, None)

    nothing = run_cli("-C", letter, "send", "--due")
    assert nothing.exit_code == 0, nothing.output
    assert "nothing is due; 2 scheduled for later" in nothing.output
    assert not (letter / "outbox").exists() and live(letter) == {}

    write_due_issue(letter, DUE, ago(minutes=10))
    result = run_cli("-C", letter, "send", "--due")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[:3] for line in lines] == [
        [DUE, "free", "sent"],
        [DUE, "premium", "sent"],
    ]
    assert_each_got_their_variant(letter, DUE, rows)
    assert sorted(p.name for p in (letter / "outbox").iterdir()) == [DUE]
    assert live(letter) == {(DUE, "free"): "sent", (DUE, "premium"): "sent"}

    again = run_cli("-C", letter, "send", "--due", "--yes")  # --yes: accepted, a no-op
    assert again.exit_code == 0, again.output
    assert "nothing is due; 2 scheduled for later" in again.output
    assert again.stdout == ""
    assert_each_got_their_variant(letter, DUE, rows)


def test_send_at_plus_1h_is_scheduled_locally_and_run_due_sends_it_when_its_time_comes(
    letter: Path, run_cli: Callable[..., Any]
) -> None:
    from postcli.due import run_due

    rows = with_subscribers(letter, 12)
    write_due_issue(letter, UNDATED, None)
    result = run_cli("-C", letter, "send", UNDATED, "--at", "+1h", "--yes")
    assert result.exit_code == 0, result.output
    assert "scheduled for" in result.stdout and "send --due" in result.stdout
    status = run_cli("-C", letter, "status", "--json")
    assert status.exit_code == 0
    states = {row["variant"]: row["state"] for row in json.loads(status.stdout)["sends"]}
    assert states == {"free": "upcoming", "premium": "upcoming"}  # a local schedule: cron's

    settings = config.load(letter)
    early = run_due(settings, now=ahead(minutes=30))
    assert (early.items, early.waiting, early.exit_code) == ([], 2, 0)
    assert not (letter / "outbox").exists()

    report = run_due(settings, now=ahead(hours=1, minutes=5))
    assert [(i.issue_id, i.variant, i.outcome) for i in report.items] == [
        (UNDATED, "free", "sent"),
        (UNDATED, "premium", "sent"),
    ]
    assert report.exit_code == 0 and report.waiting == 0
    assert_each_got_their_variant(letter, UNDATED, rows)
    assert live(letter) == {(UNDATED, "free"): "sent", (UNDATED, "premium"): "sent"}

    after = run_due(settings, now=ahead(hours=2))
    assert (after.items, after.waiting) == ([], 0)


# -- overlapping runs -------------------------------------------------------------------------

# `python -c` with this, then postcli's arguments: the file provider's transport also appends
# "<issue> <recipient>" to $DELIVERY_LOG for every delivery, so a file written twice shows.
COUNTING_POSTCLI = """
import os, sys
from postcli.providers import file as file_provider

original = file_provider.FolderTransport.deliver

def deliver(self, message, *, sender, recipient):
    original(self, message, sender=sender, recipient=recipient)
    issue = self.folder.parent.name if self.folder.name == "to" else self.folder.name
    line = f"{issue} {recipient}\\n".encode()
    fd = os.open(os.environ["DELIVERY_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)

file_provider.FolderTransport.deliver = deliver
from postcli.cli import main
main(sys.argv[1:])
"""


def run_together(commands: list[list[str]], env: dict[str, str] | None = None) -> list[Any]:
    """Start every command at once; wait for all; (returncode, stdout, stderr) each."""
    processes = [
        subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        for command in commands
    ]
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        results.append((process.returncode, out, err))
    return results


def test_ten_overlapping_due_runs_write_each_file_once(letter: Path, tmp_path: Path) -> None:
    rows = with_subscribers(letter, 60)
    issues = [DUE, LATER]
    write_due_issue(letter, DUE, ago(minutes=3))
    write_due_issue(letter, LATER, ago(minutes=1), audience="premium")
    log = tmp_path / "deliveries.log"
    command = [sys.executable, "-c", COUNTING_POSTCLI, "-C", str(letter), "send", "--due"]
    results = run_together([command] * 10, env={"DELIVERY_LOG": str(log)})

    assert [code for code, _, _ in results] == [0] * 10, [r for r in results if r[0]]
    said = "".join(out for _, out, _ in results)
    assert said.count(f"{DUE} free     sent") == 1 and said.count(f"{DUE} premium  sent") == 1
    assert said.count(f"{LATER} premium  sent") == 1
    premium = [(e, t) for e, t in rows if t == "premium"]
    expected = Counter({(DUE, e): 1 for e, _ in rows})
    expected += Counter({(LATER, e): 1 for e, _ in premium})
    delivered = Counter(tuple(line.split()) for line in log.read_text().splitlines())
    variant_copies = Counter({(DUE, "free"): 1, (DUE, "premium"): 1, (LATER, "premium"): 1})
    assert delivered == expected + variant_copies
    assert_each_got_their_variant(letter, DUE, rows)
    assert_each_got_their_variant(letter, LATER, premium)
    assert set(live(letter).values()) == {"sent"} and len(live(letter)) == 3
    assert not list((letter / "outbox").rglob("*.tmp"))
    for issue_id in issues:
        assert run_postcli(letter, "status", issue_id).returncode == 0


def test_ten_overlapping_due_runs_through_smtp_deliver_each_message_once(letter: Path) -> None:
    rows = write_subscribers(letter, 80)
    write_due_issue(letter, DUE, ago(minutes=3))
    write_due_issue(letter, LATER, ago(minutes=1))
    with SmtpTestServer() as server:
        smtp_config(letter, server)
        results = run_together([postcli_command(letter, "send", "--due")] * 10)
        server.wait_for(2 * len(rows))
    assert [code for code, _, _ in results] == [0] * 10, [r for r in results if r[0]]
    counts = per_issue_and_recipient(server)
    assert counts == Counter({(i, e): 1 for i in (DUE, LATER) for e, _ in rows})
    tier_of = dict(rows)
    for received in server.messages:
        text, _ = parts(parse(received.raw))
        assert (SECRET in text) is (tier_of[received.rcpt_tos[0]] == "premium")
    assert set(live(letter).values()) == {"sent"}


# -- killed runs ------------------------------------------------------------------------------


def test_a_due_run_killed_after_a_commit_is_finished_by_the_next_run(letter: Path) -> None:
    rows = write_subscribers(letter, 90)
    write_due_issue(letter, DUE, ago(minutes=3))
    write_due_issue(letter, LATER, ago(minutes=1))
    with SmtpTestServer() as server:
        smtp_config(letter, server)
        killed = run_postcli(letter, "send", "--due", env={"POSTCLI_TEST_KILL_AFTER_SENT": "100"})
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        assert len(server.messages) == 100
        status = run_postcli(letter, "status")
        assert status.returncode == 0 and "interrupted" in status.stdout  # DESIGN: not a problem
        resumed = run_postcli(letter, "send", "--due")
        assert resumed.returncode == 0, resumed.stderr
        server.wait_for(2 * len(rows))
        again = run_postcli(letter, "send", "--due")
    assert per_issue_and_recipient(server) == Counter(
        {(i, e): 1 for i in (DUE, LATER) for e, _ in rows}
    )
    assert "possibly delivered twice" not in resumed.stdout
    assert again.returncode == 0 and "nothing is due" in again.stderr
    assert run_postcli(letter, "status").returncode == 0


def test_a_due_run_killed_at_a_random_moment_leaves_nobody_out_and_nobody_twice(
    letter: Path,
) -> None:
    seed = random.randrange(1_000_000)
    rows = write_subscribers(letter, 150)
    total = 2 * len(rows)
    kill_at = random.Random(seed).randrange(20, total // 2)
    write_due_issue(letter, DUE, ago(minutes=3))
    write_due_issue(letter, LATER, ago(minutes=1))
    with SmtpTestServer() as server:
        smtp_config(letter, server)
        with subprocess.Popen(
            postcli_command(letter, "-q", "send", "--due"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ) as sender:
            kill_when_received(server, sender, kill_at, timeout=60)
        assert sender.returncode == -signal.SIGKILL, seed  # it was killed, not finished
        assert len(server.messages) < total, seed
        resumed = run_postcli(letter, "send", "--due")
        assert resumed.returncode == 0, (seed, resumed.stderr)
        server.wait_for(total)
    counts = per_issue_and_recipient(server)
    assert set(counts) == {(i, e) for i in (DUE, LATER) for e, _ in rows}, seed
    twice = [key for key, n in counts.items() if n > 1]
    # Only a message in flight at the kill (accepted, not yet committed) may go twice, with
    # the same Message-ID, and the resuming run says so.
    assert len(twice) <= 1 and all(counts[key] == 2 for key in twice), seed
    ids: dict[tuple[str, str], set[str | None]] = {}
    for received in server.messages:
        for rcpt in received.rcpt_tos:
            ids.setdefault((issue_of(received.message_id), rcpt), set()).add(received.message_id)
    assert all(len(found) == 1 for found in ids.values()), seed
    for _, email in twice:
        assert f"possibly delivered twice (same Message-ID): {email}" in resumed.stdout, seed
    assert run_postcli(letter, "status").returncode == 0, seed


def test_a_killed_send_of_a_local_schedule_is_finished_by_the_next_due_run(letter: Path) -> None:
    """Scheduled with --at (no send_at in the file): the ledger alone says when it is due."""
    from postcli.send import SendOptions, execute, plan_send

    rows = with_subscribers(letter, 40)
    write_due_issue(letter, UNDATED, None)
    settings = config.load(letter)
    then = ago(minutes=20)
    plan = plan_send(settings, UNDATED, SendOptions(at="+15m"), now=then)
    execute(plan, now=lambda: then)
    assert set(live(letter).values()) == {"scheduled"}

    killed = run_postcli(letter, "send", "--due", env={"POSTCLI_TEST_KILL_AFTER_SENT": "10"})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(outbox_files(letter, UNDATED)) == 10
    resumed = run_postcli(letter, "send", "--due")
    assert resumed.returncode == 0, resumed.stderr
    assert f"{UNDATED} " in resumed.stdout and "sent" in resumed.stdout
    assert_each_got_their_variant(letter, UNDATED, rows)
    assert set(live(letter).values()) == {"sent"}
    assert run_postcli(letter, "status").returncode == 0


# -- lateness and broken drafts ---------------------------------------------------------------


def test_an_issue_later_than_the_default_24h_is_reported_not_sent_unless_late_ok(
    letter: Path, run_cli: Callable[..., Any]
) -> None:
    write_due_issue(letter, DUE, ago(hours=30))
    stale = run_cli("-C", letter, "send", "--due")
    assert stale.exit_code == 1, stale.output
    assert stale.stdout.count("stale") == 2
    assert "24 h" in stale.stdout and "--late-ok" in stale.stdout
    assert "Traceback" not in stale.output
    assert not (letter / "outbox").exists() and live(letter) == {}

    late_ok = run_cli("-C", letter, "send", "--due", "--late-ok")
    assert late_ok.exit_code == 0, late_ok.output
    assert sorted((letter / "outbox" / DUE).iterdir()) == [
        letter / "outbox" / DUE / "free.eml",
        letter / "outbox" / DUE / "premium.eml",
    ]
    assert run_cli("-C", letter, "send", "--due").exit_code == 0


def test_a_configured_max_lateness_applies(letter: Path, run_cli: Callable[..., Any]) -> None:
    configure(letter, '[schedule]\nmax_lateness = "2h"')
    write_due_issue(letter, DUE, ago(hours=3))
    write_due_issue(letter, LATER, ago(hours=1))
    result = run_cli("-C", letter, "send", "--due")
    assert result.exit_code == 1, result.output
    outcomes = {tuple(line.split()[:3]) for line in result.stdout.splitlines()}
    assert outcomes == {
        (DUE, "free", "stale"),
        (DUE, "premium", "stale"),
        (LATER, "free", "sent"),
        (LATER, "premium", "sent"),
    }
    assert "maximum lateness of 2 h" in result.stdout
    assert sorted(p.name for p in (letter / "outbox").iterdir()) == [LATER]

    late_ok = run_cli("-C", letter, "send", "--due", "--late-ok")
    assert late_ok.exit_code == 0, late_ok.output
    assert {tuple(line.split()[:3]) for line in late_ok.stdout.splitlines()} == {
        (DUE, "free", "sent"),
        (DUE, "premium", "sent"),
    }
    assert set(live(letter).values()) == {"sent"} and len(live(letter)) == 4


def test_a_broken_issue_file_does_not_stop_the_due_ones(
    letter: Path, run_cli: Callable[..., Any]
) -> None:
    write_due_issue(letter, DUE, ago(minutes=5))
    broken = letter / "issues" / "2026-11-04-draft.md"
    broken.write_text('---\ntitle: "A draft\nsend_at: [unclosed\n---\nBody.\n', encoding="utf-8")
    result = run_cli("-C", letter, "send", "--due")
    assert result.exit_code == 0, result.output
    assert "2026-11-04-draft.md" in result.stderr and "WARNING" in result.stderr
    assert "Traceback" not in result.output
    assert {tuple(line.split()[:3]) for line in result.stdout.splitlines()} == {
        (DUE, "free", "sent"),
        (DUE, "premium", "sent"),
    }
    assert (letter / "outbox" / DUE / "premium.eml").is_file()


# -- a provider's own scheduler ---------------------------------------------------------------


def test_a_send_scheduled_on_the_provider_is_left_to_it_and_an_edit_moves_it(
    letter: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUTTONDOWN_API_KEY", BUTTONDOWN_KEY)
    path = write_due_issue(letter, DUE, ahead(days=2))
    fake = ButtondownFake(api_key=BUTTONDOWN_KEY)
    with serve(fake) as server:
        set_provider(letter, "buttondown")
        configure(letter, f'[providers.buttondown]\nbase_url = "{server.base_url}"')

        handed = run_cli("-C", letter, "send", DUE, "--yes")
        assert handed.exit_code == 0, handed.output
        assert "scheduled on the provider" in handed.stdout
        assert [(d.kind, d.audience) for d in fake.sends()] == [
            ("schedule", "free"),
            ("schedule", "premium"),
        ]
        status = json.loads(run_cli("-C", letter, "status", "--json").stdout)
        rows = {row["variant"]: row for row in status["sends"]}
        assert {v: r["state"] for v, r in rows.items()} == {
            "free": "scheduled",
            "premium": "scheduled",
        }
        assert {r["remote_id"] for r in rows.values()} == set(fake.emails)

        def posts() -> int:
            return len(fake.calls("POST")) + len(fake.calls("PATCH"))

        before = posts()
        due = run_cli("-C", letter, "send", "--due")
        assert due.exit_code == 0, due.output
        assert "nothing is due" in due.output
        assert posts() == before and len(fake.sends()) == 2

        # An edit below the paywall changes the premium text only; the free campaign stands.
        path.write_text(path.read_text("utf-8") + "\nA late correction.\n", "utf-8")
        changed = run_cli("-C", letter, "send", "--due")
        assert changed.exit_code == 1, changed.output
        outcomes = {tuple(line.split()[:3]) for line in changed.stdout.splitlines()}
        assert outcomes == {(DUE, "premium", "changed")}
        assert "old version" in changed.stdout and f"postcli send {DUE}" in changed.stdout
        assert posts() == before

        # `postcli send` moves the premium campaign to the new text, in place; the free one
        # stands, and the old text can no longer go out.
        moved = run_cli("-C", letter, "send", DUE, "--yes")
        assert moved.exit_code == 0, moved.output
        assert "the new text replaces the old" in moved.stdout
        scheduled = fake.sends("schedule")
        assert [d.audience for d in scheduled] == ["free", "premium"]
        premium = fake.emails[scheduled[1].object_id]
        assert "A late correction." in json.dumps(premium)
        assert "A late correction." not in json.dumps(fake.emails[scheduled[0].object_id])

        settled = run_cli("-C", letter, "send", "--due")
        assert settled.exit_code == 0, settled.output
        assert len(fake.sends()) == 2
    assert fake.violations == []
    assert BUTTONDOWN_KEY not in handed.output + changed.output + moved.output


# -- --dry-run, --json, status -----------------------------------------------------------------


def test_dry_run_sends_nothing_and_json_has_the_documented_shape(
    letter: Path, run_cli: Callable[..., Any]
) -> None:
    with_subscribers(letter, 6)
    write_due_issue(letter, DUE, ago(minutes=5))
    write_due_issue(letter, LATER, ahead(hours=5))
    write_due_issue(letter, UNDATED, ago(hours=40), audience="premium")

    dry = run_cli("-C", letter, "send", "--due", "--dry-run", "--json")
    assert dry.exit_code == 1, dry.output  # the stale one
    data = json.loads(dry.stdout)
    assert set(data) == {"items", "waiting", "exit_code"}
    assert data["waiting"] == 2 and data["exit_code"] == 1
    for item in data["items"]:
        assert set(item) == {"issue", "variant", "at", "outcome", "message"}
        assert datetime.fromisoformat(item["at"]).tzinfo is not None
    assert {(i["issue"], i["variant"], i["outcome"]) for i in data["items"]} == {
        (DUE, "free", "dry-run"),
        (DUE, "premium", "dry-run"),
        (UNDATED, "premium", "stale"),
    }
    assert not (letter / "outbox").exists() and live(letter) == {}

    plain_dry = run_cli("-C", letter, "send", "--due", "--dry-run", "--late-ok")
    assert plain_dry.exit_code == 0 and "would send now" in plain_dry.stdout
    assert not (letter / "outbox").exists() and live(letter) == {}

    sent = run_cli("-C", letter, "send", "--due", "--json")
    data = json.loads(sent.stdout)
    assert sent.exit_code == data["exit_code"] == 1
    assert {(i["issue"], i["variant"], i["outcome"]) for i in data["items"]} == {
        (DUE, "free", "sent"),
        (DUE, "premium", "sent"),
        (UNDATED, "premium", "stale"),
    }
    assert all(i["message"].startswith("sent to") for i in data["items"] if i["outcome"] == "sent")

    empty = run_cli("-C", letter, "send", "--due", "--json", "--late-ok")
    data = json.loads(empty.stdout)
    assert empty.exit_code == 0
    assert [(i["issue"], i["outcome"]) for i in data["items"]] == [(UNDATED, "sent")]
    quiet = json.loads(run_cli("-C", letter, "send", "--due", "--json").stdout)
    assert quiet == {"items": [], "waiting": 2, "exit_code": 0}


def test_due_takes_no_issue_or_per_issue_options(letter: Path, run_cli: Callable[..., Any]) -> None:
    write_due_issue(letter, DUE, ago(minutes=5))
    for extra in ([DUE], ["--at", "+1h"], ["--now"], ["--force"], ["--variant", "free"]):
        result = run_cli("-C", letter, "send", "--due", *extra)
        assert result.exit_code == 2, (extra, result.output)
        assert "--due" in result.stderr and "Traceback" not in result.output
    late = run_cli("-C", letter, "send", DUE, "--late-ok", "--yes")
    assert late.exit_code == 2 and "--late-ok goes with --due" in late.stderr
    assert not (letter / "outbox").exists()


def schedule_in_the_past(root: Path, issue_id: str, *, minutes_ago: int) -> None:
    """A local schedule made earlier for a time that has passed, as if cron never ran."""
    from postcli.send import SendOptions, execute, plan_send

    then = ago(minutes=minutes_ago + 5)
    plan = plan_send(config.load(root), issue_id, SendOptions(at="+5m"), now=then)
    report = execute(plan, now=lambda: then)
    assert [v.action for v in report.variants] == ["scheduled", "scheduled"]


def test_status_fails_when_a_local_schedule_is_overdue(
    letter: Path, run_cli: Callable[..., Any]
) -> None:
    write_due_issue(letter, UNDATED, None)
    write_due_issue(letter, LATER, None)
    schedule_in_the_past(letter, LATER, minutes_ago=5)  # within the grace: cron's next run
    ok = run_cli("-C", letter, "status")
    assert ok.exit_code == 0, ok.output
    assert "overdue" not in ok.stdout

    schedule_in_the_past(letter, UNDATED, minutes_ago=30)
    overdue = run_cli("-C", letter, "status")
    assert overdue.exit_code == 1, overdue.output
    assert "overdue" in overdue.stdout
    rows = json.loads(run_cli("-C", letter, "status", "--json").stdout)["sends"]
    assert {(r["issue"], r["variant"]): r["state"] for r in rows} == {
        (UNDATED, "free"): "overdue",
        (UNDATED, "premium"): "overdue",
        (LATER, "free"): "due",  # 5 minutes late: within the grace, the next run sends it
        (LATER, "premium"): "due",
    }
    assert run_cli("-C", letter, "status", LATER).exit_code == 0

    due = run_cli("-C", letter, "send", "--due")
    assert due.exit_code == 0, due.output
    assert set(live(letter).values()) == {"sent"}
    assert run_cli("-C", letter, "status").exit_code == 0


def test_an_issue_another_run_holds_is_left_to_it(letter: Path) -> None:
    from postcli.due import run_due
    from postcli.ledger import issue_lock

    write_due_issue(letter, DUE, ago(minutes=5))
    settings = config.load(letter)
    with issue_lock(settings.state_dir, DUE):
        report = run_due(settings)
    assert [(i.variant, i.outcome) for i in report.items] == [("free", "busy"), ("premium", "busy")]
    assert all("another postcli" in i.message for i in report.items)
    assert report.exit_code == 0 and not (letter / "outbox").exists()
    assert [i.outcome for i in run_due(settings).items] == ["sent", "sent"]


def test_a_local_schedule_whose_issue_file_is_gone_is_reported(
    letter: Path, run_cli: Callable[..., Any]
) -> None:
    path = write_due_issue(letter, UNDATED, None)
    assert run_cli("-C", letter, "send", UNDATED, "--at", "+2h", "--yes").exit_code == 0
    path.unlink()
    result = run_cli("-C", letter, "send", "--due")
    assert result.exit_code == 1, result.output
    assert {tuple(line.split()[:3]) for line in result.stdout.splitlines()} == {
        (UNDATED, "free", "broken"),
        (UNDATED, "premium", "broken"),
    }
    assert "issue file is missing" in result.stdout


def test_a_due_issue_never_handed_to_the_provider_is_sent_through_it(
    letter: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUTTONDOWN_API_KEY", BUTTONDOWN_KEY)
    write_due_issue(letter, DUE, ago(minutes=5))
    write_due_issue(letter, LATER, ahead(days=1))
    fake = ButtondownFake(api_key=BUTTONDOWN_KEY)
    with serve(fake) as server:
        set_provider(letter, "buttondown")
        configure(letter, f'[providers.buttondown]\nbase_url = "{server.base_url}"')
        result = run_cli("-C", letter, "send", "--due")
        assert result.exit_code == 0, result.output
        assert [(d.kind, d.audience) for d in fake.sends()] == [
            ("send", "free"),
            ("send", "premium"),
        ]
        again = run_cli("-C", letter, "send", "--due")
        assert again.exit_code == 0 and "nothing is due; 2 scheduled for later" in again.output
        assert len(fake.sends()) == 2
    assert fake.violations == []
    assert live(letter) == {(DUE, "free"): "sent", (DUE, "premium"): "sent"}
