"""`postcli send` through the `postmark` provider, against the fake Postmark API on 127.0.0.1
(tests/fakes/postmark_fake.py, validating every request against tests/contracts/postmark/):
batches of at most 500, per-message errors in a 200 reply, throttling, lost answers, SIGKILL and
resume, and the server token kept out of every output and file."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fakes.bulk_server import serve
from fakes.postmark_fake import TOKEN, PostmarkFake
from helpers.send import (
    ISSUE_ID,
    SECRET,
    SUBJECT,
    configure,
    run_postcli,
    set_provider,
    write_issue,
    write_subscribers,
)
from helpers.status import assert_interrupted_is_no_problem
from helpers.workspace import clear_send_at
from postcli.ledger import Ledger


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", TOKEN)
    return TOKEN


@pytest.fixture
def postmark() -> Iterator[PostmarkFake]:
    fake = PostmarkFake()
    with serve(fake):
        yield fake


@pytest.fixture
def newsletter(workspace: Path) -> Path:
    clear_send_at(workspace)  # the sample issues' send_at may be overdue by today's clock
    write_issue(workspace)
    return workspace


def postmark_config(
    root: Path, base_url: str, *, stream: str = "broadcast", extra: str = "", timeout: int = 2
) -> None:
    set_provider(root, "postmark")
    configure(
        root,
        "[providers.postmark]\n"
        f'base_url = "{base_url}"\n'
        f'message_stream = "{stream}"\n'
        'subscribers = "subscribers.csv"\n'
        f"timeout = {timeout}\n" + extra,
    )


def assert_exactly_once(fake: PostmarkFake, rows: list[tuple[str, str]]) -> None:
    counts = fake.count_by_recipient()
    assert set(counts) == {email for email, _ in rows}
    assert [e for e, n in counts.items() if n != 1] == []


def test_each_tier_gets_its_variant_in_batches_of_at_most_500_and_a_rerun_sends_nothing(
    newsletter: Path, postmark: PostmarkFake, token: str, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 1300)  # 866 free, 434 premium
    # Time enough for a big batch on a busy machine: a timeout would be a lost answer.
    postmark_config(newsletter, postmark.base_url, timeout=120)
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    assert postmark.violations == []
    assert_exactly_once(postmark, rows)
    assert sorted(postmark.batch_sizes) == [366, 434, 500]
    tiers = dict(rows)
    for stored in postmark.messages:
        message = stored.message
        assert (SECRET in message["HtmlBody"]) == (tiers[stored.to] == "premium")
        assert (SECRET in message["TextBody"]) == (tiers[stored.to] == "premium")
        assert message["Subject"] == SUBJECT and message["MessageStream"] == "broadcast"
        own = f"https://letter.test/unsubscribe?email={stored.to}"
        assert own in message["TextBody"] and own in message["HtmlBody"]
        assert stored.header("List-Unsubscribe") == f"<{own}>"
        assert stored.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
        assert (stored.header("Message-ID") or "").endswith("@letter.test>")
    again = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert again.exit_code == 0 and "already sent" in again.output
    assert len(postmark.messages) == 1300


def test_refused_recipients_in_a_200_reply_are_failed_and_listed_the_rest_sent_exit_3(
    newsletter: Path, postmark: PostmarkFake, token: str, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 12)
    postmark_config(newsletter, postmark.base_url)
    postmark.inactive = {"reader4@example.org", "reader6@example.org"}
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 3, result.output
    assert "failed: reader4@example.org: Postmark refused it: 406" in result.output
    assert "failed: reader6@example.org: Postmark refused it: 406" in result.output
    sent = set(postmark.count_by_recipient())
    assert sent == {e for e, _ in rows} - postmark.inactive
    with Ledger.open(newsletter / ".postcli") as ledger:
        failed = {
            email: row.error
            for send in ledger.sends()
            for email, row in ledger.recipients(send.id).items()
            if row.status == "failed"
        }
    assert set(failed) == postmark.inactive and all(
        "inactive" in (e or "") for e in failed.values()
    )
    # Reactivated in Postmark, the next run sends exactly those two.
    postmark.inactive = set()
    again = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert again.exit_code == 0, again.output
    assert_exactly_once(postmark, rows)


def test_recipients_throttled_inside_a_200_reply_are_sent_again(
    newsletter: Path, postmark: PostmarkFake, token: str, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 9)
    postmark_config(newsletter, postmark.base_url)
    postmark.throttle_recipient("reader1@example.org", times=2)
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    assert_exactly_once(postmark, rows)
    assert "possibly delivered twice" not in result.output


def test_a_429_with_retry_after_is_waited_out(
    newsletter: Path, postmark: PostmarkFake, token: str, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 8)
    postmark_config(newsletter, postmark.base_url)
    postmark.status(2, status=429, retry_after=1, path="/email/batch")
    started = time.monotonic()
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 2.0  # it waited as asked, twice
    assert_exactly_once(postmark, rows)
    assert "possibly delivered twice" not in result.output


def test_a_dropped_connection_after_the_batch_was_accepted_is_resent_and_reported(
    newsletter: Path, postmark: PostmarkFake, token: str, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 6)  # 4 free, 2 premium
    postmark_config(newsletter, postmark.base_url)
    postmark.drop(1, path="/email/batch")  # the first batch (free) is stored, then no answer
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    counts = postmark.count_by_recipient()
    free = {e for e, t in rows if t == "free"}
    assert {e for e, n in counts.items() if n == 2} == free
    assert set(counts) == {e for e, _ in rows}
    for email in free:
        assert f"possibly delivered twice (same Message-ID): {email}" in result.output
        assert len({m.header("Message-ID") for m in postmark.to(email)}) == 1


def test_a_timeout_counts_as_a_lost_answer_too(
    newsletter: Path, postmark: PostmarkFake, token: str, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 3)  # 2 free, 1 premium
    postmark_config(newsletter, postmark.base_url)
    postmark.delay(1, seconds=3, path="/email/batch")  # longer than timeout = 2
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    assert set(postmark.count_by_recipient()) == {e for e, _ in rows}
    assert "possibly delivered twice" in result.output


def test_a_server_that_stays_down_exits_4_and_the_next_run_finishes(
    newsletter: Path, postmark: PostmarkFake, token: str, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 5)
    postmark_config(newsletter, postmark.base_url)
    postmark.status(30, status=503)
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 4, result.output
    with Ledger.open(newsletter / ".postcli") as ledger:
        states = {r.status for s in ledger.sends() for r in ledger.recipients(s.id).values()}
    assert states == {"pending"}  # a 503 promises nothing went out
    postmark.faults.clear()
    again = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert again.exit_code == 0, again.output
    assert_exactly_once(postmark, rows)
    assert "possibly delivered twice" not in again.output


def test_a_wrong_token_exits_3_and_sends_nothing(
    newsletter: Path,
    postmark: PostmarkFake,
    run_cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_subscribers(newsletter, 4)
    postmark_config(newsletter, postmark.base_url)
    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "wrong-token-1234")
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 3
    assert "401" in result.output and "POSTMARK_SERVER_TOKEN" in result.output
    assert "wrong-token-1234" not in result.output
    assert postmark.messages == []


def test_an_unknown_stream_stops_the_run_with_exit_3(
    newsletter: Path, postmark: PostmarkFake, token: str, run_cli: Callable[..., Any]
) -> None:
    write_subscribers(newsletter, 4)
    postmark_config(newsletter, postmark.base_url, stream="newsletters")
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 3
    assert "1235" in result.output
    with Ledger.open(newsletter / ".postcli") as ledger:
        states = {r.status for s in ledger.sends() for r in ledger.recipients(s.id).values()}
    assert states == {"pending"}  # nobody failed for the stream's fault


def test_the_transactional_stream_is_refused_in_the_config(
    newsletter: Path, postmark: PostmarkFake, token: str, run_cli: Callable[..., Any]
) -> None:
    write_subscribers(newsletter, 2)
    postmark_config(newsletter, postmark.base_url, stream="outbound")
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 1
    assert "postcli.toml" in result.output and "broadcast" in result.output
    assert postmark.requests == []


def test_a_test_copy_goes_through_post_email(
    newsletter: Path, postmark: PostmarkFake, token: str, run_cli: Callable[..., Any]
) -> None:
    write_subscribers(newsletter, 2)
    postmark_config(newsletter, postmark.base_url)
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--test", "me@example.net")
    assert result.exit_code == 0, result.output
    assert [m.to for m in postmark.messages] == ["me@example.net"] * 2
    assert all(m.message["Subject"].startswith("[TEST] ") for m in postmark.messages)
    assert postmark.violations == []


def test_rate_keeps_each_call_within_one_seconds_worth(
    newsletter: Path, postmark: PostmarkFake, token: str, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 30)
    postmark_config(newsletter, postmark.base_url, extra="rate = 8\n")
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    assert max(postmark.batch_sizes) <= 8
    assert_exactly_once(postmark, rows)


def test_the_token_appears_in_no_output_and_no_file(
    newsletter: Path, postmark: PostmarkFake, token: str, run_cli: Callable[..., Any]
) -> None:
    write_subscribers(newsletter, 4)
    postmark_config(newsletter, postmark.base_url)
    outputs = [run_cli("-C", newsletter, "-v", "send", ISSUE_ID, "--yes")]
    postmark.status(20, status=500)
    outputs.append(run_cli("-C", newsletter, "-v", "send", ISSUE_ID, "--yes", "--force"))
    outputs.append(run_cli("-C", newsletter, "-v", "status", "--json"))
    assert outputs[0].exit_code == 0 and outputs[1].exit_code == 4
    import base64

    forms = [TOKEN, base64.b64encode(TOKEN.encode()).decode()]
    for result in outputs:
        assert not any(form in result.output for form in forms)
    for path in newsletter.rglob("*"):
        if path.is_file():
            assert not any(form.encode() in path.read_bytes() for form in forms), path


# -- crash and resume, as separate processes ---------------------------------------------------


def test_a_kill_between_the_accepted_batch_and_its_commit_resends_that_batch_only(
    newsletter: Path, postmark: PostmarkFake
) -> None:
    subscribers = write_subscribers(newsletter, 40)  # 26 free (the first batch), 14 premium
    postmark_config(newsletter, postmark.base_url)
    env = {"POSTMARK_SERVER_TOKEN": TOKEN}
    killed = run_postcli(
        newsletter, "send", ISSUE_ID, "--yes", env={**env, "POSTCLI_TEST_KILL_BEFORE_COMMIT": "10"}
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    first = {m.to for m in postmark.messages}
    assert len(first) == 26
    rows = assert_interrupted_is_no_problem(
        lambda *args: run_postcli(newsletter, *args, env=env), ISSUE_ID
    )
    assert [(r["variant"], r["recipients"]["sending"]) for r in rows] == [("free", 26)]
    resumed = run_postcli(newsletter, "send", ISSUE_ID, "--yes", env=env)
    assert resumed.returncode == 0, resumed.stderr
    counts = postmark.count_by_recipient()
    assert set(counts) == {e for e, _ in subscribers}
    assert {e for e, n in counts.items() if n == 2} == first
    for email in first:
        assert f"possibly delivered twice (same Message-ID): {email}" in resumed.stdout
    rerun = run_postcli(newsletter, "send", ISSUE_ID, "--yes", env=env)
    assert rerun.returncode == 0 and "already sent" in rerun.stdout + rerun.stderr
    assert sum(postmark.count_by_recipient().values()) == 40 + 26


@pytest.mark.slow
def test_a_send_killed_at_a_random_moment_leaves_nobody_out_and_only_one_batch_twice(
    newsletter: Path, postmark: PostmarkFake
) -> None:
    seed = random.randrange(1_000_000)
    kill_at = random.Random(seed).randrange(1, 2900)
    rows = write_subscribers(newsletter, 3000)
    postmark_config(newsletter, postmark.base_url, extra="rate = 400\n", timeout=60)  # 400 a call
    env = {**os.environ, "POSTMARK_SERVER_TOKEN": TOKEN}
    with subprocess.Popen(
        [sys.executable, "-m", "postcli", "-C", str(newsletter), "-q", "send", ISSUE_ID, "--yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as sender:
        deadline = time.monotonic() + 120
        while len(postmark.messages) < kill_at and sender.poll() is None:
            assert time.monotonic() < deadline, seed
            time.sleep(0.001)
        if sender.poll() is None:
            os.kill(sender.pid, signal.SIGKILL)
        sender.wait()
    resumed = run_postcli(
        newsletter, "send", ISSUE_ID, "--yes", env={"POSTMARK_SERVER_TOKEN": TOKEN}
    )
    assert resumed.returncode == 0, (seed, resumed.stderr)
    counts = postmark.count_by_recipient()
    assert set(counts) == {e for e, _ in rows}, seed
    twice = {e for e, n in counts.items() if n > 1}
    assert all(counts[e] == 2 for e in twice), seed
    assert len(twice) <= 400, seed  # at most the one batch in flight
    for email in twice:
        assert f"possibly delivered twice (same Message-ID): {email}" in resumed.stdout, seed
