"""`postcli send` through the `ses` provider, against the SES v2 emulator on 127.0.0.1
(tests/fakes/ses_emulator.py, written from botocore's service model and checking every SigV4
signature with botocore's signer): each tier gets its variant as postcli's own MIME, pacing to
the account's MaxSendRate, throttling waited out, per-message refusals, lost answers, SIGKILL
and resume, and no AWS secret or signature in any output or file. Never reaches AWS."""

from __future__ import annotations

import base64
import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes.bulk_server import serve
from fakes.ses_emulator import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    SESSION_TOKEN,
    SesEmulator,
    shape_errors,
)
from helpers.send import (
    ISSUE_ID,
    SECRET,
    SUBJECT,
    configure,
    parts,
    set_provider,
    write_issue,
    write_subscribers,
)
from helpers.status import assert_interrupted_is_no_problem
from helpers.workspace import clear_send_at
from postcli.ledger import Ledger

AWS_ENV = {
    "AWS_ACCESS_KEY_ID": ACCESS_KEY,
    "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
    # Never the network for credentials or config: no instance metadata, no shared files.
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    for key, value in AWS_ENV.items():
        monkeypatch.setenv(key, value)
    return AWS_ENV


@pytest.fixture
def emulator() -> Iterator[SesEmulator]:
    fake = SesEmulator()
    with serve(fake):
        yield fake


@pytest.fixture
def newsletter(workspace: Path) -> Path:
    clear_send_at(workspace)  # the sample issues' send_at may be overdue by today's clock
    write_issue(workspace)
    return workspace


def ses_config(root: Path, base_url: str, *, extra: str = "") -> None:
    set_provider(root, "ses")
    configure(
        root,
        "[providers.ses]\n"
        f'region = "{REGION}"\n'
        f'base_url = "{base_url}"\n'
        'subscribers = "subscribers.csv"\n'
        'configuration_set = "newsletter"\n'
        "timeout = 5\n" + extra,
    )


def assert_exactly_once(emulator: SesEmulator, rows: list[tuple[str, str]]) -> None:
    counts = emulator.count_by_recipient()
    assert set(counts) == {email.lower() for email, _ in rows}
    assert [e for e, n in counts.items() if n != 1] == []


# -- the emulator holds the line ---------------------------------------------------------------


def test_the_emulator_checks_bodies_against_botocores_model() -> None:
    assert shape_errors("SendEmailRequest", {}) == ["Content: required"]
    errors = shape_errors(
        "SendEmailRequest",
        {"Content": {"Raw": {"Data": "not base64!"}}, "Destination": {"To": ["a@b.c"]}, "X": 1},
    )
    assert "Content.Raw.Data: not valid base64" in errors
    assert "Destination.To: not a member of Destination" in errors
    assert "X: not a member of SendEmailRequest" in errors


def test_the_emulator_refuses_a_request_signed_with_another_secret(emulator: SesEmulator) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    def signed(secret: str, body: bytes = b"") -> httpx.Response:
        url = emulator.base_url + "/v2/email/account"
        request = AWSRequest(method="GET", url=url, data=body)
        SigV4Auth(Credentials(ACCESS_KEY, secret), "ses", REGION).add_auth(request)
        return httpx.get(url, headers=dict(request.headers.items()))

    assert signed(SECRET_KEY).status_code == 200
    wrong = signed(SECRET_KEY + "x")
    assert wrong.status_code == 403
    assert wrong.headers["x-amzn-ErrorType"].startswith("InvalidSignatureException")
    assert httpx.get(emulator.base_url + "/v2/email/account").status_code == 403


# -- end to end --------------------------------------------------------------------------------


def test_each_tier_gets_its_variant_as_raw_mime_and_a_rerun_sends_nothing(
    newsletter: Path, emulator: SesEmulator, aws: dict[str, str], run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 9)
    ses_config(newsletter, emulator.base_url)
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    assert emulator.violations == []
    assert_exactly_once(emulator, rows)
    tiers = dict(rows)
    for sent in emulator.messages:
        (address,) = sent.to
        text, html = parts(sent.message)
        assert (SECRET in text and SECRET in html) == (tiers[address] == "premium")
        assert str(sent.message["Subject"]) == SUBJECT
        own = f"https://letter.test/unsubscribe?email={address}"
        assert sent.message["List-Unsubscribe"] == f"<{own}>"
        assert sent.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert own in text
        assert sent.configuration_set == "newsletter"
        assert sent.tags == {"postcli-issue": ISSUE_ID}
        # The Korean display name went out RFC 2047-encoded, and reads back as written.
        head = sent.raw.split(b"\r\n\r\n")[0].decode("ascii")
        from_line = next(line for line in head.split("\r\n") if line.startswith("From:"))
        assert "=?utf-8?" in from_line.lower()
        assert str(make_header(decode_header(from_line[5:]))).startswith("AI 글로벌 브리프")
    again = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert again.exit_code == 0 and "already sent" in again.output
    assert len(emulator.messages) == 9
    status = run_cli("-C", newsletter, "status", ISSUE_ID, "--json")
    shown = json.loads(status.stdout)
    rows_shown = shown if isinstance(shown, list) else shown.get("issues", shown)
    assert "sent" in json.dumps(rows_shown)


def test_calls_are_paced_to_the_accounts_max_send_rate(
    newsletter: Path, aws: dict[str, str], run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 12)
    fake = SesEmulator(max_send_rate=8, enforce_rate=True)
    with serve(fake):
        ses_config(newsletter, fake.base_url)
        started = time.monotonic()
        result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert_exactly_once(fake, rows)
    # 12 messages at 8 a second need at least 11 intervals of 1/8 s: the pacer, not luck.
    assert took >= 11 / 8
    assert len(fake.calls("GET", "/v2/email/account")) == 1


def test_rate_caps_the_accounts_rate(
    newsletter: Path, aws: dict[str, str], run_cli: Callable[..., Any]
) -> None:
    write_subscribers(newsletter, 4)
    fake = SesEmulator(max_send_rate=500)
    with serve(fake):
        ses_config(newsletter, fake.base_url, extra="rate = 4\n")
        started = time.monotonic()
        result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
        took = time.monotonic() - started
    assert result.exit_code == 0, result.output
    assert took >= 3 / 4


def test_throttling_is_waited_out_and_retried_never_dropped(
    newsletter: Path, emulator: SesEmulator, aws: dict[str, str], run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 6)
    ses_config(newsletter, emulator.base_url)
    emulator.throttle(3, path="outbound-emails")
    emulator.throttle(2, code="Throttling", path="outbound-emails")  # v1's code, in a 400
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    assert_exactly_once(emulator, rows)
    assert "possibly delivered twice" not in result.output
    assert len(emulator.calls("POST", "outbound-emails")) == 6 + 5


def test_a_refused_recipient_is_failed_with_the_reason_the_rest_sent_exit_3(
    newsletter: Path, emulator: SesEmulator, aws: dict[str, str], run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 5)
    ses_config(newsletter, emulator.base_url)
    emulator.reject("reader2@example.org", "Address blacklisted.")
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 3, result.output
    assert "reader2@example.org: SES refused it: MessageRejected: Address blacklisted." in (
        result.output
    )
    assert set(emulator.count_by_recipient()) == {e for e, _ in rows} - {"reader2@example.org"}
    with Ledger.open(newsletter / ".postcli") as ledger:
        (free,) = [s for s in ledger.sends() if s.variant == "free"]
        row = ledger.recipients(free.id)["reader2@example.org"]
        assert row.status == "failed" and "blacklisted" in (row.error or "")


def test_an_unverified_sender_stops_the_send_instead_of_failing_everyone(
    newsletter: Path, aws: dict[str, str], run_cli: Callable[..., Any]
) -> None:
    write_subscribers(newsletter, 5)
    fake = SesEmulator(verified=("other.example",))
    with serve(fake):
        ses_config(newsletter, fake.base_url)
        result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 3
    assert "not verified" in result.output and "hello@letter.test" in result.output
    with Ledger.open(newsletter / ".postcli") as ledger:
        for send in ledger.sends():
            states = {r.status for r in ledger.recipients(send.id).values()}
            assert "failed" not in states  # nobody is marked failed for the sender's fault


def test_a_lost_answer_is_resent_and_reported_as_possibly_twice(
    newsletter: Path, emulator: SesEmulator, aws: dict[str, str], run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 4)
    ses_config(newsletter, emulator.base_url)
    emulator.drop(1, path="outbound-emails")  # accepted, stored, then the connection closes
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    counts = emulator.count_by_recipient()
    twice = [e for e, n in counts.items() if n == 2]
    assert len(twice) == 1 and set(counts) == {e for e, _ in rows}
    assert f"possibly delivered twice (same Message-ID): {twice[0]}" in result.output
    ids = {m.message["Message-ID"] for m in emulator.to(twice[0])}
    assert len(ids) == 1


def test_a_server_that_stays_down_exits_4_and_the_next_run_finishes(
    newsletter: Path, emulator: SesEmulator, aws: dict[str, str], run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 5)
    ses_config(newsletter, emulator.base_url)
    emulator.fail(50, status=503, path="outbound-emails")
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 4, result.output
    assert emulator.messages == []
    emulator.faults.clear()
    again = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert again.exit_code == 0, again.output
    assert_exactly_once(emulator, rows)
    assert "possibly delivered twice" not in again.output  # a 503 promises nothing went out


def test_a_used_up_daily_quota_exits_4_and_leaves_the_rest_pending(
    newsletter: Path, emulator: SesEmulator, aws: dict[str, str], run_cli: Callable[..., Any]
) -> None:
    rows = write_subscribers(newsletter, 6)
    ses_config(newsletter, emulator.base_url)
    emulator.fault(
        "status",
        1,
        status=400,
        body=("LimitExceededException", "Daily message quota exceeded."),
        path="outbound-emails",
    )
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 4 and "quota" in result.output
    with Ledger.open(newsletter / ".postcli") as ledger:
        states = {r.status for s in ledger.sends() for r in ledger.recipients(s.id).values()}
    assert "failed" not in states
    again = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert again.exit_code == 0, again.output
    assert_exactly_once(emulator, rows)


def test_a_test_copy_goes_through_sendemail_with_the_test_subject(
    newsletter: Path, emulator: SesEmulator, aws: dict[str, str], run_cli: Callable[..., Any]
) -> None:
    write_subscribers(newsletter, 3)
    ses_config(newsletter, emulator.base_url)
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--test", "me@example.net")
    assert result.exit_code == 0, result.output
    assert [m.to for m in emulator.messages] == [("me@example.net",)] * 2
    assert all(str(m.message["Subject"]).startswith("[TEST] ") for m in emulator.messages)


def test_missing_credentials_are_a_config_error_naming_the_variables(
    newsletter: Path,
    emulator: SesEmulator,
    aws: dict[str, str],
    run_cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_subscribers(newsletter, 2)
    ses_config(newsletter, emulator.base_url)
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 1
    assert "no AWS credentials" in result.output and "AWS_ACCESS_KEY_ID" in result.output
    assert "Traceback" not in result.output
    assert emulator.requests == []


def test_wrong_credentials_exit_3_with_a_hint(
    newsletter: Path,
    emulator: SesEmulator,
    aws: dict[str, str],
    run_cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_subscribers(newsletter, 2)
    ses_config(newsletter, emulator.base_url)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY[:-1] + "Z")
    result = run_cli("-C", newsletter, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 3
    assert "InvalidSignatureException" in result.output
    assert SECRET_KEY[:-1] not in result.output
    assert emulator.messages == []


def test_base_url_wins_over_region_and_region_picks_the_aws_endpoint(
    newsletter: Path, aws: dict[str, str]
) -> None:
    from postcli.config import load
    from postcli.providers.ses import SesProvider

    write_subscribers(newsletter, 1)
    set_provider(newsletter, "ses")
    configure(
        newsletter, '[providers.ses]\nregion = "ap-northeast-2"\nsubscribers = "subscribers.csv"'
    )
    provider = SesProvider(load(newsletter))
    assert provider.endpoint == "https://email.ap-northeast-2.amazonaws.com"
    configure(newsletter, "")
    text = (newsletter / "postcli.toml").read_text("utf-8")
    (newsletter / "postcli.toml").write_text(
        text.replace(
            'region = "ap-northeast-2"',
            'region = "ap-northeast-2"\nbase_url = "http://127.0.0.1:9"',
        ),
        "utf-8",
    )
    provider = SesProvider(load(newsletter))
    assert provider.endpoint == "http://127.0.0.1:9"
    assert "ap-northeast-2" in provider.signer().region


def test_a_session_token_is_sent_signed_and_no_secret_or_signature_is_ever_shown(
    newsletter: Path,
    aws: dict[str, str],
    run_cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_subscribers(newsletter, 4)
    fake = SesEmulator(credentials={ACCESS_KEY: (SECRET_KEY, SESSION_TOKEN)})
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    with serve(fake):
        ses_config(newsletter, fake.base_url)
        outputs = [
            run_cli("-C", newsletter, "-v", "send", ISSUE_ID, "--yes"),
            run_cli("-C", newsletter, "-v", "status", "--json"),
        ]
        fake.fail(20, status=500, path="outbound-emails")
        outputs.append(run_cli("-C", newsletter, "-v", "send", ISSUE_ID, "--yes", "--force"))
    assert outputs[0].exit_code == 0, outputs[0].output
    assert outputs[2].exit_code == 4
    assert len(fake.messages) == 4
    assert all("x-amz-security-token" in s.signed_headers for s in fake.signatures)
    forbidden = [SECRET_KEY, SESSION_TOKEN, *(s.signature for s in fake.signatures)]
    forbidden += [base64.b64encode(v.encode()).decode() for v in (SECRET_KEY, SESSION_TOKEN)]
    for result in outputs:
        for value in forbidden:
            assert value not in result.output
    for path in newsletter.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(value.encode() in data for value in forbidden), path


# -- crash and resume, as separate processes ---------------------------------------------------


def run_ses(root: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """`postcli ARGS` in a process of its own, with the test credentials and no other AWS
    setting of this machine's environment."""
    import os

    clean = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(
        [sys.executable, "-m", "postcli", "-C", str(root), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **AWS_ENV, **(env or {})},
        check=False,
    )


def test_a_kill_between_the_acceptance_and_its_commit_resends_one_with_the_same_id(
    newsletter: Path, emulator: SesEmulator
) -> None:
    rows = write_subscribers(newsletter, 40)
    ses_config(newsletter, emulator.base_url)
    killed = run_ses(
        newsletter, "send", ISSUE_ID, "--yes", env={"POSTCLI_TEST_KILL_BEFORE_COMMIT": "17"}
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    (in_flight,) = emulator.messages[-1].to
    cut = assert_interrupted_is_no_problem(lambda *args: run_ses(newsletter, *args), ISSUE_ID)
    assert [(r["variant"], r["recipients"]["sent"]) for r in cut] == [("free", 16)]
    resumed = run_ses(newsletter, "send", ISSUE_ID, "--yes")
    assert resumed.returncode == 0, resumed.stderr
    counts = emulator.count_by_recipient()
    assert set(counts) == {e for e, _ in rows}
    assert {e: n for e, n in counts.items() if n != 1} == {in_flight: 2}
    assert len({m.message["Message-ID"] for m in emulator.to(in_flight)}) == 1
    assert f"possibly delivered twice (same Message-ID): {in_flight}" in resumed.stdout


@pytest.mark.slow
def test_a_send_killed_at_a_random_moment_delivers_each_once_at_most_one_twice(
    newsletter: Path, emulator: SesEmulator
) -> None:
    seed = random.randrange(1_000_000)
    kill_at = random.Random(seed).randrange(20, 280)
    rows = write_subscribers(newsletter, 300)
    ses_config(newsletter, emulator.base_url)
    import os

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **AWS_ENV}

    with subprocess.Popen(
        [sys.executable, "-m", "postcli", "-C", str(newsletter), "-q", "send", ISSUE_ID, "--yes"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as sender:
        deadline = time.monotonic() + 120
        while len(emulator.messages) < kill_at and sender.poll() is None:
            assert time.monotonic() < deadline, seed
            time.sleep(0.002)
        if sender.poll() is None:
            os.kill(sender.pid, signal.SIGKILL)
        sender.wait()
    status = run_ses(newsletter, "status")
    resumed = run_ses(newsletter, "send", ISSUE_ID, "--yes")
    assert resumed.returncode == 0, (seed, resumed.stderr)
    counts = emulator.count_by_recipient()
    assert set(counts) == {e for e, _ in rows}, seed
    twice = [e for e, n in counts.items() if n > 1]
    assert len(twice) <= 1 and all(counts[e] == 2 for e in twice), seed
    for email in twice:
        assert f"possibly delivered twice (same Message-ID): {email}" in resumed.stdout, seed
    assert "interrupted" in status.stdout or len(emulator.messages) >= 300, seed
    rerun = run_ses(newsletter, "send", ISSUE_ID, "--yes")
    assert rerun.returncode == 0 and "already sent" in rerun.stdout + rerun.stderr
    assert sum(emulator.count_by_recipient().values()) == 300 + len(twice)
