"""Input that used to crash, hang or blame the wrong thing: each gets one clear line naming the
file (and line), the exit code of DESIGN section 3, nothing half-done, and never "internal error".

Cases that could kill or hang the interpreter if they regressed (native code given a document
nested 10,000 deep, YAML aliases expanding to gigabytes, a FIFO in issues/) run in a child
process with a timeout and resource limits, so the suite survives the regression and reports it.
"""

from __future__ import annotations

import os
import resource
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers.send import ISSUE_ID, configure, write_issue

Run = Callable[..., Any]
DUE_FRONT = "---\ntitle: {title}\nsend_at: {send_at}\n---\nHello.\n\n<!-- paywall -->\n\nMore.\n"


def _issue(root: Path, name: str, text: str) -> Path:
    path = root / "issues" / f"{name}.md"
    path.write_text(text, encoding="utf-8", newline="")
    return path


def _one_clear_line(result: Any, *needles: str) -> None:
    """Exit 1, no internal error, no traceback, and the message names what it should."""
    assert result.exit_code == 1, result.output
    assert "internal error" not in result.output and "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    first = errors[0]
    for needle in needles:
        assert needle in first, first


def _child(args: list[str], *, memory: int | None = None, timeout: float = 60) -> Any:
    """`postcli ARGS` in a child process, optionally under an address-space limit."""

    def limit() -> None:
        if memory is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "postcli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit,
        check=False,
    )


# --- send times out of range ---------------------------------------------------------------


@pytest.mark.parametrize("send_at", ["9999-12-31T23:00-05:00", "0001-01-01 00:30", "0001-01-01"])
def test_a_send_time_out_of_range_is_refused_at_its_line_by_every_command(
    workspace: Path, run_cli: Run, send_at: str
) -> None:
    _issue(workspace, "2026-12-02-far", DUE_FRONT.format(title="Far", send_at=send_at))
    where = "2026-12-02-far.md:3"
    for args in (("check",), ("build",), ("send", "--dry-run"), ("send", "--yes")):
        result = run_cli("-C", workspace, args[0], "2026-12-02-far", *args[1:])
        _one_clear_line(result, where)
    assert not (workspace / "outbox").exists()


@pytest.mark.parametrize("at", ["9999-12-31T23:00-05:00", "+99999999999d"])
def test_an_at_time_out_of_range_is_a_usage_error(workspace: Path, run_cli: Run, at: str) -> None:
    write_issue(workspace)
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--at", at, "--yes")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: --at: ") and "internal error" not in result.output
    assert not (workspace / "outbox").exists()


def test_send_due_reports_a_bad_issue_and_still_sends_the_others(
    workspace: Path, run_cli: Run
) -> None:
    _issue(
        workspace, "2026-11-30-far", DUE_FRONT.format(title="Far", send_at="9999-12-31T23:00-05:00")
    )
    _issue(workspace, "2026-11-30-good", DUE_FRONT.format(title="Good", send_at="2026-11-30 09:00"))
    result = run_cli("-C", workspace, "send", "--due", "--late-ok", "--yes")
    assert "internal error" not in result.output
    assert "2026-11-30-far.md:3: send_at" in result.stderr and "out of range" in result.stderr
    assert (workspace / "outbox" / "2026-11-30-good" / "free.eml").is_file()
    assert not (workspace / "outbox" / "2026-11-30-far").exists()


# --- nesting, before native code -------------------------------------------------------------


def test_ten_thousand_nested_divs_are_refused_before_the_css_inliner(workspace: Path) -> None:
    body = "<div>" * 10_000 + "deep" + "</div>" * 10_000
    _issue(workspace, "2026-12-02-divs", f"---\ntitle: Divs\n---\nIntro.\n\n{body}\n")
    for command in ("build", "check"):
        done = _child(["-C", str(workspace), command, "2026-12-02-divs"])
        assert done.returncode == 1, (done.returncode, done.stderr[-500:])  # not 139 (SIGSEGV)
        assert "2026-12-02-divs.md:6: HTML nested more than 256" in done.stderr
        assert "internal error" not in done.stderr


def test_deep_emphasis_is_refused_at_its_line(workspace: Path, run_cli: Run) -> None:
    body = "*a " * 3000 + "x" + " a*" * 3000
    _issue(workspace, "2026-12-02-emph", f"---\ntitle: Emph\n---\nIntro.\n\n{body}\n")
    result = run_cli("-C", workspace, "build", "2026-12-02-emph")
    _one_clear_line(result, "2026-12-02-emph.md:6", "nested more than")


def test_an_issue_file_over_the_size_limit_is_refused(workspace: Path, run_cli: Run) -> None:
    from postcli.guards import MAX_ISSUE_BYTES

    _issue(workspace, "2026-12-02-big", "---\ntitle: Big\n---\n" + "x" * MAX_ISSUE_BYTES)
    _one_clear_line(run_cli("-C", workspace, "check", "2026-12-02-big"), "over postcli's limit")


# --- YAML --------------------------------------------------------------------------------------

LAUGHS = "\n".join(
    ["---", "title: Laughs", "upgrade:", "  benefits:", "    - &a0 [x, x, x, x, x, x, x, x, x]"]
    + [f"    - &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    + ["---", "Free.", "", "<!-- paywall -->", "", "Premium.", ""]
)


def test_yaml_aliases_under_upgrade_benefits_fail_fast_with_little_memory(
    workspace: Path,
) -> None:
    assert len(LAUGHS.encode()) < 600
    _issue(workspace, "2026-12-02-laughs", LAUGHS)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = _child(["-C", str(workspace), "check", "2026-12-02-laughs"], memory=1 << 30, timeout=30)
    assert done.returncode == 1, done.stderr[-500:]
    assert "2026-12-02-laughs.md:5: 'upgrade.benefits' must be a list of text" in done.stderr
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert max(peak_kib, before) < 400 * 1024  # a few hundred MB at most, never gigabytes


def test_yaml_aliases_of_valid_shape_are_capped(workspace: Path, run_cli: Run) -> None:
    anchors = "tags: &t [" + ", ".join(["a"] * 100) + "]\n"
    text = "---\ntitle: T\n" + anchors + "upgrade:\n  benefits: [" + ", ".join(["b"] * 10) + "]\n"
    deep = "x0: &x0 [a, a, a, a, a, a, a, a, a, a]\n" + "".join(
        f"x{i}: &x{i} [" + ", ".join([f"*x{i - 1}"] * 10) + "]\n" for i in range(1, 6)
    )
    _issue(workspace, "2026-12-02-ok", text + "---\nBody.\n")
    assert run_cli("-C", workspace, "build", "2026-12-02-ok").exit_code == 0
    _issue(workspace, "2026-12-02-many", "---\ntitle: T\n" + deep + "---\nBody.\n")
    result = run_cli("-C", workspace, "check", "2026-12-02-many")
    _one_clear_line(result, "2026-12-02-many.md:", "expands to more than 10,000")


def test_a_4301_digit_number_is_refused_at_its_line(workspace: Path, run_cli: Run) -> None:
    _issue(workspace, "2026-12-02-n", "---\ntitle: N\nsubtitle: " + "9" * 4301 + "\n---\nB.\n")
    _one_clear_line(run_cli("-C", workspace, "check", "2026-12-02-n"), "2026-12-02-n.md:3")


# --- issues/ holds only regular files for send --due -----------------------------------------


def test_send_due_skips_a_fifo_and_a_device_and_sends_the_rest(workspace: Path) -> None:
    os.mkfifo(workspace / "issues" / "2026-11-30-fifo.md")
    (workspace / "issues" / "2026-11-30-zero.md").symlink_to("/dev/zero")
    _issue(workspace, "2026-11-30-good", DUE_FRONT.format(title="Good", send_at="2026-11-30 09:00"))
    done = _child(
        ["-C", str(workspace), "send", "--due", "--late-ok", "--yes"], memory=1 << 30, timeout=60
    )
    assert "2026-11-30-fifo.md: not a regular file (a named pipe)" in done.stderr
    assert "2026-11-30-zero.md: not a regular file (a device)" in done.stderr
    assert (workspace / "outbox" / "2026-11-30-good" / "premium.eml").is_file()
    assert "internal error" not in done.stderr
    build = _child(["-C", str(workspace), "build", "2026-11-30-fifo"], timeout=30)
    assert build.returncode == 1 and "not a regular file" in build.stderr


# --- addresses in postcli.toml -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("from", '"My Newsletter"', "is not an email address"),
        ("reply_to", '"editor@example.com\\nBcc: spy@example.net"', "has a line break"),
        ("reply_to", '"a@example.com, b@example.com"', "is not one email address"),
        ("reply_to", '".:"', "is not an email address"),  # the stdlib parser raises on it
    ],
)
def test_bad_addresses_are_refused_when_the_config_loads(
    workspace: Path, run_cli: Run, key: str, value: str, why: str
) -> None:
    config = workspace / "postcli.toml"
    lines = config.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.startswith(f"{key} ="))
    lines[number - 1] = f"{key} = {value}"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for args in (("check", "2026-12-01-china-ai-global"), ("send", "--due", "--yes")):
        result = run_cli("-C", workspace, *args)
        _one_clear_line(result, f"postcli.toml:{number}", why)
    assert not (workspace / ".postcli" / "ledger.sqlite3").exists()


# --- control characters ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "name"),
    [
        ("---\ntitle: T\nsubtitle: s\npreheader: p\nsubject: 'a\x1bb'\n---\nBody.\n", 5, "ESC"),
        ('---\ntitle: "a\\eb"\n---\nBody.\n', 2, "ESC"),
        ("---\ntitle: T\n---\nBody.\n\nA form\x0cfeed.\n", 6, "form feed"),
        ("---\ntitle: T\ufffe\n---\nBody.\n", 2, "U+FFFE"),
        ("---\ntitle: T\n---\nBody \x85 with NEL.\n", 4, "U+0085"),
        ("---\ntitle: T\n---\nA &#12; reference.\n", None, "form feed"),
    ],
)
def test_control_characters_are_refused_at_their_own_line(
    workspace: Path, run_cli: Run, text: str, line: int | None, name: str
) -> None:
    _issue(workspace, "2026-12-02-ctl", text)
    result = run_cli("-C", workspace, "build", "2026-12-02-ctl")
    where = f"2026-12-02-ctl.md:{line}:" if line else "2026-12-02-ctl.md:"
    _one_clear_line(result, where, name)
    assert "template" not in result.stderr


def test_control_characters_in_postcli_toml_are_refused_at_their_line(
    workspace: Path, run_cli: Run
) -> None:
    config = workspace / "postcli.toml"
    lines = config.read_text(encoding="utf-8").splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line.startswith("button ="))
    lines[number - 1] = 'button = "Up\\u001bgrade"'
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("-C", workspace, "build", "2026-12-01-china-ai-global")
    _one_clear_line(result, f"postcli.toml:{number}", "U+001B (ESC)")


def test_tabs_and_line_breaks_are_text(workspace: Path, run_cli: Run) -> None:
    _issue(workspace, "2026-12-02-tab", "---\ntitle: T\n---\nA\ttab.\r\nCRLF.\n")
    assert run_cli("-C", workspace, "build", "2026-12-02-tab").exit_code == 0


# --- files postcli cannot read or write, and the ledger ----------------------------------------


def _deny(monkeypatch: pytest.MonkeyPatch, target: Path, method: str = "read_bytes") -> None:
    """Make `target` unreadable as a file without permissions would be (root ignores chmod)."""
    original = getattr(Path, method)

    def denied(self: Path, *args: Any, **kwargs: Any) -> Any:
        if self == target:
            raise PermissionError(13, "Permission denied", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, method, denied)


def test_an_unreadable_postcli_toml_is_named(
    workspace: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    _deny(monkeypatch, workspace / "postcli.toml")
    result = run_cli("-C", workspace, "check", "2026-12-01-china-ai-global")
    _one_clear_line(result, "postcli.toml", "cannot read the file: Permission denied")


def test_an_unwritable_build_folder_is_named(
    workspace: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import postcli.fs

    mkstemp = postcli.fs.tempfile.mkstemp

    def denied(*args: Any, dir: Path, **kwargs: Any) -> Any:  # mkstemp names it `dir`
        if "build" in Path(dir).parts:  # as the OS answers for a folder without write access
            raise PermissionError(13, "Permission denied", str(Path(dir) / "tmpfile"))
        return mkstemp(*args, dir=dir, **kwargs)

    monkeypatch.setattr(postcli.fs.tempfile, "mkstemp", denied)
    result = run_cli("-C", workspace, "build", "2026-12-01-china-ai-global")
    _one_clear_line(result, "build", "Permission denied")


def test_an_unreadable_template_is_named(
    workspace: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jinja2

    original = jinja2.FileSystemLoader.get_source

    def denied(self: Any, environment: Any, template: str) -> Any:
        if template == "email.mjml.j2":
            raise PermissionError(13, "Permission denied", str(workspace / "templates" / template))
        return original(self, environment, template)

    monkeypatch.setattr(jinja2.FileSystemLoader, "get_source", denied)
    result = run_cli("-C", workspace, "build", "2026-12-01-china-ai-global")
    _one_clear_line(result, "email.mjml.j2", "cannot read the template")


def test_a_damaged_ledger_is_named_and_nothing_is_sent(workspace: Path, run_cli: Run) -> None:
    write_issue(workspace)
    (workspace / ".postcli").mkdir()
    (workspace / ".postcli" / "ledger.sqlite3").write_bytes(b"this is not a database at all" * 9)
    for args in (("status",), ("send", ISSUE_ID, "--yes")):
        result = run_cli("-C", workspace, *args)
        _one_clear_line(result, "ledger.sqlite3", "damaged")
    assert not (workspace / "outbox").exists()


def test_a_read_only_ledger_is_exit_1_and_nothing_is_sent(
    workspace: Path, run_cli: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opened read-only by SQLite itself (root would ignore file permissions)."""
    import postcli.ledger.store
    from helpers.workspace import clear_send_at
    from postcli.ledger import Ledger

    clear_send_at(workspace)  # by today's clock the sample issue may be overdue
    write_issue(workspace)
    assert run_cli("-C", workspace, "status").exit_code == 0  # nothing yet, no ledger made
    Ledger.open(workspace / ".postcli").close()
    connect = sqlite3.connect

    def read_only(path: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if not str(path).endswith("ledger.sqlite3"):  # the subscribers' temporary table
            return connect(path, *args, **kwargs)
        return connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(postcli.ledger.store.sqlite3, "connect", read_only)
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    _one_clear_line(result, "ledger.sqlite3", "read-only")
    assert not (workspace / "outbox").exists()


# --- more that used to be internal errors ------------------------------------------------------


def test_web_url_with_a_stray_brace(workspace: Path, run_cli: Run) -> None:
    configure(workspace, "")
    config = workspace / "postcli.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace(
            'url = "https://example.com"\n',
            'url = "https://example.com"\nweb_url = "https://example.com/{id"\n',
            1,
        ),
        encoding="utf-8",
    )
    result = run_cli("-C", workspace, "build", "2026-12-01-china-ai-global")
    _one_clear_line(result, "postcli.toml:7", "stray brace")


def test_a_latin_1_env_file(workspace: Path, run_cli: Run) -> None:
    (workspace / ".env").write_bytes(b"# caf\xe9\nRESEND_API_KEY=x\n")
    _one_clear_line(run_cli("-C", workspace, "status"), ".env:1", "not UTF-8")


@pytest.mark.parametrize(
    ("template", "why"),
    [("{{ 1/0 }}", "ZeroDivisionError"), ("{% include 'email.txt.j2' %}", "includes or extends")],
)
def test_a_template_that_raises_or_includes_itself(
    workspace: Path, run_cli: Run, template: str, why: str
) -> None:
    (workspace / "templates" / "email.txt.j2").write_text(f"Hi\n{template}\n", encoding="utf-8")
    result = run_cli("-C", workspace, "build", "2026-12-01-china-ai-global")
    _one_clear_line(result, "email.txt.j2", why)


def test_init_over_an_existing_file_writes_nothing(tmp_path: Path, run_cli: Run) -> None:
    (tmp_path / "letter").mkdir()
    (tmp_path / "letter" / "templates").write_text("a file, not a folder", encoding="utf-8")
    result = run_cli("init", tmp_path / "letter")
    _one_clear_line(result, "templates", "in the way")
    assert sorted(p.name for p in (tmp_path / "letter").iterdir()) == ["templates"]
    (tmp_path / "plain").write_text("x", encoding="utf-8")
    _one_clear_line(run_cli("init", tmp_path / "plain"), "plain", "in the way")


# --- output that must stay short ---------------------------------------------------------------


def test_a_subscribers_file_of_many_bad_rows_prints_a_capped_list(
    workspace: Path, run_cli: Run
) -> None:
    write_issue(workspace)
    rows = "".join(f"not-an-address-{i},R,free\n" for i in range(50_000))
    (workspace / "subscribers.csv").write_text("email,name,tier\n" + rows, encoding="utf-8")
    configure(workspace, '[providers.file]\nsubscribers = "subscribers.csv"')
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) <= 25
    assert "50,000 bad rows" in result.stderr and "and 49,980 more bad rows" in result.stderr


# --- cron --------------------------------------------------------------------------------------


def _as_cron_runs(line: str) -> tuple[str, str]:
    """What cron does with a crontab line (crontab(5)): after the five time fields, an unescaped
    % ends the command (the rest is its standard input) and `\\%` is a literal %."""
    command = line.split(None, 5)[5]
    out, stdin, i = [], None, 0
    while i < len(command):
        if command.startswith("\\%", i):
            out.append("%")
            i += 2
        elif command[i] == "%":
            stdin = command[i + 1 :]
            break
        else:
            out.append(command[i])
            i += 1
    return "".join(out), stdin or ""


def test_cron_line_survives_percent_and_spaces_in_paths(tmp_path: Path) -> None:
    from postcli.cron import cron_line

    root = tmp_path / "news 100% 'quoted'"
    (root / ".postcli").mkdir(parents=True)
    recorder = tmp_path / "recorder"
    recorder.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$(dirname "$0")/args"\n', "utf-8")
    recorder.chmod(0o755)
    line = cron_line(root, "5m", executable=shlex.quote(str(recorder)))
    command, stdin = _as_cron_runs(line)
    assert stdin == ""
    subprocess.run(["/bin/sh", "-c", command], check=True, timeout=30)
    args = (tmp_path / "args").read_text("utf-8").splitlines()
    assert args == ["-C", str(root.resolve()), "send", "--due", "--yes"]
    assert (root / ".postcli" / "cron.log").exists()


# --- the file provider's file names ------------------------------------------------------------


def test_addresses_that_look_alike_get_their_own_files(workspace: Path, run_cli: Run) -> None:
    from helpers.send import SECRET, parse, parts

    write_issue(workspace)
    (workspace / "subscribers.csv").write_text(
        "email,name,tier\na!b@example.com,,free\na#b@example.com,,premium\na_b@example.com,,free\n",
        encoding="utf-8",
    )
    configure(workspace, '[providers.file]\nsubscribers = "subscribers.csv"')
    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert result.exit_code == 0, result.output
    files = sorted((workspace / "outbox" / ISSUE_ID / "to").glob("*.eml"))
    assert len(files) == 3
    by_recipient = {str(parse(f)["To"]): parts(parse(f)) for f in files}
    assert set(by_recipient) == {"a!b@example.com", "a#b@example.com", "a_b@example.com"}
    assert SECRET in by_recipient["a#b@example.com"][0]
    assert SECRET not in by_recipient["a!b@example.com"][0] + by_recipient["a!b@example.com"][1]
    assert SECRET not in by_recipient["a_b@example.com"][0] + by_recipient["a_b@example.com"][1]
    assert (workspace / "outbox" / ISSUE_ID / "to" / "a_b@example.com.eml").is_file()
