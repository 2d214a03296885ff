"""The smaller promises of scheduling an editor can steer, each checked where it is kept: the
preview's "draft" badge, the STARTTLS hint that names `none` for a local relay, and "resume"
offered only when a recipient was actually attempted (a connect failure reached nobody)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from helpers.send import ISSUE_ID, configure, set_provider, write_issue, write_subscribers
from helpers.workspace import clear_send_at
from postcli.errors import SmtpRefused
from postcli.preview import start
from postcli.providers.smtp_session import SmtpSession
from smtp_server import SmtpTestServer


def test_the_preview_state_says_draft_and_the_page_has_the_badge(workspace: Path) -> None:
    clear_send_at(workspace)
    path = workspace / "issues" / f"{ISSUE_ID}.md"
    write_issue(workspace)
    path.write_text(path.read_text("utf-8").replace("---\n", "---\ndraft: true\n", 1), "utf-8")
    running = start(workspace, path, watch=False)
    try:
        assert running.session.state()["issue"]["draft"] is True
    finally:
        running.stop()
    # The page the browser loads carries the badge, shown exactly when the state says draft.
    static = files("postcli.preview") / "static"
    html = (static / "index.html").read_text("utf-8")
    script = (static / "preview.js").read_text("utf-8")
    assert 'id="draft-badge"' in html and "hidden>draft<" in html
    assert '$("#draft-badge").hidden = !issue.draft' in script
    path.write_text(path.read_text("utf-8").replace("draft: true\n", ""), "utf-8")
    running = start(workspace, path, watch=False)
    try:
        assert running.session.state()["issue"]["draft"] is False
    finally:
        running.stop()


def test_a_server_without_starttls_gets_a_hint_naming_tls_and_none() -> None:
    with SmtpTestServer() as server:  # plain: no STARTTLS offered
        session = SmtpSession(
            host=server.host,
            port=server.port,
            security="starttls",
            username=None,
            password=None,
            timeout=5.0,
            retry_backoff=0.0,
            local_hostname="client.test",
        )
        with pytest.raises(SmtpRefused, match="does not offer STARTTLS") as caught:
            session.connect()
    hint = caught.value.hint or ""
    assert 'security = "tls"' in hint and 'security = "none"' in hint


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_after_a_connect_failure_nothing_is_offered_as_a_resume(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    clear_send_at(workspace)
    write_issue(workspace)
    write_subscribers(workspace, 5)
    set_provider(workspace, "smtp")
    configure(
        workspace,
        "[providers.smtp]\n"
        'host = "127.0.0.1"\n'
        f"port = {_closed_port()}\n"
        'security = "none"\n'
        'subscribers = "subscribers.csv"\n'
        "timeout = 2\n"
        "rate = 0\n",
    )
    failed = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert failed.exit_code == 4, failed.output
    assert "Traceback" not in failed.output
    again = run_cli("-C", workspace, "send", ISSUE_ID, "--dry-run")
    assert again.exit_code == 0, again.output
    assert "resume" not in again.output
    assert "stopped before reaching anyone" in again.output
