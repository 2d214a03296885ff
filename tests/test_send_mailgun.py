"""`postcli send` through the `mailgun` provider, against the fake Mailgun API on 127.0.0.1
(tests/fakes/mailgun_fake.py: every form field validated against tests/contracts/mailgun/, the
batch fanned out with its recipient variables as Mailgun does): batches of at most 1,000,
personal unsubscribe links and headers, the EU base URL, throttling, lost answers, a kill and
its resume, and the API key kept out of every output and file."""

from __future__ import annotations

import base64
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes.bulk_server import serve
from fakes.mailgun_fake import API_KEY, DOMAIN, MailgunFake
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


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MAILGUN_API_KEY", API_KEY)
    return API_KEY


@pytest.fixture
def mailgun() -> Iterator[MailgunFake]:
    fake = MailgunFake()
    with serve(fake):
        yield fake


@pytest.fixture
def newsletter(workspace: Path) -> Path:
    clear_send_at(workspace)  # the sample issues' send_at may be overdue by today's clock
    write_issue(workspace)
    return workspace


def mailgun_config(root: Path, base_url: str | None, *, extra: str = "", timeout: int = 2) -> None:
    set_provider(root, "mailgun")
    configure(
        root,
        "[providers.mailgun]\n"
        + (f'base_url = "{base_url}"\n' if base_url else "")
        + f'domain = "{DOMAIN}"\n'
        'subscribers = "subscribers.csv"\n'
        f"timeout = {timeout}\n" + extra,
    )


def assert_exactly_once(fake: MailgunFake, rows: list[tuple[str, str]]) -> None:
    counts = fake.count_by_recipient()
    assert set(counts) == {email for email, _ in rows}
    assert [e for e, n in counts.items() if n != 1] == []


def test_each_tier_gets_its_variant_with_its_own_unsubscribe_link_in_batches_of_1000(
    newsletter: Path, mailgun: MailgunFake, key: str, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 2600)  # 1733 free, 867 premium
    # Time enough for a big batch on a busy machine: a timeout would be a lost answer.
    mailgun_config(newsletter, mailgun.base_url, timeout=120)
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    assert mailgun.violations == []
    assert_exactly_once(mailgun, rows)
    assert sorted(mailgun.batch_sizes) == [733, 867, 1000]
    tiers = dict(rows)
    ids = set()
    for message in mailgun.messages:
        assert (SECRET in message.html and SECRET in message.text) == (
            tiers[message.to] == "premium"
        )
        assert message.subject == SUBJECT
        own = f"https://letter.test/unsubscribe?email={message.to}"
        assert own in message.text and f'href="{own}"' in message.html
        assert message.headers["List-Unsubscribe"] == f"<{own}>"
        assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        ids.add(message.headers["Message-Id"])
    assert len(ids) == 2600  # a Message-ID of its own for everyone
    again = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert again.exit_code == 0 and "already sent" in again.output
    assert len(mailgun.messages) == 2600


def test_region_eu_picks_the_eu_base_url_and_base_url_wins(
    newsletter: Path, key: str, run_cli: Callable[..., Any]
) -> None:
    from postcli.config import load
    from postcli.providers.mailgun import MailgunProvider

    write_subscribers(newsletter, 2)
    mailgun_config(newsletter, None, extra='region = "eu"\n')
    assert MailgunProvider(load(newsletter)).base_url == "https://api.eu.mailgun.net"
    mailgun_config(newsletter, None, extra='region = "mars"\n')
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 1 and "region" in result.output and "postcli.toml" in result.output


def test_the_eu_base_url_is_what_is_called_over_a_mock_transport(
    newsletter: Path, key: str
) -> None:
    from postcli import send
    from postcli.config import load

    rows = write_subscribers(newsletter, 5)
    mailgun_config(newsletter, None, extra='region = "eu"\n')
    fake = MailgunFake()
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return fake.handle(request)

    client = httpx.Client(transport=httpx.MockTransport(handle))
    settings = load(newsletter)
    plan = send.plan_send(settings, ISSUE_ID, send.SendOptions(now=True), client=client)
    report = send.execute(plan)
    assert report.exit_code == 0
    assert {url for url in seen} == {f"https://api.eu.mailgun.net/v3/{DOMAIN}/messages"}
    assert_exactly_once(fake, rows)
    assert fake.violations == []


def test_a_429_is_waited_out_as_mailgun_words_it(
    newsletter: Path, mailgun: MailgunFake, key: str, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 6)
    mailgun_config(newsletter, mailgun.base_url)
    mailgun.status(1, status=429, retry_after=1, words=True)
    mailgun.status(1, status=429, retry_after=1)
    started = time.monotonic()
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    assert time.monotonic() - started >= 2.0
    assert_exactly_once(mailgun, rows)


def test_a_dropped_connection_after_the_batch_was_accepted_is_resent_and_reported(
    newsletter: Path, mailgun: MailgunFake, key: str, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 6)
    mailgun_config(newsletter, mailgun.base_url)
    mailgun.drop(1)
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    counts = mailgun.count_by_recipient()
    free = {e for e, t in rows if t == "free"}
    assert {e for e, n in counts.items() if n == 2} == free
    for email in free:
        assert f"possibly delivered twice (same Message-ID): {email}" in result.output
        assert len({m.headers["Message-Id"] for m in mailgun.to(email)}) == 1


def test_a_server_that_stays_down_exits_4_and_the_next_run_finishes(
    newsletter: Path, mailgun: MailgunFake, key: str, run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 5)
    mailgun_config(newsletter, mailgun.base_url)
    mailgun.status(30, status=503)
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 4, result.output
    mailgun.faults.clear()
    again = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert again.exit_code == 0, again.output
    assert_exactly_once(mailgun, rows)


def test_a_wrong_key_or_domain_exits_3_and_sends_nothing(
    newsletter: Path,
    mailgun: MailgunFake,
    run_cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_subscribers(newsletter, 3)
    mailgun_config(newsletter, mailgun.base_url)
    monkeypatch.setenv("MAILGUN_API_KEY", "key-wrong-0000")
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 3 and "MAILGUN_API_KEY" in result.output
    assert "key-wrong-0000" not in result.output
    monkeypatch.setenv("MAILGUN_API_KEY", API_KEY)
    mailgun.domain = "other.example.com"
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 3 and "Domain not found" in result.output
    assert mailgun.messages == []


def test_a_test_copy_goes_through_messages_mime_as_postcli_built_it(
    newsletter: Path, mailgun: MailgunFake, key: str, run_cli: Callable[..., Any]
) -> None:
    write_subscribers(newsletter, 2)
    mailgun_config(newsletter, mailgun.base_url)
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--test", "me@example.net")
    assert result.exit_code == 0, result.output
    assert [m.to for m in mailgun.messages] == ["me@example.net"] * 2
    assert all(m.subject.startswith("[TEST] ") for m in mailgun.messages)
    assert all(
        m.mime and b"List-Unsubscribe: <https://letter.test/" in m.mime for m in mailgun.messages
    )


def test_the_key_appears_in_no_output_and_no_file(
    newsletter: Path, mailgun: MailgunFake, key: str, run_cli: Callable[..., Any]
) -> None:
    write_subscribers(newsletter, 4)
    mailgun_config(newsletter, mailgun.base_url)
    outputs = [run_cli("-C", newsletter, "-v", "send", ISSUE_ID, "--yes")]
    mailgun.status(20, status=500)
    outputs.append(run_cli("-C", newsletter, "-v", "send", ISSUE_ID, "--yes", "--force"))
    assert outputs[0].exit_code == 0 and outputs[1].exit_code == 4
    forms = [API_KEY, base64.b64encode(f"api:{API_KEY}".encode()).decode()]
    for result in outputs:
        assert not any(form in result.output for form in forms)
    for path in newsletter.rglob("*"):
        if path.is_file():
            assert not any(form.encode() in path.read_bytes() for form in forms), path


def test_a_kill_between_the_accepted_batch_and_its_commit_resends_that_batch_only(
    newsletter: Path, mailgun: MailgunFake
) -> None:
    rows = write_subscribers(newsletter, 30)  # 20 free (the first batch), 10 premium
    mailgun_config(newsletter, mailgun.base_url)
    env = {"MAILGUN_API_KEY": API_KEY}
    killed = run_postcli(
        newsletter, "send", ISSUE_ID, "--yes", env={**env, "POSTCLI_TEST_KILL_BEFORE_COMMIT": "5"}
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    first = {m.to for m in mailgun.messages}
    assert len(first) == 20
    cut = assert_interrupted_is_no_problem(
        lambda *args: run_postcli(newsletter, *args, env=env), ISSUE_ID
    )
    assert [(r["variant"], r["recipients"]["sending"]) for r in cut] == [("free", 20)]
    resumed = run_postcli(newsletter, "send", ISSUE_ID, "--yes", env=env)
    assert resumed.returncode == 0, resumed.stderr
    counts = mailgun.count_by_recipient()
    assert set(counts) == {e for e, _ in rows}
    assert {e for e, n in counts.items() if n == 2} == first
    rerun = run_postcli(newsletter, "send", ISSUE_ID, "--yes", env=env)
    assert rerun.returncode == 0 and "already sent" in rerun.stdout + rerun.stderr
