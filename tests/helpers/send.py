"""What the send tests share: the issue they send, a subscribers file, the settings of a
workspace, the messages read back, and `postcli` run as a process of its own (for SIGKILL)."""

from __future__ import annotations

import email
import email.policy
import os
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
