"""`postcli preview` without a browser: the session's state and error payload, the HTTP
endpoints, the port fallback, the watcher, and the command's start and Ctrl-C."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from helpers.workspace import publishable
from postcli.errors import UsageError
from postcli.preview import RunningPreview, start
from postcli.preview.server import bind
from postcli.preview.session import PreviewSession
from postcli.preview.watch import WatchPlan

ISSUE_ID = "2026-12-01-china-ai-global"
FRONT_TITLE = "title: \"'글로벌 시장'을 향한 '중국 AI'의 탐험\""


def issue_file(workspace: Path) -> Path:
    return workspace / "issues" / f"{ISSUE_ID}.md"


def wait_until(condition: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"not reached within {timeout} s")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def get(preview: RunningPreview, path: str, host: str | None = None) -> Response:
    connection = http.client.HTTPConnection("127.0.0.1", preview.server.port, timeout=10)
    try:
        headers = {"Host": host} if host else {}
        connection.request("GET", path, headers=headers)
        answer = connection.getresponse()
        return Response(answer.status, dict(answer.getheaders()), answer.read())
    finally:
        connection.close()


@pytest.fixture
def preview(workspace: Path) -> Iterator[RunningPreview]:
    """The preview of the sample issue, served in this process, without the watcher."""
    running = start(workspace, issue_file(workspace), watch=False)
    yield running
    running.stop()


# --- the session ------------------------------------------------------------------------------


def test_state_has_both_variants_with_inbox_facts_and_sizes(preview: RunningPreview) -> None:
    state = preview.session.state()
    assert state["ok"] is True and state["error"] is None
    assert state["issue"]["id"] == ISSUE_ID
    assert state["issue"]["path"] == f"issues/{ISSUE_ID}.md"
    assert state["from"] == {"name": "AI 글로벌 브리프", "address": "hello@example.com"}
    assert state["clip_bytes"] == 102_000
    free, premium = state["variants"]
    assert (free["name"], premium["name"]) == ("free", "premium")
    assert free["cut"] is True and premium["cut"] is False
    assert free["preheader"].startswith("오픈 웨이트 공개부터")
    assert free["html_bytes"] == len(free["html"].encode("utf-8"))
    assert "프리미엄 플랜으로 업그레이드하세요" in free["html"]
    assert "프리미엄 플랜으로 업그레이드하세요" not in premium["html"]


def test_images_point_at_the_preview_server_not_the_cdn(preview: RunningPreview) -> None:
    html = preview.session.state()["variants"][1]["html"]
    assert 'src="/files/assets/2026-12-01/chart-1.png?v=' in html
    assert "cdn.example.com" not in html
    answer = get(preview, "/files/assets/2026-12-01/chart-1.png?v=1")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "image/png"
    assert answer.body.startswith(b"\x89PNG")


def test_only_files_a_build_referenced_are_served(preview: RunningPreview, workspace: Path) -> None:
    (workspace / ".env").write_text("RESEND_API_KEY=re_secret_value\n", encoding="utf-8")
    for path in (
        "/files/postcli.toml",
        "/files/.env",
        "/files/assets/../postcli.toml",
        "/files/%2e%2e/%2e%2e/etc/passwd",
        f"/files/issues/{ISSUE_ID}.md",
    ):
        answer = get(preview, path)
        assert answer.status == 404, path
        assert b"re_secret_value" not in answer.body


def test_hidden_files_are_never_handed_out(workspace: Path) -> None:
    (workspace / ".env").write_text("RESEND_API_KEY=re_secret_value\n", encoding="utf-8")
    path = issue_file(workspace)
    path.write_text(path.read_text(encoding="utf-8") + "\n![x](../.env)\n", encoding="utf-8")
    session = PreviewSession(workspace, path, run_checks=False)
    state = session.rebuild()
    assert state["ok"]
    assert "/files/.env" not in state["variants"][1]["html"]
    assert session.file_for("/files/.env") is None


def test_a_broken_issue_gives_an_error_with_file_and_line_and_keeps_the_last_build(
    workspace: Path,
) -> None:
    path = issue_file(workspace)
    good = path.read_text(encoding="utf-8")
    session = PreviewSession(workspace, path, run_checks=False)
    first = session.rebuild()
    path.write_text(good.replace(FRONT_TITLE, 'title: "unclosed'), encoding="utf-8")
    broken = session.rebuild()
    assert broken["ok"] is False
    error = broken["error"]
    assert error["kind"] == "IssueError"
    assert error["path"] == f"issues/{ISSUE_ID}.md"
    assert isinstance(error["line"], int) and error["line"] >= 2
    assert error["location"] == f"issues/{ISSUE_ID}.md:{error['line']}"
    assert "YAML" in error["message"]
    # the page keeps showing the last good emails under the error
    assert [v["html"] for v in broken["variants"]] == [v["html"] for v in first["variants"]]
    assert broken["build"] == first["build"] + 1
    path.write_text(good, encoding="utf-8")
    fixed = session.rebuild()
    assert fixed["ok"] is True and fixed["error"] is None


def test_an_unclosed_block_names_its_line(workspace: Path) -> None:
    path = issue_file(workspace)
    text = path.read_text(encoding="utf-8") + "\n::: premium\nnever closed\n"
    path.write_text(text, encoding="utf-8")
    state = PreviewSession(workspace, path, run_checks=False).rebuild()
    assert state["error"]["line"] == text.count("\n") - 1  # the file's second-to-last line
    assert "never closed" in state["error"]["message"]
    assert state["variants"] == []  # nothing good was built yet


def test_a_broken_template_and_a_broken_config_are_errors_too(workspace: Path) -> None:
    session = PreviewSession(workspace, issue_file(workspace), run_checks=False)
    template = workspace / "templates" / "email.mjml.j2"
    good = template.read_text(encoding="utf-8")
    template.write_text(good.replace("{%- if upgrade %}", "{%- if upgrade"), encoding="utf-8")
    state = session.rebuild()
    assert state["error"]["kind"] == "TemplateError"
    assert state["error"]["path"] == "templates/email.mjml.j2"
    template.write_text(good, encoding="utf-8")
    assert session.rebuild()["ok"]

    config = workspace / "postcli.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n[newsletter\n", encoding="utf-8")
    state = session.rebuild()
    assert state["error"]["kind"] == "ConfigError"
    assert state["error"]["path"] == "postcli.toml"
    assert state["error"]["line"]


def test_an_issue_for_one_audience_shows_one_variant(workspace: Path) -> None:
    path = issue_file(workspace)
    text = path.read_text(encoding="utf-8").replace("---\n", "---\naudience: premium\n", 1)
    path.write_text(text, encoding="utf-8")
    state = PreviewSession(workspace, path, run_checks=False).rebuild()
    assert [v["name"] for v in state["variants"]] == ["premium"]
    assert state["issue"]["audience"] == "premium"


def test_an_internal_error_is_shown_not_raised(workspace: Path) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("boom")

    session = PreviewSession(workspace, issue_file(workspace), render=explode, run_checks=False)
    state = session.rebuild()
    assert state["ok"] is False
    assert state["error"]["kind"] == "InternalError"
    assert "boom" in state["error"]["message"]


def test_findings_of_postcli_check_are_split_by_variant(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import postcli.check

    @dataclass
    class FakeFinding:
        level: str
        rule: str
        message: str
        variant: str | None
        path: Path | None
        line: int | None

    def fake_checks(issue: Any, emails: Any, settings: Any, **_: Any) -> list[FakeFinding]:
        assert all("cdn.example.com/newsletter/" in e.html for e in emails.values())
        return [
            FakeFinding("warning", "preheader", "no preheader", None, issue.path, 3),
            FakeFinding("error", "leak", "premium text in free", "free", None, None),
        ]

    monkeypatch.setattr(postcli.check, "run_checks", fake_checks)
    session = PreviewSession(workspace, issue_file(workspace))
    assert session.rebuild()["checks"] == "pending"
    session.check()
    state = session.state()
    assert state["checks"] == "done"
    free, premium = state["variants"]
    assert [f["rule"] for f in free["findings"]] == ["preheader", "leak"]
    assert [f["rule"] for f in premium["findings"]] == ["preheader"]
    assert premium["findings"][0]["path"] == f"issues/{ISSUE_ID}.md"


def test_findings_are_those_of_postcli_check_for_the_configured_provider(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    # An HTTP provider brings its own unsubscribe link: no newsletter.unsubscribe_url needed.
    config = workspace / "postcli.toml"
    text = config.read_text(encoding="utf-8")
    text = "\n".join(
        line for line in text.splitlines() if not line.startswith("unsubscribe_url")
    ).replace('name = "file"', 'name = "buttondown"')
    config.write_text(publishable(text) + "\n", encoding="utf-8")
    session = PreviewSession(workspace, issue_file(workspace))
    session.rebuild()
    session.check()
    state = session.state()
    assert state["checks"] == "done"
    shown = sorted(f["rule"] for v in state["variants"] for f in v["findings"])
    checked = run_cli("-C", workspace, "check", ISSUE_ID, "--json")
    assert checked.exit_code == 0, checked.output
    assert "no-unsubscribe" not in shown
    reported = json.loads(checked.stdout)
    assert reported["errors"] == 0
    assert sorted(f["rule"] for f in reported["findings"]) == sorted(set(shown))
    assert not any(f["level"] == "error" for v in state["variants"] for f in v["findings"])


# --- HTTP -------------------------------------------------------------------------------------


def test_page_script_and_style_are_served(preview: RunningPreview) -> None:
    page = get(preview, "/")
    assert page.status == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script src="/preview.js">' in page.body
    assert f"Preview · {ISSUE_ID}".encode() in page.body
    script = get(preview, "/preview.js")
    assert script.status == 200 and b"EventSource" in script.body
    assert get(preview, "/preview.css").headers["Content-Type"].startswith("text/css")
    assert get(preview, "/nothing").status == 404


def test_state_and_emails_endpoints(preview: RunningPreview) -> None:
    state = get(preview, "/api/state")
    assert state.status == 200
    assert state.json()["issue"]["id"] == ISSUE_ID
    html = get(preview, "/email/free.html")
    assert html.status == 200 and html.body.lstrip().lower().startswith(b"<!doctype html")
    text = get(preview, "/email/premium.txt")
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert "'글로벌 시장'을 향한 '중국 AI'의 탐험" in text.body.decode("utf-8")
    assert get(preview, "/email/other.html").status == 404


def test_requests_through_another_host_name_are_refused(preview: RunningPreview) -> None:
    assert get(preview, "/api/state", host="evil.example").status == 403
    assert get(preview, "/api/state", host=f"localhost:{preview.server.port}").status == 200


def test_events_stream_the_state_and_every_change(preview: RunningPreview) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", preview.server.port, timeout=10)
    connection.request("GET", "/events")
    answer = connection.getresponse()
    assert answer.status == 200
    assert answer.getheader("Content-Type") == "text/event-stream; charset=utf-8"

    def next_event() -> dict[str, Any]:
        fields: dict[str, str] = {}
        while True:
            line = answer.fp.readline().decode("utf-8").rstrip("\n")
            if not line:
                if "data" in fields:
                    return json.loads(fields["data"])
                continue
            key, _, value = line.partition(": ")
            fields[key] = value

    first = next_event()
    assert first["issue"]["id"] == ISSUE_ID
    preview.session.rebuild()
    second = next_event()
    assert second["seq"] > first["seq"] and second["build"] == first["build"] + 1
    connection.close()


# --- the port -------------------------------------------------------------------------------


def test_a_taken_port_falls_back_to_a_free_one(workspace: Path) -> None:
    session = PreviewSession(workspace, issue_file(workspace), run_checks=False)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = bind(session, "127.0.0.1", port)
        try:
            assert server.port not in (0, port)
            assert server.url == f"http://127.0.0.1:{server.port}/"
        finally:
            server.server_close()


def test_a_bad_port_or_host_is_a_usage_error(workspace: Path) -> None:
    session = PreviewSession(workspace, issue_file(workspace), run_checks=False)
    with pytest.raises(UsageError, match="not a port number"):
        bind(session, "127.0.0.1", 70000)
    with pytest.raises(UsageError, match=r"cannot listen on 192\.0\.2\.1"):
        bind(session, "192.0.2.1", 0)


# --- watching -------------------------------------------------------------------------------


def test_the_watch_plan_covers_issue_config_templates_and_assets(workspace: Path) -> None:
    from postcli.render.templates import BUILTIN_DIR

    plan = WatchPlan(workspace, issue_file(workspace))
    folders = plan.folders()
    root = workspace.resolve()
    assert root in folders and root / "issues" in folders and root / "templates" in folders
    assert BUILTIN_DIR.resolve() in folders
    assert root / "assets" / "2026-12-01" in folders
    assert plan.matters(issue_file(workspace).resolve())
    assert plan.matters(root / "postcli.toml")
    assert plan.matters(root / "templates" / "content.css")
    assert plan.matters(root / "assets" / "2026-12-01" / "chart-1.png")
    assert not plan.matters(root / "issues" / "2026-12-08-open-weights-week.md")
    assert not plan.matters(root / "templates" / ".email.mjml.j2.swp")
    assert not plan.matters(root / "build" / ISSUE_ID / "free.html")


def test_saving_issue_config_or_template_rebuilds(workspace: Path) -> None:
    running = start(workspace, issue_file(workspace), run_checks=False)
    try:
        assert running.watcher is not None
        assert running.watcher.ready.wait(10)
        session = running.session

        path = issue_file(workspace)
        path.write_text(
            path.read_text(encoding="utf-8").replace("안녕하세요", "반갑습니다"), encoding="utf-8"
        )
        wait_until(lambda: "반갑습니다" in session.state()["variants"][0]["text"])

        config = workspace / "postcli.toml"
        config.write_text(
            config.read_text(encoding="utf-8").replace(
                'name = "AI 글로벌 브리프"', 'name = "새 이름"'
            ),
            encoding="utf-8",
        )
        wait_until(lambda: session.state()["newsletter"] == "새 이름")

        css = workspace / "templates" / "content.css"
        css.write_text(css.read_text(encoding="utf-8") + "\nh2 { color: #123456; }\n")
        wait_until(lambda: "#123456" in session.state()["variants"][1]["html"])

        path.write_text(path.read_text(encoding="utf-8").replace(FRONT_TITLE, "title: ["))
        wait_until(lambda: session.state()["error"] is not None)
        path.write_text(path.read_text(encoding="utf-8").replace("title: [", FRONT_TITLE))
        wait_until(lambda: session.state()["ok"])
    finally:
        running.stop()
    assert not running.thread.is_alive() and not running.watcher.is_alive()


def test_a_templates_folder_made_while_previewing_is_watched_too(workspace: Path) -> None:
    import shutil

    shutil.rmtree(workspace / "templates")
    running = start(workspace, issue_file(workspace), run_checks=False)
    try:
        assert running.watcher is not None and running.watcher.ready.wait(10)
        session = running.session
        chart = workspace / "assets" / "2026-12-01" / "chart-1.png"
        before = session.state()["variants"][1]["html"]
        chart.write_bytes(chart.read_bytes())  # a new version of an image: a new URL
        wait_until(lambda: session.state()["variants"][1]["html"] != before)

        (workspace / "templates").mkdir()
        time.sleep(0.3)  # the watcher starts watching the new folder
        builtin = session.state()["variants"][1]["html"]
        assert "#abcdef" not in builtin
        from postcli.render.templates import BUILTIN_DIR

        css = (BUILTIN_DIR / "content.css").read_text(encoding="utf-8")
        css += "\nh2 { color: #abcdef; }\n"
        (workspace / "templates" / "content.css").write_text(css, encoding="utf-8")
        wait_until(lambda: "#abcdef" in session.state()["variants"][1]["html"])
    finally:
        running.stop()


# --- the command ----------------------------------------------------------------------------


def test_unknown_issue_exits_1_before_serving(workspace: Path, run_cli: Callable[..., Any]) -> None:
    result = run_cli("-C", workspace, "preview", "no-such-issue", "--no-open")
    assert result.exit_code == 1
    assert "no issue 'no-such-issue'" in result.stderr
    assert "Traceback" not in result.output


def test_command_prints_the_url_and_opens_the_browser(
    workspace: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import webbrowser

    opened: list[str] = []
    monkeypatch.setattr(webbrowser, "open", opened.append)
    # The server stops at once instead of serving until Ctrl-C.
    monkeypatch.setattr(RunningPreview, "wait", lambda self, timeout=None: True)
    result = run_cli("-C", workspace, "preview", ISSUE_ID, "--port", "0")
    assert result.exit_code == 0, result.output
    url = result.stdout.strip()
    assert url.startswith("http://127.0.0.1:") and opened == [url]
    assert "Preview stopped." in result.stderr

    opened.clear()
    assert run_cli("-C", workspace, "preview", ISSUE_ID, "--port", "0", "--no-open").exit_code == 0
    assert opened == []


def test_command_serves_falls_back_from_a_taken_port_and_stops_on_ctrl_c(
    workspace: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "postcli",
                "-C",
                str(workspace),
                "preview",
                ISSUE_ID,
                "--no-open",
                "--port",
                str(port),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://127.0.0.1:") and url != f"http://127.0.0.1:{port}/"
            new_port = int(url.rsplit(":", 1)[1].rstrip("/"))
            connection = http.client.HTTPConnection("127.0.0.1", new_port, timeout=10)
            connection.request("GET", "/api/state")
            assert json.loads(connection.getresponse().read())["ok"] is True
            connection.close()
            process.send_signal(signal.SIGINT)
            _, stderr = process.communicate(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 0
    assert f"Port {port} is taken; using {new_port}." in stderr
    assert "Preview stopped." in stderr
    assert "Traceback" not in stderr


def test_preview_never_imports_providers_or_the_cli(workspace: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from postcli.preview import start\n"
        f"running = start(Path({str(workspace)!r}), Path({str(issue_file(workspace))!r}),"
        " watch=False)\n"
        "running.stop()\n"
        "assert running.session.state()['ok']\n"
        "print(sorted(m for m in sys.modules if m == 'postcli.cli' or m.startswith(("
        "'postcli.providers', 'postcli.cli.', 'httpx', 'typer'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
