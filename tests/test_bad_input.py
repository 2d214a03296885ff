"""Bad issues, config and templates through the command line: one line naming file and line,
the documented exit code, never a traceback; and the exit codes themselves."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers.user_errors import assert_user_error
from helpers.workspace import config_line, edit_config, override_template
from postcli import __version__
from postcli.errors import ExitCode

Run = Callable[..., Any]  # the run_cli fixture (conftest.py): returns exit_code, stdout, stderr


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


def test_template_that_includes_a_missing_template(workspace: Path, run_cli: Run) -> None:
    override_template(workspace, 10, "      {% include 'nowhere.j2' %}")
    result = run_cli("-C", workspace, "build", "2026-12-08-open-weights-week")
    assert_user_error(
        result, path=workspace / "templates", line=None, words="template 'nowhere.j2' not found"
    )


def test_template_that_includes_itself(workspace: Path, run_cli: Run) -> None:
    path = override_template(workspace, 10, "      {% include 'email.mjml.j2' %}")
    result = run_cli("-C", workspace, "build", "2026-12-08-open-weights-week")
    assert_user_error(result, path=path, line=None, words="includes or extends itself")
    assert "{% include %} or {% extends %}" in result.stderr


def test_template_that_raises_is_the_templates_error(workspace: Path, run_cli: Run) -> None:
    path = override_template(workspace, 10, "      {{ 1 // 0 }}")
    result = run_cli("-C", workspace, "build", "2026-12-08-open-weights-week")
    assert_user_error(
        result, path=path, line=10, words="template failed: ZeroDivisionError: integer division"
    )
    assert "hint: fix the template, or delete it to use the built-in one" in result.stderr


def test_template_that_mjml_rejects(workspace: Path, run_cli: Run) -> None:
    path = workspace / "templates" / "email.mjml.j2"
    path.write_text(path.read_text(encoding="utf-8").replace("</mjml>", ""), encoding="utf-8")
    result = run_cli("-C", workspace, "build", "2026-12-08-open-weights-week")
    assert_user_error(result, path=path, line=None, words="MJML could not compile")


# --- command lines, exit codes and --traceback ----------------------------------------------


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
