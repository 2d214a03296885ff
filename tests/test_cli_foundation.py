"""The foundation's commands through the command line: init, new, build, --version, exit codes,
and bad input reported as one line naming file and line, never as a traceback."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from postcli import __version__
from postcli.errors import ExitCode
from postcli.issues import load_issue

Run = Callable[..., Any]  # the run_cli fixture (conftest.py): returns exit_code, stdout, stderr


def assert_user_error(
    result: Any, *, path: Path, line: int | None, words: str, code: int = 1
) -> None:
    """One `error: FILE:LINE: message` line (and maybe a hint), the right code, no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    first = result.stderr.splitlines()[0]
    where = f"{path}:{line}: " if line else f"{path}: "
    assert first.startswith(f"error: {where}"), first
    assert words in first, first
    rest = result.stderr.splitlines()[1:]
    assert all(extra.startswith("  hint: ") for extra in rest), result.stderr


# --- bad issues -------------------------------------------------------------------------------

BAD = [
    pytest.param(
        "---\ntitle: ok\nsubtitle: a: b\n---\nbody\n", 3, "not valid YAML", id="broken-yaml"
    ),
    pytest.param(
        '---\ntitle: ok\nsubtitle: "never closed\ntags: [a]\n---\nbody\n',
        3,
        "not valid YAML",
        id="unclosed-quote",
    ),
    pytest.param(
        "---\ntitle: ok\nauthor: me\n---\nbody\n",
        3,
        "unknown front matter key 'author'",
        id="unknown-key",
    ),
    pytest.param("---\nsubtitle: s\ntags: []\n---\nbody\n", 2, "no 'title'", id="missing-title"),
    pytest.param(
        "---\ntitle: t\n---\nA\n\n<!-- paywall -->\n\nB\n\n<!-- paywall -->\n\nC\n",
        10,
        "second paywall marker",
        id="two-paywalls",
    ),
    pytest.param(
        "---\ntitle: t\n---\nA\n\n::: premium\nB\n\n<!-- paywall -->\n\nC\n:::\n",
        9,
        "paywall marker inside",
        id="paywall-in-block",
    ),
    pytest.param(
        "---\ntitle: t\n---\nA\n\n\n::: free\n\nB\n", 7, "never closed", id="unclosed-block"
    ),
]


@pytest.mark.parametrize(("text", "line", "words"), BAD)
def test_bad_issue(workspace: Path, run_cli: Run, text: str, line: int, words: str) -> None:
    path = workspace / "issues" / "2026-12-24-bad.md"
    path.write_text(text, encoding="utf-8")
    result = run_cli("-C", workspace, "build", "2026-12-24-bad")
    assert_user_error(result, path=path, line=line, words=words)
    assert not (workspace / "build" / "2026-12-24-bad").exists()


def test_issue_not_utf8(workspace: Path, run_cli: Run) -> None:
    path = workspace / "issues" / "2026-12-24-latin1.md"
    path.write_bytes("---\ntitle: ok\n---\nfine\n\ncafé\n".encode("latin-1"))
    result = run_cli("-C", workspace, "build", path)
    assert_user_error(result, path=path, line=6, words="not UTF-8")
    assert "save the file as UTF-8" in result.stderr


def test_issue_that_does_not_exist(workspace: Path, run_cli: Run) -> None:
    result = run_cli("-C", workspace, "build", "2026-12-24-nothing")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: 2026-12-24-nothing: no issue '2026-12-24-nothing'")
    assert "2026-12-01-china-ai-global" in result.stderr  # the hint lists known issues


def test_no_workspace(tmp_path: Path, run_cli: Run) -> None:
    result = run_cli("build", "x", cwd=tmp_path)
    assert result.exit_code == 1
    assert "no postcli.toml here or in any folder above" in result.stderr
    assert "postcli init" in result.stderr


# --- bad postcli.toml ---------------------------------------------------------------------------


def edit_config(workspace: Path, old: str, new: str) -> Path:
    path = workspace / "postcli.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def config_line(path: Path, start: str) -> int:
    lines = path.read_text(encoding="utf-8").split("\n")
    return next(number for number, line in enumerate(lines, 1) if line.startswith(start))


def test_config_unknown_key(workspace: Path, run_cli: Run) -> None:
    path = edit_config(workspace, 'lang = "ko"\n', 'lang = "ko"\ncolour = "red"\n')
    result = run_cli("-C", workspace, "build", "2026-12-08-open-weights-week")
    line = config_line(path, "colour")
    assert_user_error(result, path=path, line=line, words="unknown key 'colour' in [newsletter]")
    assert "timezone" in result.stderr  # the known keys are listed


def test_config_not_toml(workspace: Path, run_cli: Run) -> None:
    path = edit_config(workspace, 'lang = "ko"', "lang = ko")
    result = run_cli("-C", workspace, "build", "2026-12-08-open-weights-week")
    assert_user_error(result, path=path, line=config_line(path, "lang"), words="not valid TOML")


def test_config_reports_every_problem_at_once(workspace: Path, run_cli: Run) -> None:
    edit_config(workspace, 'lang = "ko"\n', 'lang = "ko"\ncolour = "red"\n')
    path = edit_config(workspace, 'timezone = "Asia/Seoul"', 'timezone = "Mars/Olympus"')
    result = run_cli("-C", workspace, "build", "2026-12-08-open-weights-week")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{path}:{config_line(path, 'colour')}: unknown key 'colour'" in result.stderr
    assert f"{path}:{config_line(path, 'timezone')}: unknown time zone" in result.stderr


def test_workspace_option_names_a_missing_folder(tmp_path: Path, run_cli: Run) -> None:
    missing = tmp_path / "nowhere"
    result = run_cli("-C", missing, "build", "x")
    assert_user_error(result, path=missing, line=None, words="no such folder")


# --- bad templates ----------------------------------------------------------------------------


def override_template(
    workspace: Path, line: int, replacement: str, name: str = "email.mjml.j2"
) -> Path:
    path = workspace / "templates" / name
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[line - 1] = replacement
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_template_with_a_jinja_syntax_error(workspace: Path, run_cli: Run) -> None:
    path = override_template(workspace, 7, "    <mj-preview>{{ preheader | }}</mj-preview>")
    result = run_cli("-C", workspace, "build", "2026-12-08-open-weights-week")
    assert_user_error(result, path=path, line=7, words="template syntax error")


def test_template_with_an_unknown_variable(workspace: Path, run_cli: Run) -> None:
    path = override_template(workspace, 10, "      {{ no_such_value }}")
    result = run_cli("-C", workspace, "build", "2026-12-08-open-weights-week")
    assert_user_error(result, path=path, line=10, words="'no_such_value' is undefined")


def test_text_template_with_an_unknown_attribute(workspace: Path, run_cli: Run) -> None:
    path = override_template(workspace, 2, "{{ newsletter.no_such_field }}", name="email.txt.j2")
    result = run_cli("-C", workspace, "build", "2026-12-08-open-weights-week")
    assert_user_error(result, path=path, line=2, words="unknown value")


def test_template_that_mjml_rejects(workspace: Path, run_cli: Run) -> None:
    path = workspace / "templates" / "email.mjml.j2"
    path.write_text(path.read_text(encoding="utf-8").replace("</mjml>", ""), encoding="utf-8")
    result = run_cli("-C", workspace, "build", "2026-12-08-open-weights-week")
    assert_user_error(result, path=path, line=None, words="MJML could not compile")


# --- init ---------------------------------------------------------------------------------------


def test_init_creates_a_workspace_and_refuses_a_second_time(tmp_path: Path, run_cli: Run) -> None:
    folder = tmp_path / "letter"
    result = run_cli(
        "init", folder, "--name", 'The "Weekly"', "--lang", "ko", "--timezone", "Asia/Seoul"
    )
    assert result.exit_code == 0, result.output
    for name in ("postcli.toml", "issues", "templates", "assets", ".gitignore"):
        assert (folder / name).exists(), name
    assert "build/" in (folder / ".gitignore").read_text(encoding="utf-8")
    from postcli import config

    settings = config.load(folder)  # the scaffolded config is valid
    assert settings.newsletter.name == 'The "Weekly"'
    assert settings.newsletter.lang == "ko" and settings.newsletter.timezone == "Asia/Seoul"
    before = (folder / "postcli.toml").read_bytes()

    again = run_cli("init", folder)
    assert_user_error(again, path=folder / "postcli.toml", line=None, words="already exists")
    assert (folder / "postcli.toml").read_bytes() == before


def test_init_then_new_then_build(tmp_path: Path, run_cli: Run) -> None:
    folder = tmp_path / "letter"
    assert run_cli("init", folder).exit_code == 0
    created = run_cli("-C", folder, "new", "First issue", "--date", "2027-01-04")
    assert created.exit_code == 0, created.output
    built = run_cli("-C", folder, "build", "2027-01-04-first-issue")
    assert built.exit_code == 0, built.output
    out = Path(built.stdout.strip())
    assert sorted(p.name for p in out.iterdir()) == [
        "free.html",
        "free.txt",
        "meta.json",
        "premium.html",
        "premium.txt",
    ]


def test_init_keeps_an_existing_gitignore(tmp_path: Path, run_cli: Run) -> None:
    (tmp_path / ".gitignore").write_text("node_modules/\nbuild/\n", encoding="utf-8")
    assert run_cli("init", tmp_path).exit_code == 0
    lines = (tmp_path / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "node_modules/"
    assert lines.count("build/") == 1 and "outbox/" in lines and ".env" in lines


# --- new ----------------------------------------------------------------------------------------


def test_new_prints_the_path_of_a_parsable_issue(workspace: Path, run_cli: Run) -> None:
    result = run_cli("-C", workspace, "new", "Agents at Work", "--date", "2026-12-15")
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    assert path == workspace / "issues" / "2026-12-15-agents-at-work.md"
    issue = load_issue(path)
    assert issue.front.title == "Agents at Work"
    assert issue.paywall is not None  # the template shows where the paywall goes


def test_new_refuses_an_existing_file(workspace: Path, run_cli: Run) -> None:
    first = run_cli("-C", workspace, "new", "Agents at Work", "--date", "2026-12-15")
    path = Path(first.stdout.strip())
    path.write_text(path.read_text(encoding="utf-8") + "\nMy words.\n", encoding="utf-8")
    again = run_cli("-C", workspace, "new", "Agents at Work", "--date", "2026-12-15")
    assert_user_error(again, path=path, line=None, words="exists already")
    assert "My words." in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("글로벌 시장을 향한 탐험", "글로벌-시장을-향한-탐험"),
        ("중국 AI의 글로벌 확장", "중국-ai의-글로벌-확장"),
        ("'Quotes' & Symbols: 2026!", "quotes-symbols-2026"),
    ],
)
def test_new_slug_from_the_title(workspace: Path, run_cli: Run, title: str, slug: str) -> None:
    result = run_cli("-C", workspace, "new", title, "--date", "2026-12-15")
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    assert path.name == f"2026-12-15-{slug}.md"
    assert load_issue(path).front.title == title


def test_new_with_send_at(workspace: Path, run_cli: Run) -> None:
    result = run_cli("-C", workspace, "new", "Scheduled", "--send-at", "2026-12-22 09:00")
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    assert path.name == "2026-12-22-scheduled.md"  # the date comes from --send-at
    send_at = load_issue(path).front.send_at
    assert send_at is not None and send_at.isoformat() == "2026-12-22T09:00:00"


@pytest.mark.parametrize("args", [["--send-at", "next friday"], ["--date", "2026-13-01"]])
def test_new_bad_dates_are_usage_errors(workspace: Path, run_cli: Run, args: list[str]) -> None:
    result = run_cli("-C", workspace, "new", "Scheduled", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert not list((workspace / "issues").glob("*scheduled*"))


# --- build --------------------------------------------------------------------------------------


def test_build_json_shape(workspace: Path, run_cli: Run) -> None:
    result = run_cli("-C", workspace, "build", "2026-12-01-china-ai-global", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    out = workspace / "build" / "2026-12-01-china-ai-global"
    assert data["id"] == "2026-12-01-china-ai-global"
    assert Path(data["out"]) == out
    assert sorted(Path(f).name for f in data["files"]) == sorted(
        ["free.html", "free.txt", "premium.html", "premium.txt", "meta.json"]
    )
    assert all(Path(f).is_file() and Path(f).parent == out for f in data["files"])
    assert set(data["variants"]) == {"free", "premium"}
    for variant, info in data["variants"].items():
        assert set(info) == {"subject", "html_bytes", "text_bytes"}
        assert info["subject"] == "'글로벌 시장'을 향한 '중국 AI'의 탐험"
        assert info["html_bytes"] == len((out / f"{variant}.html").read_bytes())
        assert info["text_bytes"] == len((out / f"{variant}.txt").read_bytes())


def test_build_prints_the_folder_and_sizes(workspace: Path, run_cli: Run) -> None:
    result = run_cli("-C", workspace, "build", "2026-12-08-open-weights-week")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(workspace / "build" / "2026-12-08-open-weights-week")
    assert re.search(r"^free\s+[\d.]+ kB HTML", result.stderr, re.M)
    quiet = run_cli("-C", workspace, "-q", "build", "2026-12-08-open-weights-week")
    assert quiet.stderr == "" and quiet.stdout == result.stdout


def test_build_out_and_issue_path(workspace: Path, run_cli: Run, tmp_path: Path) -> None:
    issue = workspace / "issues" / "2026-12-08-open-weights-week.md"
    out = tmp_path / "elsewhere"
    result = run_cli("build", issue, "--out", out, cwd=workspace)
    assert result.exit_code == 0, result.output
    assert (out / "premium.html").is_file()
    assert not (workspace / "build").exists()


def test_build_audience_premium_writes_only_premium(workspace: Path, run_cli: Run) -> None:
    path = workspace / "issues" / "2026-12-24-members.md"
    path.write_text("---\ntitle: Members\naudience: premium\n---\nAll of it.\n", encoding="utf-8")
    result = run_cli("-C", workspace, "build", path.stem, "--json")
    assert result.exit_code == 0, result.output
    assert list(json.loads(result.stdout)["variants"]) == ["premium"]
    out = workspace / "build" / path.stem
    assert sorted(p.name for p in out.iterdir()) == ["meta.json", "premium.html", "premium.txt"]


# --- global options and exit codes --------------------------------------------------------------


def test_version(run_cli: Run) -> None:
    result = run_cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"postcli {__version__}"


def test_help_lists_the_foundation_commands(run_cli: Run) -> None:
    result = run_cli("--help")
    assert result.exit_code == 0
    for command in ("init", "new", "build"):
        assert re.search(rf"^\s+{command}\s+\S", result.stdout, re.M), command


@pytest.mark.parametrize(
    "args",
    [
        ["build", "--no-such-option", "x"],
        ["build"],
        ["no-such-command"],
        ["--no-such-global"],
        ["new"],
    ],
)
def test_bad_command_lines_exit_2(workspace: Path, run_cli: Run, args: list[str]) -> None:
    result = run_cli("-C", workspace, *args)
    assert result.exit_code == ExitCode.USAGE == 2, result.output
    assert "Traceback" not in result.output
    assert "Usage:" in result.stderr


def test_exit_codes_are_the_documented_ones() -> None:
    assert {code.name: int(code) for code in ExitCode} == {
        "OK": 0,
        "INPUT": 1,
        "USAGE": 2,
        "REFUSED": 3,
        "UNAVAILABLE": 4,
        "INTERRUPTED": 130,
    }


def test_traceback_option_shows_the_real_error(workspace: Path, run_cli: Run) -> None:
    from postcli.errors import IssueError

    (workspace / "issues" / "2026-12-24-bad.md").write_text("no front matter\n", encoding="utf-8")
    with pytest.raises(IssueError):
        run_cli("-C", workspace, "--traceback", "build", "2026-12-24-bad")
