"""What the send tests share: the issue they send, a subscribers file, the settings of a
workspace, the messages read back, and `postcli` run as a process of its own (for SIGKILL)."""

from __future__ import annotations

import email
import email.policy
import os
import signal
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

from helpers.workspace import publishable
from smtp_server import SmtpTestServer

ISSUE_ID = "2026-12-22-send-test"
SUBJECT = "한국어 제목: 보내기 시험"
SECRET = "PREMIUMONLYSECRET"

ISSUE = f"""---
title: "{SUBJECT}"
subtitle: A short issue for the send tests
preheader: What the send tests read
audience: {{audience}}
---
Hello, free and premium readers alike.

<!-- paywall -->

The premium part: {SECRET}.
"""


def write_issue(
    root: Path, *, audience: str = "all", issue_id: str = ISSUE_ID, extra: str = ""
) -> str:
    path = root / "issues" / f"{issue_id}.md"
    text = ISSUE.format(audience=audience)
    if audience == "free":
        text = text.split("<!-- paywall -->")[0]
    path.write_text(text + extra, encoding="utf-8")
    return issue_id


def write_subscribers(
    root: Path, count: int, *, premium_every: int = 3, name: str = "subscribers.csv"
) -> list[tuple[str, str]]:
    """`count` subscribers, every `premium_every`th premium; returns (email, tier) pairs."""
    rows = []
    for i in range(count):
        tier = "premium" if i % premium_every == 0 else "free"
        rows.append((f"reader{i}@example.org", tier))
    text = "email,name,tier\n" + "".join(f"{e},Reader {i},{t}\n" for i, (e, t) in enumerate(rows))
    (root / name).write_text(text, encoding="utf-8")
    return rows


def configure(root: Path, text: str) -> None:
    with (root / "postcli.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n" + text + "\n")


def set_provider(root: Path, name: str) -> None:
    config = root / "postcli.toml"
    text = config.read_text(encoding="utf-8").replace('name = "file"', f'name = "{name}"')
    config.write_text(publishable(text), encoding="utf-8")


def parse(path: Path | bytes) -> EmailMessage:
    data = path if isinstance(path, bytes) else path.read_bytes()
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    """(text, html) of a multipart/alternative message, checking its shape on the way."""
    assert message.get_content_type() == "multipart/alternative"
    plain, html = list(message.iter_parts())
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert plain.get_content_charset() == "utf-8" and html.get_content_charset() == "utf-8"
    return plain.get_content(), html.get_content()


def run_postcli(
    root: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postcli", "-C", str(root), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )


def smtp_config(root: Path, server: SmtpTestServer, *, username: str | None = None) -> None:
    lines = [
        "[providers.smtp]",
        'host = "127.0.0.1"',
        f"port = {server.port}",
        f'security = "{server.security}"',
        'subscribers = "subscribers.csv"',
        "rate = 0",
    ]
    if username:
        lines.append(f'username = "{username}"')
    if server.security != "none":
        lines.append(f'ca_file = "{server.ca_path}"')
    set_provider(root, "smtp")
    configure(root, "\n".join(lines))


def retarget(root: Path, server: SmtpTestServer) -> None:
    """Point [providers.smtp] at another server (a fresh one, without the faults)."""
    config = root / "postcli.toml"
    lines = [
        f"port = {server.port}" if line.startswith("port = ") else line
        for line in config.read_text("utf-8").splitlines()
    ]
    config.write_text("\n".join(lines) + "\n", "utf-8")


def assert_exactly_once(server: SmtpTestServer, rows: list[tuple[str, str]]) -> None:
    """Every subscriber of `rows` got one copy, and nobody else got any."""
    counts = server.count_by_recipient()
    assert set(counts) == {email for email, _ in rows}
    assert [e for e, n in counts.items() if n != 1] == []


def send_command(root: Path) -> list[str]:
    """`postcli send ISSUE_ID --yes` as the argv of a process of its own."""
    return [sys.executable, "-m", "postcli", "-C", str(root), "send", ISSUE_ID, "--yes"]


def send_twice_at_once(root: Path) -> tuple[list[int], list[tuple[str, str]]]:
    """Two `postcli send ISSUE_ID --yes` processes started together: their exit codes and
    (stdout, stderr) pairs, once both have ended."""
    command = send_command(root)
    with (
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as one,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as two,
    ):
        outputs = [p.communicate(timeout=120) for p in (one, two)]
        codes = [one.returncode, two.returncode]
    return codes, outputs


def send_killed(root: Path, hook: str, at: int) -> subprocess.CompletedProcess[str]:
    """`postcli send ISSUE_ID --yes` SIGKILLed by the test hook `hook` (an environment
    variable such as POSTCLI_TEST_KILL_AFTER_SENT) at message `at`; checks it was killed."""
    killed = run_postcli(root, "send", ISSUE_ID, "--yes", env={hook: str(at)})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    return killed


def assert_status_interrupted(root: Path) -> None:
    """DESIGN section 3: after a kill, `postcli status` says interrupted and exits 0."""
    status = run_postcli(root, "status")
    assert status.returncode == 0 and "interrupted" in status.stdout, status.stdout + status.stderr


def resume_send(root: Path) -> subprocess.CompletedProcess[str]:
    """Run `postcli send ISSUE_ID --yes` again after a cut-off send; it must succeed."""
    resumed = run_postcli(root, "send", ISSUE_ID, "--yes")
    assert resumed.returncode == 0, resumed.stderr
    return resumed


def assert_already_sent(root: Path) -> None:
    """One more `postcli send ISSUE_ID --yes` succeeds and says the issue went out already."""
    again = run_postcli(root, "send", ISSUE_ID, "--yes")
    assert again.returncode == 0 and "already sent" in again.stdout + again.stderr
