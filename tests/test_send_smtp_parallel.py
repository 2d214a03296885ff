"""`[providers.smtp] connections = N`: one send over N SMTP connections at once, end to end
against a real local SMTP server (aiosmtpd on 127.0.0.1).

What must hold with N > 1 exactly as with one connection: every subscriber gets one copy, a
rerun sends nothing, a SIGKILL at any moment and a rerun deliver everyone exactly once but for
the "possibly delivered twice" window, which is at most N messages wide and reported; faults on
one connection (421, 454, a drop in the middle of DATA) are handled on that connection, and a
connection that cannot go on hands its recipient to the others.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers.send import (
    ISSUE_ID,
    assert_already_sent,
    assert_exactly_once,
    assert_status_interrupted,
    configure,
    resume_send,
    retarget,
    run_postcli,
    send_command,
    send_killed,
    send_twice_at_once,
    smtp_config,
    write_issue,
    write_subscribers,
)
from helpers.workspace import clear_send_at
from postcli.ledger import Ledger
from smtp_server import SmtpTestServer, kill_a_send_when_received

N = 4  # the connections of every send here


@pytest.fixture
def newsletter(workspace: Path) -> Path:
    clear_send_at(workspace)  # the sample issues' send_at may be overdue by today's clock
    write_issue(workspace)
    return workspace


def parallel(root: Path, server: SmtpTestServer, extra: str = "") -> None:
    smtp_config(root, server)
    configure(root, f"connections = {N}\n{extra}")  # into [providers.smtp], the last table


def send_over_n(root: Path, server: SmtpTestServer, run_cli: Callable[..., Any]) -> Any:
    """`postcli send ISSUE_ID --yes` in this process, to `server` over N connections."""
    parallel(root, server)
    return run_cli("-C", root, "send", ISSUE_ID, "--yes")


def ledger_rows(root: Path) -> Counter[str]:
    """How many recipient rows of the ledger are in each state."""
    with Ledger.open(root / ".postcli") as ledger:
        states: Counter[str] = Counter()
        for record in ledger.sends(ISSUE_ID):
            states.update(str(r.status) for r in ledger.recipients(record.id).values())
        return states


def reported_twice(output: str) -> list[str]:
    """The addresses a send listed as possibly delivered twice."""
    marker = "possibly delivered twice (same Message-ID): "
    found: list[str] = []
    for line in output.splitlines():
        if marker in line:
            found += [a.strip() for a in line.split(marker, 1)[1].split(",") if a.strip()]
    return found


def assert_once_but_the_window(
    server: SmtpTestServer, rows: list[tuple[str, str]], output: str
) -> None:
    """Everyone got their copy; at most N got two, each with one Message-ID, each reported."""
    counts = server.count_by_recipient()
    assert set(counts) == {email for email, _ in rows}
    twice = {email for email, n in counts.items() if n > 1}
    assert all(counts[email] == 2 for email in twice), counts
    listed = reported_twice(output)
    assert len(listed) <= N, listed  # the window: at most one recipient per connection
    assert twice <= set(listed), (twice, listed)
    ids = server.message_ids_by_recipient()
    assert all(len(set(found)) == 1 for found in ids.values())  # one Message-ID each


def test_a_send_goes_over_n_connections_at_once_and_each_subscriber_gets_one_copy(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 240)
    with SmtpTestServer(delay=0.002) as server:
        result = send_over_n(newsletter, server, run_cli)
        assert result.exit_code == 0, result.output
        server.wait_for(len(rows))
        assert server.connections == N  # one per worker, none reopened
        assert server.max_concurrent == N  # and all of them at once
        by_connection = Counter(m.connection for m in server.messages)
        assert len(by_connection) == N and min(by_connection.values()) > 0
        assert_exactly_once(server, rows)
        # Each tier its own variant, as over one connection.
        subjects = {m.rcpt_tos[0]: str(m.message["Subject"]) for m in server.messages}
        premium = {e for e, tier in rows if tier == "premium"}
        assert len({subjects[e] for e in premium}) == 1
        again = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        assert again.exit_code == 0 and "already sent" in again.output
        time.sleep(0.2)
        assert len(server.messages) == len(rows)  # the rerun sent nothing
    assert ledger_rows(newsletter) == {"sent": len(rows)}
    assert run_cli("-C", newsletter, "status").exit_code == 0


def test_refused_recipients_are_failed_with_the_reason_and_the_rest_goes_out(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 40)
    refused = {rows[3][0], rows[17][0], rows[31][0]}
    with SmtpTestServer(refuse=refused) as server:
        result = send_over_n(newsletter, server, run_cli)
        server.wait_for(len(rows) - len(refused))
        assert result.exit_code == 3, result.output
        for email in refused:
            assert email in result.output
        assert "550" in result.output
        assert server.count_by_recipient() == {e: 1 for e, _ in rows if e not in refused}
    assert ledger_rows(newsletter) == {"sent": len(rows) - 3, "failed": 3}


def test_a_421_on_one_connection_reconnects_that_one_and_skips_nobody(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 60)
    with SmtpTestServer(refuse_connections={2}, delay=0.001) as server:
        result = send_over_n(newsletter, server, run_cli)
        assert result.exit_code == 0, result.output
        server.wait_for(len(rows))
        assert server.connections > N  # the refused one was replaced
        assert 2 not in {m.connection for m in server.messages}
    assert_exactly_once(server, rows)


def test_454_throttling_is_waited_out_and_retried_on_its_connection(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 30)
    with SmtpTestServer(throttle_at={3, 4, 9}) as server:
        result = send_over_n(newsletter, server, run_cli)
        assert result.exit_code == 0, result.output
        server.wait_for(len(rows))
    assert_exactly_once(server, rows)
    assert "possibly delivered twice" not in result.output  # a 454 kept nothing


def test_a_connection_dropped_mid_data_reconnects_and_a_lost_250_is_reported(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 50)
    # 5 and 17: the server hangs up in the middle of DATA and keeps nothing; 30: it keeps the
    # message but hangs up before its 250, so the sender cannot know.
    with SmtpTestServer(drop_in_data_at={5, 17}, drop_before_reply_at={30}) as server:
        result = send_over_n(newsletter, server, run_cli)
        assert result.exit_code == 0, result.output
        server.wait_for(len(rows) + 1)
    counts = server.count_by_recipient()
    assert set(counts) == {email for email, _ in rows}
    twice = {e: n for e, n in counts.items() if n > 1}
    assert list(twice.values()) == [2]  # only the one whose 250 was lost
    (kept_twice,) = twice
    assert len(set(server.message_ids_by_recipient()[kept_twice])) == 1
    # Every message of a dropped DATA may have reached the server: all three are reported.
    listed = reported_twice(result.stdout)
    assert kept_twice in listed and len(listed) == 3


def test_connections_the_server_will_not_serve_hand_their_recipients_to_the_others(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 40)
    # Like a relay that takes two connections of a client and answers 421 to the rest.
    with SmtpTestServer(refuse_connections=range(3, 1000)) as server:
        result = send_over_n(newsletter, server, run_cli)
        assert result.exit_code == 0, result.output
        server.wait_for(len(rows))
        assert {m.connection for m in server.messages} == {1, 2}
    assert_exactly_once(server, rows)
    assert ledger_rows(newsletter) == {"sent": len(rows)}


def test_when_every_connection_fails_the_run_exits_4_and_the_next_one_sends_everyone(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 20)
    with SmtpTestServer(refuse_connections=range(1, 1000)) as server:
        result = send_over_n(newsletter, server, run_cli)
        assert server.messages == []
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output and "run again" in result.stderr
    states = ledger_rows(newsletter)
    # Nothing half-written: the one the last connection held failed (as over one connection),
    # the others are pending; the run stopped before the second variant.
    assert set(states) <= {"pending", "failed"} and states["failed"] <= 1, states
    with SmtpTestServer() as fixed:
        retarget(newsletter, fixed)
        again = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        assert again.exit_code == 0, again.output
        fixed.wait_for(len(rows))
    assert_exactly_once(fixed, rows)


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0", "from 1 to 32"),
        ("-2", "from 1 to 32"),
        ("2.5", "from 1 to 32"),
        ('"4"', "from 1 to 32"),
        ("true", "from 1 to 32"),
        ("100000", "from 1 to 32"),
    ],
)
def test_a_bad_connections_setting_is_one_clear_line_and_exit_1(
    newsletter: Path, run_cli: Callable[..., Any], value: str, words: str
) -> None:
    write_subscribers(newsletter, 3)
    with SmtpTestServer() as server:
        smtp_config(newsletter, server)
        configure(newsletter, f"connections = {value}")
        result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        assert server.messages == []
    assert result.exit_code == 1, result.output
    assert "'connections' in [providers.smtp]" in result.stderr and words in result.stderr
    assert "postcli.toml" in result.stderr and "Traceback" not in result.output


# -- crash and resume, as separate processes ---------------------------------------------------


@pytest.mark.slow
def test_killed_after_a_commit_with_n_connections_the_rerun_leaves_everyone_with_one_copy(
    newsletter: Path,
) -> None:
    rows = write_subscribers(newsletter, 2000)
    with SmtpTestServer() as server:
        parallel(newsletter, server)
        send_killed(newsletter, "POSTCLI_TEST_KILL_AFTER_SENT", 700)
        # 700 committed; the other connections had at most one message each on the way.
        assert 700 <= len(server.messages) <= 700 + N - 1
        states = ledger_rows(newsletter)
        assert states["sent"] == 700 and states["sending"] <= N - 1
        assert_status_interrupted(newsletter)
        resumed = resume_send(newsletter)
        server.wait_for(2000)
        assert_once_but_the_window(server, rows, resumed.stdout)
        before = len(server.messages)
        assert_already_sent(newsletter)
        time.sleep(0.2)
        assert len(server.messages) == before  # a rerun sends nothing
    assert ledger_rows(newsletter) == {"sent": 2000}


def test_killed_between_a_250_and_its_commit_the_window_is_at_most_n_and_reported(
    newsletter: Path,
) -> None:
    rows = write_subscribers(newsletter, 300)
    with SmtpTestServer(delay=0.001) as server:
        parallel(newsletter, server)
        send_killed(newsletter, "POSTCLI_TEST_KILL_BEFORE_COMMIT", 120)
        states = ledger_rows(newsletter)
        assert states["sent"] == 119 and 1 <= states["sending"] <= N
        resumed = resume_send(newsletter)
        server.wait_for(len(rows) + 1)
        status = run_postcli(newsletter, "status")
    assert_once_but_the_window(server, rows, resumed.stdout)
    counts = server.count_by_recipient()
    assert any(n == 2 for n in counts.values())  # the one accepted, never committed
    listed = reported_twice(resumed.stdout)
    assert len(listed) == states["sending"]  # everyone the ledger had in flight, no one else
    assert status.returncode == 0 and "possibly delivered twice" in status.stdout


@pytest.mark.slow
def test_killed_at_a_random_moment_with_n_connections_each_once_but_at_most_n_twice(
    newsletter: Path,
) -> None:
    seed = random.randrange(1_000_000)
    kill_at = random.Random(seed).randrange(100, 1800)
    rows = write_subscribers(newsletter, 2000)
    with SmtpTestServer() as server:
        parallel(newsletter, server)
        kill_a_send_when_received(server, newsletter, ["send", ISSUE_ID, "--yes"], kill_at, 120)
        assert ledger_rows(newsletter)["sending"] <= N, seed
        resumed = run_postcli(newsletter, "send", ISSUE_ID, "--yes")
        assert resumed.returncode == 0, (seed, resumed.stderr)
        server.wait_for(2000)
    try:
        assert_once_but_the_window(server, rows, resumed.stdout)
    except AssertionError as error:
        raise AssertionError(f"seed {seed}: {error}") from None


def test_ctrl_c_with_n_connections_exits_130_and_the_next_run_finishes(newsletter: Path) -> None:
    rows = write_subscribers(newsletter, 400)
    # Replies slow enough that the send is still running when the signal comes, even on a
    # busy machine (about 100 messages a second over the 4 connections).
    with SmtpTestServer(delay=0.01) as server:
        parallel(newsletter, server)
        with subprocess.Popen(
            send_command(newsletter),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as sender:
            deadline = time.monotonic() + 60
            while len(server.messages) < 60 and time.monotonic() < deadline:
                time.sleep(0.005)
            sender.send_signal(signal.SIGINT)
            out, err = sender.communicate(timeout=60)
        assert sender.returncode == 130, (out, err)
        assert "Interrupted." in err and "Traceback" not in out + err
        states = ledger_rows(newsletter)
        assert states["sending"] <= N  # the rest is either sent or still pending
        assert states["sent"] >= 60 - N
        assert_status_interrupted(newsletter)
        resumed = resume_send(newsletter)
        server.wait_for(len(rows))
    assert_once_but_the_window(server, rows, resumed.stdout)
    assert ledger_rows(newsletter) == {"sent": len(rows)}


def test_two_processes_with_n_connections_each_sending_the_same_issue_deliver_each_once(
    newsletter: Path,
) -> None:
    rows = write_subscribers(newsletter, 400)
    with SmtpTestServer() as server:
        parallel(newsletter, server)
        codes, outputs = send_twice_at_once(newsletter)
        assert sorted(codes) in ([0, 0], [0, 4]), outputs
        assert_already_sent(newsletter)
        server.wait_for(len(rows))
    assert_exactly_once(server, rows)


# -- the one rate cap ------------------------------------------------------------------------------


def test_one_pacer_caps_every_connection_together() -> None:
    from postcli.providers.smtp_session import Pacer

    waits: list[float] = []
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            waits.append(round(seconds, 6))

    pacer = Pacer(4, clock=lambda: 100.0, sleep=sleep)  # a frozen clock: slots only add up
    threads = [threading.Thread(target=lambda: [pacer.wait() for _ in range(5)]) for _ in range(N)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 20 messages over 4 connections at 4 a second: 20 distinct slots a quarter second apart.
    assert sorted(waits) == [round(i / 4, 6) for i in range(1, 20)]


def test_the_connections_of_one_send_share_one_pacer(newsletter: Path) -> None:
    from postcli import config
    from postcli.providers.smtp import SmtpProvider

    write_subscribers(newsletter, 3)
    with SmtpTestServer() as server:
        smtp_config(newsletter, server)
        configure(newsletter, f"connections = {N}\nrate = 12")
    text = (newsletter / "postcli.toml").read_text("utf-8").replace("rate = 0\n", "")
    (newsletter / "postcli.toml").write_text(text, "utf-8")
    provider = SmtpProvider(config.load(newsletter))
    with provider.open_transport(ISSUE_ID) as transport:
        assert getattr(transport, "connections", 1) == N
        sessions = [transport._make() for _ in range(N)]  # type: ignore[union-attr]
    pacers = {id(session._pacer) for session in sessions}
    assert len(pacers) == 1 and sessions[0]._pacer is not None
    assert sessions[0]._pacer.rate == 12


def test_a_test_send_with_n_connections_uses_one(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    write_subscribers(newsletter, 3)
    with SmtpTestServer() as server:
        parallel(newsletter, server)
        result = run_cli("-C", newsletter, "send", ISSUE_ID, "--test", "me@example.org", "--yes")
        assert result.exit_code == 0, result.output
        server.wait_for(2)
        assert server.max_concurrent == 1  # one connection at a time, as without the setting
    assert set(server.count_by_recipient()) == {"me@example.org"}


def test_status_shows_per_variant_done_and_total_with_n_connections(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 30)
    with SmtpTestServer() as server:
        parallel(newsletter, server)
        assert run_cli("-C", newsletter, "send", ISSUE_ID, "--yes").exit_code == 0
        server.wait_for(len(rows))
    status = json.loads(run_cli("-C", newsletter, "status", "--json").stdout)
    sends = {row["variant"]: row for row in status["sends"] if row["issue"] == ISSUE_ID}
    tiers = Counter(tier for _, tier in rows)
    for variant, row in sends.items():
        assert row["state"] == "sent" and row["possibly_duplicated"] == []
        assert row["recipients"]["done"] == row["recipients"]["total"] == tiers[variant]
