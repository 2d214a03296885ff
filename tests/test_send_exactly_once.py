"""Exactly once, under the interleavings a real newsletter meets: a reply lost after the server
kept the message, Ctrl-C in the middle of an SMTP send, `--force` planned while another run was
still sending, a provider schedule interrupted between its draft and its schedule call, and
`postcli status` read while a send changes the ledger."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fakes import ButtondownFake
from helpers.fake_api import serve
from helpers.send import (
    ISSUE_ID,
    configure,
    set_provider,
    smtp_config,
    write_issue,
    write_subscribers,
)
from helpers.workspace import clear_send_at
from postcli import config
from postcli.ledger import Ledger
from smtp_server import SmtpTestServer

BUTTONDOWN_KEY = "test-buttondown-key"


@pytest.fixture
def newsletter(workspace: Path) -> Path:
    clear_send_at(workspace)  # the sample issues' send_at may be overdue by today's clock
    write_issue(workspace)
    return workspace


def ledger_of(root: Path) -> Ledger:
    return Ledger.open(root / ".postcli")


# -- a lost 250 ----------------------------------------------------------------------------------


def test_a_reply_lost_after_the_server_kept_the_message_is_reported_as_possibly_twice(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    """smtp.md: the connection breaks after the message was sent but before the 250; postcli
    sends it again, and `send` and `status` report the address as possibly delivered twice."""
    rows = write_subscribers(newsletter, 6)
    with SmtpTestServer(drop_before_reply_at=2) as server:
        smtp_config(newsletter, server)
        result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        server.wait_for(len(rows) + 1)
    assert result.exit_code == 0, result.output
    counts = server.count_by_recipient()
    twice = [email for email, n in counts.items() if n == 2]
    assert len(twice) == 1 and set(counts) == {email for email, _ in rows}
    (email,) = twice
    assert len(set(server.message_ids_by_recipient()[email])) == 1
    assert f"possibly delivered twice (same Message-ID): {email}" in result.stdout
    status = run_cli("-C", newsletter, "status", "--json")
    flagged = [e for row in json.loads(status.stdout)["sends"] for e in row["possibly_duplicated"]]
    assert flagged == [email]


# -- Ctrl-C --------------------------------------------------------------------------------------


def test_ctrl_c_in_the_middle_of_an_smtp_send_exits_130_and_the_next_run_finishes(
    newsletter: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from postcli.providers import smtp_session

    rows = write_subscribers(newsletter, 9)
    original = smtp_session.SmtpSession._transaction
    calls = {"n": 0, "quit_after_interrupt": 0}

    def interrupted(self: Any, data: bytes, sender: str, recipient: str) -> None:
        calls["n"] += 1
        if calls["n"] == 4:
            # Ctrl-C while the message body is on its way: half of it is out.
            assert self._smtp is not None
            self._smtp.mail(sender)
            self._smtp.rcpt(recipient)
            self._smtp.putcmd("data")
            self._smtp.getreply()
            self._smtp.send(data[: len(data) // 2])
            raise KeyboardInterrupt
        original(self, data, sender, recipient)

    real_quit = smtp_session.smtplib.SMTP.quit

    def quit_(self: Any) -> Any:
        if calls["n"] == 4:
            calls["quit_after_interrupt"] += 1
        return real_quit(self)

    with SmtpTestServer() as server:
        smtp_config(newsletter, server)
        configure(newsletter, "")
        monkeypatch.setattr(smtp_session.SmtpSession, "_transaction", interrupted)
        monkeypatch.setattr(smtp_session.smtplib.SMTP, "quit", quit_)
        stopped = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        assert stopped.exit_code == 130, stopped.output
        assert "Interrupted." in stopped.stderr and "Traceback" not in stopped.output
        # A QUIT in the middle of DATA would be read as message text: the server never answers
        # it, and postcli would hang until the timeout. The connection is dropped instead.
        assert calls["quit_after_interrupt"] == 0
        assert len(server.messages) == 3
        status = run_cli("-C", newsletter, "status")
        assert status.exit_code == 0 and "interrupted" in status.stdout  # DESIGN: not a problem
        monkeypatch.setattr(smtp_session.SmtpSession, "_transaction", original)
        resumed = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        assert resumed.exit_code == 0, resumed.output
        server.wait_for(len(rows))
    assert server.count_by_recipient() == {email: 1 for email, _ in rows}
    assert run_cli("-C", newsletter, "status").exit_code == 0


# -- --force planned while another run was sending ------------------------------------------------


def test_force_confirmed_before_another_run_finished_does_not_send_everything_again(
    newsletter: Path,
) -> None:
    """`send --force` planned (and confirmed) while the ledger showed the send unfinished, then
    run after another process finished it: the user never saw it "sent", so --force must not
    start a new round to the whole list."""
    from postcli.send import SendOptions, execute, plan_send

    rows = write_subscribers(newsletter, 6)
    configure(newsletter, '[providers.file]\nsubscribers = "subscribers.csv"')
    settings = config.load(newsletter)
    forced = plan_send(settings, ISSUE_ID, SendOptions(force=True))
    assert [v.action for v in forced.variants] == ["send", "send"]

    other = execute(plan_send(settings, ISSUE_ID, SendOptions()))  # the other process
    assert other.exit_code == 0 and {v.action for v in other.variants} == {"sent"}
    outbox = newsletter / "outbox" / ISSUE_ID / "to"
    first = {p.name: p.stat().st_mtime_ns for p in outbox.iterdir()}

    report = execute(forced)
    assert report.exit_code == 0
    assert {v.action for v in report.variants} == {"already"}
    assert {p.name: p.stat().st_mtime_ns for p in outbox.iterdir()} == first
    with ledger_of(newsletter) as ledger:
        assert {s.generation for s in ledger.sends(mode="live")} == {1}
    assert len(first) == len(rows)


def test_force_over_a_local_schedule_that_send_due_sent_meanwhile_sends_nothing(
    newsletter: Path,
) -> None:
    """`send --force` confirmed while the ledger said "scheduled" (to send it now instead), and
    `send --due` sent it meanwhile: nobody gets it a second time."""
    from postcli.due import run_due
    from postcli.send import SendOptions, execute, plan_send

    write_subscribers(newsletter, 4)
    configure(newsletter, '[providers.file]\nsubscribers = "subscribers.csv"')
    settings = config.load(newsletter)
    scheduled = execute(plan_send(settings, ISSUE_ID, SendOptions(at="+1h")))
    assert {v.action for v in scheduled.variants} == {"scheduled"}
    forced = plan_send(settings, ISSUE_ID, SendOptions(force=True, now=True))
    assert [v.action for v in forced.variants] == ["send", "send"]

    due = run_due(settings, now=datetime.now(UTC) + timedelta(hours=2))
    assert {item.outcome for item in due.items} == {"sent"}
    outbox = newsletter / "outbox" / ISSUE_ID / "to"
    first = {p.name: p.stat().st_mtime_ns for p in outbox.iterdir()}

    report = execute(forced)
    assert {v.action for v in report.variants} == {"already"}
    assert "by another postcli run meanwhile" in report.variants[0].message
    assert {p.name: p.stat().st_mtime_ns for p in outbox.iterdir()} == first
    with ledger_of(newsletter) as ledger:
        assert {s.generation for s in ledger.sends(mode="live")} == {1}


def test_force_on_what_the_plan_saw_sent_still_sends_again(newsletter: Path) -> None:
    from postcli.send import SendOptions, execute, plan_send

    settings = config.load(newsletter)
    assert execute(plan_send(settings, ISSUE_ID, SendOptions())).exit_code == 0
    report = execute(plan_send(settings, ISSUE_ID, SendOptions(force=True)))
    assert {v.action for v in report.variants} == {"sent"}
    with ledger_of(newsletter) as ledger:
        assert sorted(s.generation for s in ledger.sends(mode="live")) == [1, 1, 2, 2]


# -- a provider schedule interrupted -------------------------------------------------------------


def test_a_provider_schedule_interrupted_after_its_draft_is_scheduled_again_not_sent_now(
    newsletter: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`send ISSUE --at T` whose schedule call failed after the draft was made: running the same
    command again schedules that draft for T; it must not send it at once."""
    monkeypatch.setenv("BUTTONDOWN_API_KEY", BUTTONDOWN_KEY)
    at = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0).isoformat()
    fake = ButtondownFake(api_key=BUTTONDOWN_KEY)
    with serve(fake) as server:
        set_provider(newsletter, "buttondown")
        configure(newsletter, f'[providers.buttondown]\nbase_url = "{server.base_url}"')
        fake.refuse(1, status=422, method="POST", path=r"/publish")
        failed = run_cli("-C", newsletter, "send", ISSUE_ID, "--variant", "free", "--at", at, "-y")
        assert failed.exit_code == 3, failed.output
        assert fake.sends() == [] and len(fake.emails) == 1

        again = run_cli("-C", newsletter, "send", ISSUE_ID, "--variant", "free", "--at", at, "-y")
        assert again.exit_code == 0, again.output
        assert [d.kind for d in fake.sends()] == ["schedule"]
        assert len(fake.emails) == 1  # the draft of the first run, not a second one
        assert "scheduled on the provider" in again.stdout
    with ledger_of(newsletter) as ledger:
        (record,) = ledger.sends(mode="live")
    assert record.status == "scheduled" and record.remote_id in fake.emails
    assert fake.violations == []


# -- status while the ledger changes -------------------------------------------------------------


def test_latest_live_keeps_a_send_another_process_updates_meanwhile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`postcli status` reads every send, then the latest of each; a send another process moves
    on in between (a status change, a new updated_at) is still the latest and must be listed."""
    with Ledger.open(tmp_path) as writer:
        record = writer.begin(ISSUE_ID, "free", "file", content_hash="h1")
        writer.set_status(record.id, "sending")
    original = Ledger.current

    def current_after_a_write(self: Ledger, *args: Any) -> Any:
        with Ledger.open(tmp_path) as other:
            other.set_status(record.id, "failed", error="connection lost")
        return original(self, *args)

    monkeypatch.setattr(Ledger, "current", current_after_a_write)
    with Ledger.open(tmp_path) as reader:
        latest = reader.latest_live()
    assert [(r.id, r.status) for r in latest] == [(record.id, "failed")]


# -- a ledger another process keeps locked -------------------------------------------------------


def test_a_ledger_locked_past_the_busy_timeout_is_exit_4_not_a_traceback(
    newsletter: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten cron runs at once: one that waits longer than the busy timeout for the ledger must
    say so and exit 4 (run again later), never exit 1 with a traceback."""
    import sqlite3

    from postcli.ledger import schema as ledger_module

    write_issue(newsletter, issue_id="2026-11-01-due", extra="")
    path = newsletter / "issues" / "2026-11-01-due.md"
    stamp = (datetime.now(UTC) - timedelta(minutes=2)).isoformat(timespec="seconds")
    path.write_text(
        path.read_text("utf-8").replace("audience: all", f'audience: all\nsend_at: "{stamp}"'),
        "utf-8",
    )
    (newsletter / "issues" / f"{ISSUE_ID}.md").unlink()
    Ledger.open(newsletter / ".postcli").close()
    monkeypatch.setattr(ledger_module, "BUSY_TIMEOUT", 0.2)
    holder = sqlite3.connect(newsletter / ".postcli" / "ledger.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        result = run_cli("-C", newsletter, "send", "--due")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output
    assert "ledger is locked by another process" in result.output
    done = run_cli("-C", newsletter, "send", "--due")
    assert done.exit_code == 0, done.output
    assert (newsletter / "outbox" / "2026-11-01-due" / "free.eml").is_file()


# -- the subscribers file changed between a crash and its resume -----------------------------------


def test_a_list_exported_again_with_other_capitals_sends_nobody_twice_on_resume(
    newsletter: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Addresses compare without case (the subscribers file rejects such duplicates): after a
    stopped send, the same list with capitalised addresses resumes, it does not start over."""
    from postcli.errors import ProviderUnavailable
    from postcli.providers import file as file_provider

    rows = write_subscribers(newsletter, 6)
    configure(newsletter, '[providers.file]\nsubscribers = "subscribers.csv"')
    original = file_provider.FolderTransport.deliver
    delivered: list[str] = []

    def deliver(self: Any, message: Any, *, sender: str, recipient: str) -> None:
        if self.folder.name == "to" and len(delivered) == 3:
            raise ProviderUnavailable("the disk went away")
        original(self, message, sender=sender, recipient=recipient)
        if self.folder.name == "to":
            delivered.append(recipient)

    monkeypatch.setattr(file_provider.FolderTransport, "deliver", deliver)
    stopped = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert stopped.exit_code == 4, stopped.output
    assert len(delivered) == 3

    csv = newsletter / "subscribers.csv"
    csv.write_text(csv.read_text("utf-8").replace("reader", "Reader"), "utf-8")

    def counting(self: Any, message: Any, *, sender: str, recipient: str) -> None:
        original(self, message, sender=sender, recipient=recipient)
        if self.folder.name == "to":
            delivered.append(recipient)

    monkeypatch.setattr(file_provider.FolderTransport, "deliver", counting)
    resumed = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert resumed.exit_code == 0, resumed.output
    folded = [email.casefold() for email in delivered]
    assert sorted(folded) == sorted(email for email, _ in rows)
    skipped = re.findall(r"(\d+) skipped \(sent before\)", resumed.stdout)
    assert sum(int(n) for n in skipped) == 3, resumed.stdout
    with ledger_of(newsletter) as ledger:
        for send in ledger.sends(mode="live"):
            assert send.status == "sent"
            counts = ledger.counts(send.id)
            assert counts.pending == 0 and counts.sent == counts.total


# -- `postcli status` glancing at the lock --------------------------------------------------------


def test_send_due_is_not_skipped_by_a_status_glancing_at_the_lock(
    newsletter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`postcli status` takes the issue's lock for an instant to tell "in progress" from
    "interrupted"; a cron `send --due` meeting it then must send, not skip the issue as busy."""
    import fcntl
    import os

    from postcli.issues import Variant
    from postcli.ledger import lock as ledger_module
    from postcli.send import send_one

    settings = config.load(newsletter)
    folder = newsletter / ".postcli" / "locks"
    folder.mkdir(parents=True)
    fd = os.open(folder / f"{ISSUE_ID}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the glance, as lock_held() takes it

    held = [fd]

    def sleep(seconds: float) -> None:  # the glance is over by the first poll
        while held:
            os.close(held.pop())

    monkeypatch.setattr(ledger_module.time, "sleep", sleep)
    try:
        report = send_one(settings, ISSUE_ID, Variant.FREE)
    finally:
        sleep(0)
    assert [v.action for v in report.variants] == ["sent"]
