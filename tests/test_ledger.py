"""The send ledger (.postcli/ledger.sqlite3), the per-issue lock, and `postcli status`."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from postcli.ledger import (
    SCHEMA_VERSION,
    Ledger,
    SendInProgress,
    issue_lock,
    lock_held,
)

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    with Ledger.open(tmp_path / ".postcli", clock=lambda: T0) as opened:
        yield opened


def test_schema_is_wal_and_versioned(ledger: Ledger) -> None:
    db = sqlite3.connect(ledger.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    columns = {row[1] for row in db.execute("PRAGMA table_info(sends)")}
    assert {"scheduled_for", "remote_id", "content_hash", "mode", "status"} <= columns
    db.close()


def test_begin_resumes_an_unfinished_send_and_force_starts_a_new_generation(ledger: Ledger) -> None:
    first = ledger.begin("issue", "free", "smtp", content_hash="h1")
    assert first.status == "pending" and first.generation == 1
    ledger.set_status(first.id, "sending")
    again = ledger.begin("issue", "free", "smtp", content_hash="h2")
    assert again.id == first.id and again.content_hash == "h2"
    sent = ledger.set_status(first.id, "sent")
    assert sent.sent_at == T0 and sent.done
    forced = ledger.begin("issue", "free", "smtp", content_hash="h2", new_generation=True)
    assert forced.id != first.id and forced.generation == 2
    assert ledger.current("issue", "free", "smtp") == forced
    # Test sends are rows of their own and never become the current live send.
    test = ledger.begin("issue", "free", "smtp", content_hash="h2", mode="test", target="me@x.org")
    assert test.mode == "test" and ledger.current("issue", "free", "smtp") == forced


def test_recipients_in_flight_are_flagged_as_possible_duplicates(ledger: Ledger) -> None:
    send = ledger.begin("issue", "free", "smtp", content_hash="h")
    ledger.add_recipients(send.id, [("a@x.org", "free"), ("b@x.org", "free")])
    assert ledger.mark_sending(send.id, "a@x.org", "<id-a>") is False
    ledger.mark_sent(send.id, "a@x.org")
    assert ledger.mark_sending(send.id, "b@x.org", "<id-b>") is False
    # The process dies here; the next run finds b in 'sending'.
    ledger.add_recipients(send.id, [("a@x.org", "free"), ("b@x.org", "free")])  # keeps states
    states = ledger.recipients(send.id)
    assert states["a@x.org"].status == "sent" and states["b@x.org"].status == "sending"
    assert ledger.mark_sending(send.id, "b@x.org", "<id-b>") is True
    ledger.mark_sent(send.id, "b@x.org")
    counts = ledger.counts(send.id)
    assert (counts.total, counts.sent, counts.possibly_duplicate) == (2, 2, 1)
    assert ledger.recipients(send.id)["b@x.org"].attempts == 2


def test_due_lists_only_ledger_schedules_of_the_current_generation(ledger: Ledger) -> None:
    a = ledger.begin("a", "free", "file", content_hash="h")
    ledger.set_status(a.id, "scheduled", scheduled_for=T0 - timedelta(minutes=5))
    b = ledger.begin("b", "free", "resend", content_hash="h")
    ledger.set_status(b.id, "scheduled", scheduled_for=T0 - timedelta(minutes=5), remote_id="r1")
    c = ledger.begin("c", "free", "file", content_hash="h")
    ledger.set_status(c.id, "scheduled", scheduled_for=T0 + timedelta(hours=1))
    d = ledger.begin("d", "free", "file", content_hash="h")
    ledger.set_status(d.id, "scheduled", scheduled_for=T0 - timedelta(hours=1))
    ledger.begin("d", "free", "file", content_hash="h", new_generation=True)  # --force over it
    assert [r.issue_id for r in ledger.due(T0)] == ["a"]


def test_every_change_is_committed_at_once(ledger: Ledger) -> None:
    send = ledger.begin("issue", "premium", "smtp", content_hash="h")
    ledger.add_recipients(send.id, [("a@x.org", "premium")])
    ledger.mark_sending(send.id, "a@x.org", "<m>")
    other = sqlite3.connect(ledger.path)  # another process's view
    status = other.execute("SELECT status FROM recipients").fetchone()[0]
    other.close()
    assert status == "sending"


def test_lock_excludes_a_second_holder_and_waits_briefly(tmp_path: Path) -> None:
    state = tmp_path / ".postcli"
    with issue_lock(state, "issue"):
        assert lock_held(state, "issue")
        with pytest.raises(SendInProgress) as caught, issue_lock(state, "issue", wait=0.2):
            pass
        assert caught.value.exit_code == 4
        assert "another postcli process is sending issue" in str(caught.value)
        with issue_lock(state, "other-issue", wait=0):  # other issues are free
            pass
    assert not lock_held(state, "issue")


HOLD = """
import sys, time
from pathlib import Path
from postcli.ledger import issue_lock
with issue_lock(Path(sys.argv[1]), "issue"):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_the_os_releases_the_lock_when_its_holder_is_killed(tmp_path: Path) -> None:
    state = tmp_path / ".postcli"
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(state)], stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            assert lock_held(state, "issue")
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=10)
            with issue_lock(state, "issue", wait=2.0):
                assert lock_held(state, "issue")
        finally:
            if holder.poll() is None:
                holder.kill()
                holder.wait()


def test_status_command_table_json_and_exit_code(workspace: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    from helpers.workspace import clear_send_at

    clear_send_at(workspace)  # by today's clock the sample issue may be overdue
    result = run_cli("-C", workspace, "status")
    assert result.exit_code == 0 and "nothing scheduled, sent or failed" in result.stderr
    with Ledger.open(workspace / ".postcli") as ledger:
        good = ledger.begin("2026-12-08-open-weights-week", "free", "smtp", content_hash="h")
        ledger.add_recipients(good.id, [("a@x.org", "free"), ("b@x.org", "free")])
        for email in ("a@x.org", "b@x.org"):
            ledger.mark_sending(good.id, email, "<m>")
            ledger.mark_sent(good.id, email)
        ledger.set_status(good.id, "sent")
    result = run_cli("-C", workspace, "status")
    assert result.exit_code == 0
    assert "2026-12-08-open-weights-week" in result.stdout and "2/2" in result.stdout
    with Ledger.open(workspace / ".postcli") as ledger:
        bad = ledger.begin("2026-12-08-open-weights-week", "premium", "smtp", content_hash="h")
        ledger.add_recipients(bad.id, [("c@x.org", "premium")])
        ledger.mark_sending(bad.id, "c@x.org", "<m>")
        ledger.mark_failed(bad.id, "c@x.org", "550 no such user")
        ledger.set_status(bad.id, "failed", error="1 recipient failed; run again to retry")
    result = run_cli("-C", workspace, "status", "2026-12-08-open-weights-week", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["problems"] == 1
    by_variant = {row["variant"]: row for row in data["sends"]}
    assert by_variant["premium"]["state"] == "failed"
    assert by_variant["premium"]["recipients"]["failed"] == 1
    assert by_variant["free"]["recipients"]["sent"] == 2
    table = run_cli("-C", workspace, "status")
    assert table.exit_code == 1 and "1 recipient failed" in table.stdout


def test_opening_waits_for_another_process_holding_the_database(tmp_path: Path) -> None:
    """Many cron runs start at once: one creating or locking the file makes the others wait."""
    import sqlite3
    import threading

    from postcli.ledger import LEDGER_NAME

    locked, release = threading.Event(), threading.Event()

    def hold() -> None:
        db = sqlite3.connect(tmp_path / LEDGER_NAME, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        db.execute("CREATE TABLE holder (x)")
        locked.set()
        release.wait(5)
        db.execute("COMMIT")
        db.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert locked.wait(5)
    threading.Timer(0.3, release.set).start()
    with Ledger.open(tmp_path) as ledger:
        assert ledger.sends() == []
    holder.join(5)
    assert release.is_set()


def test_recipients_are_looked_up_a_chunk_at_a_time_by_address_without_case(
    tmp_path: Path,
) -> None:
    from postcli.model import RecipientStatus

    with Ledger.open(tmp_path) as ledger:
        record = ledger.begin("issue", "free", "smtp", content_hash="h")
        ledger.add_new_recipients(
            record.id, [("Kim@example.org", "free"), ("lee@example.org", "free")]
        )
        # A list exported again with other capitals adds nobody twice.
        ledger.add_new_recipients(
            record.id, [("kim@example.org", "free"), ("park@example.org", "free")]
        )
        assert sorted(ledger.recipients(record.id)) == [
            "Kim@example.org",
            "lee@example.org",
            "park@example.org",
        ]
        ledger.mark_sent(record.id, "Kim@example.org")
        states = ledger.recipient_states(record.id, ["KIM@example.org", "nobody@example.org"])
        assert list(states) == ["kim@example.org"]
        assert states["kim@example.org"].email == "Kim@example.org"
        assert states["kim@example.org"].status is RecipientStatus.SENT
        plan = ledger._db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM recipients WHERE send_id = ? AND lower(email) IN (?)",
            (record.id, "kim@example.org"),
        ).fetchall()
        assert any("recipients_folded" in str(tuple(row)) for row in plan)  # no full scan
