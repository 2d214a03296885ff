"""Security review, as tests: premium text never reaching free readers through tricky Markdown,
header injection, escaping of template values, paths that could leave outbox/ or build/, and
the preview server's file serving and Host check.

Every premium passage carries the word SECRET, so a substring search over a free output is a
meaningful check.
"""

from __future__ import annotations

import email
import http.client
import json
from collections.abc import Callable, Iterator
from email import policy
from pathlib import Path
from typing import Any

import pytest

from postcli import config
from postcli.build import build_issue
from postcli.errors import IssueError
from postcli.issues import Variant, parse_issue
from postcli.render import render_issue

FRONT = '---\ntitle: "Issue"\nsubtitle: "A subtitle"\n---\n'


def _issue(workspace: Path, body: str, name: str = "2026-12-01-probe") -> Path:
    path = workspace / "issues" / f"{name}.md"
    path.write_text(FRONT + body, encoding="utf-8", newline="")
    return path


def _free_outputs(workspace: Path, path: Path) -> str:
    """Everything `postcli build` writes that free readers get (or that describes both)."""
    result = build_issue(config.load(workspace), path)
    out = result.out_dir
    assert out is not None
    email_ = result.emails[Variant.FREE]
    return "\n".join(
        [
            (out / "free.html").read_text(encoding="utf-8"),
            (out / "free.txt").read_text(encoding="utf-8"),
            (out / "meta.json").read_text(encoding="utf-8"),
            email_.subject,
            email_.preheader or "",
        ]
    )


# --- 1. the variant filter: structure lines that Markdown swallows -----------------------------

# Each body, as a reader of the Markdown source would see it, puts SECRET behind the paywall or
# in a premium block; but a construct above swallows the marker or the fence as literal text.
# postcli must refuse such an issue (naming the line) instead of sending SECRET to free readers.
SWALLOWED = {
    "unclosed code fence swallows the paywall": (
        "Free text.\n\n```python\nprint('hi')\n\n<!-- paywall -->\n\nSECRET analysis.\n",
        "never closed",
    ),
    "unclosed tilde fence swallows a premium block": (
        "Free text.\n\n~~~\ncode\n\n::: premium\nSECRET analysis.\n:::\n",
        "never closed",
    ),
    "<pre> HTML block swallows a premium block": (
        "Free.\n\n<pre>\nx\n\n::: premium\nSECRET analysis.\n:::\n</pre>\n",
        "HTML block",
    ),
    "<script>-like HTML block swallows a premium block": (
        "Free.\n\n<style>\np { color: red }\n::: premium\nSECRET analysis.\n:::\n</style>\n",
        "HTML block",
    ),
    "HTML block without a blank line swallows a premium block": (
        "Free.\n\n<custom-box>\n::: premium\nSECRET analysis.\n:::\n",
        "HTML block",
    ),
    "HTML comment left open swallows the paywall": (
        "Free.\n\n<!-- a note\n\n<!-- paywall -->\n\nSECRET analysis.\n\n-->\n",
        "paywall marker",
    ),
    "paywall indented into an indented code block": (
        "Free text.\n\n    <!-- paywall -->\n\nSECRET analysis.\n",
        "indented",
    ),
    "paywall after a tab (four columns)": (
        "Free text.\n\n\t<!-- paywall -->\n\nSECRET analysis.\n",
        "indented",
    ),
    "premium fence indented into an indented code block": (
        "Free text.\n\n    ::: premium\n    SECRET analysis.\n    :::\n",
        "indented",
    ),
    # A fence left open and "closed" by a line markdown-it does not take as a closer.
    "fence closed only by an indented line at the end": (
        "Free.\n\n```\ncode\n\n<!-- paywall -->\n\nSECRET analysis.\n    ```\n",
        "never closed",
    ),
    "fence closed only by a quoted line at the end": (
        "Free.\n\n```\ncode\n\n<!-- paywall -->\n\nSECRET analysis.\n> ```\n",
        "never closed",
    ),
    # A fence left open is closed by the next fence: the marker is inside a closed code block.
    "fence closed by a later fence": (
        "Free.\n\n```\ncode\n\n<!-- paywall -->\n\nSECRET analysis.\n\n```\nmore\n```\n",
        "in text free readers get",
    ),
    "a free code sample showing the markers": (
        "Write:\n\n```\n::: premium\ntext\n:::\n\n<!-- paywall -->\n```\n",
        "in text free readers get",
    ),
    # The block's ':::' line inside code or HTML the block holds would end it there.
    "':::' inside a fence inside a premium block": (
        "Free.\n\n::: premium\n```\n:::\n```\n\nSECRET analysis.\n:::\n\nB\n\n```\nx\n```\n",
        "stands inside the code block",
    ),
    "':::' inside an unclosed <script> inside a premium block": (
        "Free.\n\n::: premium\nP\n\n<script>\nx\n:::\nSECRET analysis.\n",
        "stands inside the HTML",
    ),
    "':::' inside a <section> inside a free block": (
        "Free.\n\n::: free\n<section>\n:::\n</section>\n\nFREE ONLY.\n:::\n",
        "stands inside the HTML",
    ),
    "':::' inside a fence in a list item inside a premium block": (
        "Free.\n\n::: premium\n- x\n\n  ```\n  :::\n  ```\n\n  SECRET analysis.\n:::\n",
        "stands inside the code block",
    ),
}


@pytest.mark.parametrize("body, message", SWALLOWED.values(), ids=SWALLOWED.keys())
def test_structure_swallowed_by_code_or_html_is_an_error(
    workspace: Path, body: str, message: str
) -> None:
    path = _issue(workspace, body)
    with pytest.raises(IssueError) as caught:
        build_issue(config.load(workspace), path)
    assert message in str(caught.value.message)
    assert caught.value.line is not None and caught.value.line > 4  # a body line, not line 1


def test_unclosed_fence_error_points_at_the_opening_fence(workspace: Path) -> None:
    path = _issue(workspace, "Free.\n\n```\ncode\n\n<!-- paywall -->\n\nSECRET\n")
    with pytest.raises(IssueError) as caught:
        build_issue(config.load(workspace), path)
    assert caught.value.line == 7  # front matter is 4 lines, a blank-free body starts on 5


# Structure shown as code, deliberately, stays code where free readers cannot be fooled: in
# inline code, below the paywall, in a four-colon premium block.
SHOWN_AS_CODE = {
    "inline code": ("Write `<!-- paywall -->` on a line of its own.\n", Variant.FREE),
    "a sample below the paywall": (
        "Free.\n\n<!-- paywall -->\n\n```\n::: premium\ntext\n:::\n\n<!-- paywall -->\n```\n",
        Variant.PREMIUM,
    ),
    "a sample in a four-colon premium block": (
        "Free.\n\n:::: premium\n```\n::: premium\ntext\n:::\n<!-- paywall -->\n```\n::::\n",
        Variant.PREMIUM,
    ),
}


@pytest.mark.parametrize(("body", "variant"), SHOWN_AS_CODE.values(), ids=SHOWN_AS_CODE.keys())
def test_structure_shown_as_code_is_fine_where_free_readers_cannot_be_fooled(
    workspace: Path, body: str, variant: Variant
) -> None:
    result = build_issue(config.load(workspace), _issue(workspace, body))
    assert "paywall" in result.emails[variant].text
    if variant is Variant.PREMIUM:
        assert "paywall" not in result.emails[Variant.FREE].text


# Tricky Markdown that parses the way its author meant: SECRET is cut from every free output.
NO_LEAK = {
    "lazy blockquote line before a premium fence": "> quote\n::: premium\nSECRET\n:::\n",
    "lazy list line before a premium fence": "- item\n::: premium\nSECRET\n:::\n",
    "table right before the paywall": "| a | b |\n|---|---|\n| 1 | 2 |\n<!-- paywall -->\nSECRET\n",
    "table right before a premium fence": (
        "| a | b |\n|---|---|\n| 1 | 2 |\n::: premium\nSECRET\n:::\n"
    ),
    "paragraph right before the paywall": "Free para\n<!--paywall-->\nSECRET\n",
    "setext underline after the paywall": "Free\n<!-- paywall -->\nSECRET\n===\n",
    "heading right before a premium fence": "# Head\n::: premium\nSECRET\n:::\n",
    "HTML block inside a premium block": "::: premium\n<div>\nSECRET\n</div>\n:::\n",
    "reference defined in a quote in a premium block": (
        "See [x][r].\n\n::: premium\n> [r]: https://SECRET.example\n:::\n"
    ),
    "reference defined below the paywall, used above": (
        "[a][r] and ![pic][r2]\n\n<!-- paywall -->\n\n"
        '[r]: https://SECRET.example\n[r2]: SECRET.png "SECRET credit"\n'
    ),
    "duplicate label: premium definition first": (
        "[a][r]\n\n::: premium\n[r]: https://SECRET.example\n:::\n\n[r]: https://ok.example\n"
    ),
    "reference label differing in case": "[x][R]\n\n::: premium\n[r]: https://SECRET.example\n:::\n",
    "footnote defined in a premium block": "Free[^n]\n\n::: premium\n[^n]: SECRET note\n:::\n",
    "footnote defined below the paywall": "Free[^1]\n\n<!-- paywall -->\n\n[^1]: SECRET note\n",
    "footnote defined in a list in a premium block": (
        "Free[^x]\n\n::: premium\n- [^x]: SECRET note\n:::\n"
    ),
    "reference definition as a lazy paragraph line": (
        "[r]: https://ok.example\n::: premium\n[q]: https://SECRET.example\n:::\n[x][q]\n"
    ),
    "members-only spelling": "Free\n\n<!--members-only-->\n\nSECRET\n",
    "paywall indented three spaces": "Free\n\n   <!-- paywall -->\n\nSECRET\n",
    "CRLF line ends": (
        "Free\r\n\r\n::: premium\r\nSECRET\r\n:::\r\n\r\n<!-- paywall -->\r\n\r\nSECRET\r\n"
    ),
    "image alt and title in a premium block": (
        'Free.\n\n::: premium\n![SECRET alt](assets/x.png "SECRET title")\n:::\n'
    ),
    "link target in a premium block": "Free.\n\n::: premium\n[text](https://SECRET.example)\n:::\n",
}


@pytest.mark.parametrize("body", NO_LEAK.values(), ids=NO_LEAK.keys())
def test_tricky_markdown_keeps_premium_out_of_free_outputs(workspace: Path, body: str) -> None:
    path = _issue(workspace, body)
    assert "SECRET" not in _free_outputs(workspace, path)
    premium = build_issue(config.load(workspace), path).emails[Variant.PREMIUM]
    assert "SECRET" in premium.html  # the premium edition still has it: the test can fail


def test_byte_order_mark_does_not_hide_the_front_matter(workspace: Path) -> None:
    path = workspace / "issues" / "2026-12-01-bom.md"
    path.write_bytes(("\ufeff" + FRONT + "Free\n\n<!-- paywall -->\n\nSECRET\n").encode())
    assert "SECRET" not in _free_outputs(workspace, path)


def test_free_preview_state_and_frame_carry_no_premium_text(workspace: Path) -> None:
    from postcli.preview.session import PreviewSession

    path = _issue(
        workspace, "Free.\n\n::: premium\nSECRET one\n:::\n\n<!-- paywall -->\n\nSECRET two\n"
    )
    session = PreviewSession(workspace, path, run_checks=False)
    state = session.rebuild()
    free = next(v for v in state["variants"] if v["name"] == "free")
    assert "SECRET" not in json.dumps(free, ensure_ascii=False)
    assert "SECRET" not in (session.email("free", "html") or "x")
    assert "SECRET" not in (session.email("free", "text") or "x")
    assert "SECRET" in (session.email("premium", "html") or "")


# --- 3. escaping and header injection -----------------------------------------------------------

HOSTILE_TITLE = 'title: "Hi <script>alert(1)</script> \\"q\\" {{ 7*7 }}\\r\\nBcc: spy@evil.example"'


def _hostile_issue(workspace: Path) -> Path:
    path = workspace / "issues" / "2026-12-01-hostile.md"
    path.write_text(
        f'---\n{HOSTILE_TITLE}\nsubtitle: "sub\\nX-Injected: 1"\n---\n'
        "Free <b>ok</b>.\n\n<!-- paywall -->\n\nSECRET\n",
        encoding="utf-8",
    )
    return path


def test_front_matter_is_escaped_and_never_run_as_a_template(workspace: Path) -> None:
    path = _hostile_issue(workspace)
    issue = parse_issue(path.read_text(encoding="utf-8"), path)
    email_ = render_issue(issue, config.load(workspace))[Variant.FREE]
    assert "<script>alert(1)" not in email_.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in email_.html
    assert "{{ 7*7 }}" in email_.html and ">49<" not in email_.html


def test_subject_and_preheader_are_one_line_for_every_provider(workspace: Path) -> None:
    path = _hostile_issue(workspace)
    emails = render_issue(
        parse_issue(path.read_text(encoding="utf-8"), path), config.load(workspace)
    )
    for email_ in emails.values():
        assert "\n" not in email_.subject and "\r" not in email_.subject
        assert email_.subject.endswith("{{ 7*7 }} Bcc: spy@evil.example")
        assert email_.preheader == "sub X-Injected: 1"


def test_names_and_subjects_cannot_add_headers_to_eml_files(
    workspace: Path, run_cli: Callable[..., object]
) -> None:
    _hostile_issue(workspace)
    with (workspace / "postcli.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[providers.file]\nsubscribers = "subscribers.csv"\n')
    (workspace / "subscribers.csv").write_text(
        'email,name,tier\nreader@example.com,"Eve\r\nBcc: spy@evil.example",free\n'
        "paid@example.com,Paid,premium\n",
        encoding="utf-8",
        newline="",
    )
    result = run_cli("-C", workspace, "send", "2026-12-01-hostile", "--now", "--yes")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    files = sorted((workspace / "outbox" / "2026-12-01-hostile").rglob("*.eml"))
    assert len(files) == 4
    for file in files:
        message = email.message_from_bytes(file.read_bytes(), policy=policy.default)
        assert message["Bcc"] is None and message["X-Injected"] is None
        assert "spy@evil.example" not in str(message["To"]).split("<")[-1]
        if "premium" not in file.name and "paid" not in file.name:
            assert b"SECRET" not in file.read_bytes()


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", " JavaScript:alert(1)", "java\tscript:alert(1)", "data:text/html,x"],
)
def test_script_upgrade_urls_are_refused(workspace: Path, url: str) -> None:
    from postcli.errors import ConfigError

    toml = workspace / "postcli.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text(
        text.replace("[premium]\n", f"[premium]\nupgrade_url = {json.dumps(url)}\n", 1)
        if "upgrade_url" not in text.split("[premium]")[1].split("[")[0]
        else _replace_key(text, "upgrade_url", json.dumps(url)),
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="upgrade_url"):
        config.load(workspace)


def _replace_key(text: str, key: str, value: str) -> str:
    return "\n".join(
        f"{key} = {value}" if line.split("=")[0].strip() == key else line
        for line in text.split("\n")
    )


def test_script_upgrade_url_in_front_matter_is_refused(workspace: Path) -> None:
    path = workspace / "issues" / "2026-12-01-up.md"
    path.write_text(
        '---\ntitle: x\nupgrade:\n  upgrade_url: "javascript:alert(1)"\n---\n'
        "Free\n\n<!-- paywall -->\n\nMore\n",
        encoding="utf-8",
    )
    with pytest.raises(IssueError) as caught:
        parse_issue(path.read_text(encoding="utf-8"), path)
    assert caught.value.line == 3


def test_javascript_links_in_markdown_are_not_links(workspace: Path) -> None:
    path = _issue(workspace, "[click](javascript:alert(1)) and <javascript:alert(2)>\n")
    html = render_issue(
        parse_issue(path.read_text(encoding="utf-8"), path), config.load(workspace)
    )[Variant.FREE].html
    assert 'href="javascript' not in html.lower()


# --- 5. paths derived from issue ids and addresses ----------------------------------------------


@pytest.mark.parametrize("name", ["...md", "..md"])
def test_an_issue_id_of_dots_is_refused(workspace: Path, name: str) -> None:
    path = workspace / "issues" / name
    path.write_text(FRONT + "Body\n", encoding="utf-8")
    with pytest.raises(IssueError, match="no issue id"):
        build_issue(config.load(workspace), path)
    assert not (workspace / "free.html").exists()


@pytest.mark.parametrize(
    "address", ["../../x@y.example", "a/b@y.example", "..@y.example", "x@y.example/../.."]
)
def test_file_names_from_addresses_stay_in_their_folder(tmp_path: Path, address: str) -> None:
    from postcli.providers.file import FolderTransport, safe_name

    name = safe_name(address)
    assert "/" not in name and "\\" not in name and name not in ("", ".", "..")
    folder = tmp_path / "outbox" / "id" / "to"
    message = email.message.EmailMessage()
    message["Subject"] = "x"
    FolderTransport(folder).deliver(message, sender="", recipient=address)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == 1 and written[0].parent == folder


# --- 4. the preview server ---------------------------------------------------------------------


@pytest.fixture
def served(workspace: Path) -> Iterator[tuple[object, Path]]:
    from postcli.preview import start

    outside = workspace.parent / "outside.png"
    outside.write_bytes(b"\x89PNG outside the workspace")
    (workspace / "assets" / "link.png").symlink_to(outside)
    path = _issue(workspace, "![a](assets/link.png)\n\n![b](../outside.png)\n")
    running = start(workspace, path, watch=False)
    yield running, path
    running.stop()


def _get(running: object, path: str, host: str | None = None) -> tuple[int, bytes]:
    port = running.server.port  # type: ignore[attr-defined]
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host or f"127.0.0.1:{port}"})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_preview_serves_no_file_through_a_symlink_or_dots(served: tuple[object, Path]) -> None:
    running, _ = served
    html = running.session.state()["variants"][0]["html"]  # type: ignore[attr-defined]
    assert "/files/" not in html  # neither image was handed out
    for path in (
        "/files/assets/link.png",
        "/files/../outside.png",
        "/files/%2e%2e/outside.png",
        "/files/assets%2f..%2f..%2foutside.png",
        "/files//etc/passwd",
    ):
        status, body = _get(running, path)
        assert status == 404 and b"outside the workspace" not in body, path


@pytest.mark.parametrize(
    "host", ["localhost.evil.example", "127.0.0.1.nip.io:80", "evil.example:80", ""]
)
def test_preview_refuses_other_host_names(served: tuple[object, Path], host: str) -> None:
    running, _ = served
    status, _ = _get(running, "/api/state", host=host or " ")
    assert status == 403


def test_preview_binds_to_loopback_and_sandboxes_the_emails(served: tuple[object, Path]) -> None:
    from postcli.preview import page

    running, _ = served
    assert running.server.server_address[0] == "127.0.0.1"  # type: ignore[attr-defined]
    sandbox = page.shell().split('sandbox="')[1].split('"')[0].split()
    assert "allow-scripts" not in sandbox and "allow-top-navigation" not in sandbox
    shell = page.page_html('<img src=x onerror="alert(1)">')
    assert "<img src=x" not in shell


# --- 2. secrets -----------------------------------------------------------------------------------


def test_typer_never_shows_locals() -> None:
    from postcli.cli import app

    assert app.pretty_exceptions_show_locals is False


def test_secrets_are_redacted_from_messages_and_logs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from postcli.config import redact

    monkeypatch.setenv("RESEND_API_KEY", "re_topsecret_123")
    monkeypatch.setenv("POSTCLI_SMTP_PASSWORD", "hunter2-pass")
    text = redact("auth failed for re_topsecret_123 with hunter2-pass")
    assert "topsecret" not in text and "hunter2" not in text and text.count("***") == 2


@pytest.mark.parametrize(
    "address", ["me@example.net\r\nBcc: spy@evil.example", "../../x@example.net", "Me <me@x.net>"]
)
def test_test_address_must_be_one_bare_address(
    workspace: Path, run_cli: Callable[..., object], address: str
) -> None:
    result = run_cli("-C", workspace, "send", "2026-12-01-china-ai-global", "--test", address)
    assert result.exit_code == 2  # type: ignore[attr-defined]
    message = result.stderr  # type: ignore[attr-defined]
    assert message.startswith("error: --test:") and message.count("\n") <= 2
    assert not (workspace / "outbox").exists()


@pytest.mark.parametrize("name", ["buttondown", "resend", "mailchimp", "listmonk"])
def test_free_test_send_through_an_http_provider_carries_the_free_email(
    name: str,
    workspace: Path,
    run_cli: Callable[..., object],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fakes import FAKES
    from helpers.fake_api import serve
    from test_adapters import ADDRESS, E2E_ISSUE, SPECS, _configure

    for variable, value in SPECS[name].env.items():
        monkeypatch.setenv(variable, value)
    fake = FAKES[name]()
    (workspace / "issues" / "2026-12-01-now.md").write_text(
        E2E_ISSUE.format(name=name), encoding="utf-8"
    )
    with serve(fake) as server:
        _configure(workspace, name, server.base_url)
        result = run_cli(
            "-C", workspace, "send", "2026-12-01-now", "--test", ADDRESS, "--variant", "free"
        )
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    tests = fake.sends("test")
    assert [d.recipients for d in tests] == [(ADDRESS,)]
    # Everything the provider was sent (campaign, content, test call) is the free email's.
    sent = "\n".join(r.raw.decode("utf-8") for r in fake.requests)
    assert "Hello, free and premium readers" in sent
    assert f"PREMIUMONLY{name}" not in sent


def test_an_unexpected_error_is_one_redacted_line_not_a_traceback(
    workspace: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in postcli still prints no traceback and no secret; --traceback shows it."""
    import postcli.build

    secret = "sk-redact-me-123456"
    monkeypatch.setenv("RESEND_API_KEY", secret)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"boom with {secret}")

    monkeypatch.setattr(postcli.build, "build_issue", broken)
    result = run_cli("-C", workspace, "build", "2026-12-01-china-ai-global")
    assert result.exit_code == 1
    assert "internal error: RuntimeError: boom with ***" in result.stderr
    assert "--traceback" in result.stderr
    assert "Traceback" not in result.output and secret not in result.output
    with pytest.raises(RuntimeError, match="boom"):
        run_cli("-C", workspace, "--traceback", "build", "2026-12-01-china-ai-global")
