"""`postcli send` through the `smtp` provider, end to end against a real local SMTP server:
variants per tier, MIME on the bytes the server got, TLS and AUTH, crash and resume with SIGKILL,
two processes at once, server faults, and the password kept out of every output and file."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers.send import (
    ISSUE_ID,
    SECRET,
    SUBJECT,
    assert_already_sent,
    assert_exactly_once,
    assert_status_interrupted,
    parse,
    parts,
    resume_send,
    retarget,
    run_postcli,
    send_killed,
    send_twice_at_once,
    smtp_config,
    write_issue,
    write_subscribers,
)
from helpers.status import assert_interrupted_is_no_problem
from helpers.workspace import clear_send_at
from postcli.ledger import Ledger
from smtp_server import SmtpTestServer, kill_a_send_when_received

PASSWORD = "pw-Zq8vX3kL9mN2"


@pytest.fixture
def newsletter(workspace: Path) -> Path:
    clear_send_at(workspace)  # the sample issues' send_at may be overdue by today's clock
    write_issue(workspace)
    return workspace


def tiers(rows: list[tuple[str, str]]) -> dict[str, str]:
    return dict(rows)


def test_each_tier_gets_its_variant_over_starttls_with_auth(
    newsletter: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = write_subscribers(newsletter, 9)
    with SmtpTestServer(starttls=True, auth=("me", PASSWORD)) as server:
        smtp_config(newsletter, server, username="me")
        monkeypatch.setenv("POSTCLI_SMTP_PASSWORD", PASSWORD)
        result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        assert result.exit_code == 0, result.output
        received = server.wait_for(len(rows))
        assert server.connections == 1  # one reused connection
    assert_exactly_once(server, rows)
    tier_of = tiers(rows)
    message_ids = set()
    for item in received:
        assert item.authenticated_as == "me"
        assert item.mail_from == "hello@letter.test"
        (rcpt,) = item.rcpt_tos
        message = parse(item.raw)
        text, html = parts(message)
        if tier_of[rcpt] == "premium":
            assert SECRET in text and SECRET in html
        else:
            assert SECRET not in text + html and SECRET.encode() not in item.raw
        assert message["Subject"] == SUBJECT
        assert b"Subject: =?utf-8?" in item.raw  # RFC 2047 on the wire
        assert item.raw.isascii()
        own = f"https://letter.test/unsubscribe?email={rcpt}"
        assert message["List-Unsubscribe"] == f"<{own}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert own in text and own in html
        assert message["To"].addresses[0].addr_spec == rcpt
        message_ids.add(message["Message-ID"])
    assert len(message_ids) == len(rows)
    assert "3 sent" in result.stdout and "6 sent" in result.stdout


def test_implicit_tls_works_too(newsletter: Path, run_cli: Callable[..., Any]) -> None:
    rows = write_subscribers(newsletter, 3)
    with SmtpTestServer(tls=True) as server:
        smtp_config(newsletter, server)
        result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        assert result.exit_code == 0, result.output
        server.wait_for(len(rows))
    assert_exactly_once(server, rows)


def test_a_refused_login_exits_3_and_sends_nothing(
    newsletter: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_subscribers(newsletter, 3)
    with SmtpTestServer(auth=("me", PASSWORD)) as server:
        smtp_config(newsletter, server, username="me")
        monkeypatch.setenv("POSTCLI_SMTP_PASSWORD", "wrong-password-123")
        result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        assert result.exit_code == 3
        assert "refused the login" in result.stderr
        assert "wrong-password-123" not in result.output
        assert server.messages == []
    status = run_cli("-C", newsletter, "status")
    assert status.exit_code == 1 and "failed" in status.stdout
    monkeypatch.delenv("POSTCLI_SMTP_PASSWORD")
    missing = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert missing.exit_code == 1 and "POSTCLI_SMTP_PASSWORD" in missing.stderr


def test_refused_recipients_are_reported_and_retried_by_the_next_run(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 8)
    refused = {"reader1@example.org", "reader3@example.org"}
    with SmtpTestServer(refuse=refused) as server:
        smtp_config(newsletter, server)
        result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        server.wait_for(6)
    assert result.exit_code == 3
    assert "2 failed" in result.stdout or "1 failed" in result.stdout
    for email in refused:
        assert f"failed: {email}: " in result.stdout and "550" in result.stdout
    assert set(server.count_by_recipient()) == {e for e, _ in rows} - refused
    status = run_cli("-C", newsletter, "status", "--json")
    assert status.exit_code == 1
    failed = {
        row["variant"]: row["recipients"]["failed"] for row in json.loads(status.stdout)["sends"]
    }
    assert sum(failed.values()) == 2

    with SmtpTestServer() as fixed:
        retarget(newsletter, fixed)
        again = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        assert again.exit_code == 0, again.output
        fixed.wait_for(2)
    assert fixed.count_by_recipient() == dict.fromkeys(refused, 1)
    assert run_cli("-C", newsletter, "status").exit_code == 0


def test_dropped_connections_and_421_are_retried_on_a_new_connection(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 12)
    with SmtpTestServer(drop_after=3, fail_421_at=7) as server:
        smtp_config(newsletter, server)
        result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        assert result.exit_code == 0, result.output
        server.wait_for(len(rows))
        assert server.connections >= 3
    assert_exactly_once(server, rows)
    assert run_cli("-C", newsletter, "status").exit_code == 0


def test_a_server_that_stays_unavailable_exits_4_and_the_next_run_finishes(
    newsletter: Path, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 10)
    with SmtpTestServer(fail_421_at=range(5, 50)) as server:
        smtp_config(newsletter, server)
        result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        accepted = server.count_by_recipient()
    assert result.exit_code == 4, result.output
    assert "run again" in result.stderr
    assert len(accepted) == 4
    status = json.loads(run_cli("-C", newsletter, "status", "--json").stdout)
    assert {row["state"] for row in status["sends"]} <= {"failed", "interrupted"}
    with SmtpTestServer() as fixed:
        retarget(newsletter, fixed)
        again = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        assert again.exit_code == 0, again.output
        fixed.wait_for(len(rows) - 4)
    total = Counter(accepted) + Counter(fixed.count_by_recipient())
    assert total == Counter({email: 1 for email, _ in rows})


# -- crash and resume, as separate processes ---------------------------------------------------


@pytest.mark.slow
def test_a_send_to_2000_killed_after_a_commit_resumes_with_exactly_one_copy_each(
    newsletter: Path,
) -> None:
    rows = write_subscribers(newsletter, 2000)
    with SmtpTestServer() as server:
        smtp_config(newsletter, server)
        send_killed(newsletter, "POSTCLI_TEST_KILL_AFTER_SENT", 700)
        assert len(server.messages) == 700
        assert_status_interrupted(newsletter)  # DESIGN: not a problem
        resumed = resume_send(newsletter)
        server.wait_for(2000)
    assert_exactly_once(server, rows)
    assert "possibly delivered twice" not in resumed.stdout
    skipped = sum(int(word) for word in _numbers_before(resumed.stdout, "skipped"))
    assert skipped == 700
    assert run_postcli(newsletter, "status").returncode == 0


def _numbers_before(text: str, word: str) -> list[str]:
    tokens = text.replace(",", " ").split()
    return [
        tokens[i - 1] for i, token in enumerate(tokens) if token == word and tokens[i - 1].isdigit()
    ]


def test_a_kill_between_the_250_and_its_commit_resends_one_message_with_the_same_id(
    newsletter: Path,
) -> None:
    rows = write_subscribers(newsletter, 300)
    with SmtpTestServer() as server:
        smtp_config(newsletter, server)
        send_killed(newsletter, "POSTCLI_TEST_KILL_BEFORE_COMMIT", 120)
        in_flight = server.messages[-1].rcpt_tos[0]
        cut = assert_interrupted_is_no_problem(
            lambda *args: run_postcli(newsletter, *args), ISSUE_ID
        )
        assert [r["recipients"]["sending"] for r in cut] == [1]  # the one message in flight
        resumed = resume_send(newsletter)
        server.wait_for(301)
        status = run_postcli(newsletter, "status")
    counts = server.count_by_recipient()
    assert set(counts) == {e for e, _ in rows}
    assert {e: n for e, n in counts.items() if n != 1} == {in_flight: 2}
    ids = server.message_ids_by_recipient()
    assert all(len(set(found)) == 1 for found in ids.values())  # one Message-ID per subscriber
    assert f"possibly delivered twice (same Message-ID): {in_flight}" in resumed.stdout
    assert status.returncode == 0 and f"possibly delivered twice: {in_flight}" in status.stdout


@pytest.mark.slow
def test_a_send_to_2000_killed_at_a_random_moment_delivers_each_once_at_most_one_twice(
    newsletter: Path,
) -> None:
    seed = random.randrange(1_000_000)
    kill_at = random.Random(seed).randrange(100, 1800)
    rows = write_subscribers(newsletter, 2000)
    with SmtpTestServer() as server:
        smtp_config(newsletter, server)
        kill_a_send_when_received(server, newsletter, ["send", ISSUE_ID, "--yes"], kill_at, 120)
        resumed = run_postcli(newsletter, "send", ISSUE_ID, "--yes")
        assert resumed.returncode == 0, (seed, resumed.stderr)
        server.wait_for(2000)
    counts = server.count_by_recipient()
    assert set(counts) == {e for e, _ in rows}, seed
    twice = [e for e, n in counts.items() if n > 1]
    assert len(twice) <= 1 and all(counts[e] == 2 for e in twice), seed
    assert all(len(set(found)) == 1 for found in server.message_ids_by_recipient().values()), seed
    for email in twice:
        assert f"possibly delivered twice (same Message-ID): {email}" in resumed.stdout, seed


def test_two_processes_sending_the_same_issue_at_once_deliver_each_once(newsletter: Path) -> None:
    rows = write_subscribers(newsletter, 400)
    with SmtpTestServer() as server:
        smtp_config(newsletter, server)
        codes, outputs = send_twice_at_once(newsletter)
        assert sorted(codes) in ([0, 0], [0, 4]), outputs
        said = "".join(out + err for out, err in outputs)
        assert "another postcli process is sending" in said or "already sent" in said
        assert_already_sent(newsletter)
        server.wait_for(len(rows))
    assert_exactly_once(server, rows)


def test_the_password_appears_in_no_output_and_no_file(newsletter: Path) -> None:
    write_subscribers(newsletter, 6)
    env = {"POSTCLI_SMTP_PASSWORD": PASSWORD}
    with SmtpTestServer(starttls=True, auth=("me", PASSWORD)) as server:
        smtp_config(newsletter, server, username="me")
        outputs = [
            run_postcli(newsletter, "-v", "send", ISSUE_ID, "--yes", env=env),
            run_postcli(newsletter, "-v", "status", "--json", env=env),
            run_postcli(newsletter, "-v", "send", ISSUE_ID, "--test", "me@example.net", env=env),
            run_postcli(
                newsletter,
                "-v",
                "send",
                ISSUE_ID,
                "--yes",
                "--force",
                env={"POSTCLI_SMTP_PASSWORD": PASSWORD + "x"},
            ),
        ]
        server.wait_for(8)
    assert outputs[0].returncode == 0, outputs[0].stderr
    assert "DEBUG" in outputs[0].stderr  # -v did log
    assert outputs[3].returncode == 3
    import base64

    forms = [
        PASSWORD.encode(),
        base64.b64encode(PASSWORD.encode()),
        base64.b64encode(f"\0me\0{PASSWORD}".encode()),
    ]
    for result in outputs:
        for form in forms:
            assert form.decode() not in result.stdout + result.stderr
    for path in newsletter.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(form in data for form in forms), path
    with Ledger.open(newsletter / ".postcli") as ledger:
        assert all(PASSWORD not in (s.error or "") for s in ledger.sends())
