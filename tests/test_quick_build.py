"""`postcli build` without Typer (cli/quick.py) prints, writes and exits exactly as the Typer
command does, and only takes the arguments it reads the same way."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from postcli.cli import quick

REPO = Path(__file__).resolve().parent.parent
ISSUE = "2026-12-01-china-ai-global"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "newsletter"
    root.mkdir()
    shutil.copy2(REPO / "postcli.toml", root / "postcli.toml")
    for name in ("templates", "assets", "issues"):
        shutil.copytree(REPO / name, root / name)
    return root


def _run(args: list[str], typer_only: bool) -> tuple[int, str, str]:
    """Run `postcli ARGS` in this process, by the quick path or by the Typer app alone."""
    from postcli.cli import main
    from postcli.cli.root import run

    out, err = io.StringIO(), io.StringIO()
    code: object = None
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            run(args) if typer_only else main(args)
        except SystemExit as done:
            code = done.code
    return (code if isinstance(code, int) else 0), out.getvalue(), err.getvalue()


CASES = [
    ["build", ISSUE],
    ["-q", "build", ISSUE],
    ["build", ISSUE, "--json"],
    ["-v", "-q", "build", "--json", ISSUE],
    ["build", "no-such-issue"],  # exit 1, the closest ids suggested
    ["build", "issues/../../outside.md"],
    ["--traceback", "build", ISSUE, "--out", "elsewhere"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) for c in CASES])
def test_the_quick_path_does_what_the_typer_command_does(
    args: list[str], workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert quick.parse(args) is not None  # each case takes the quick path
    monkeypatch.chdir(workspace)
    typer_result = _run(args, typer_only=True)
    typer_files = sorted(p.relative_to(workspace) for p in workspace.rglob("*") if p.is_file())
    shutil.rmtree(workspace / "build", ignore_errors=True)
    shutil.rmtree(workspace / "elsewhere", ignore_errors=True)
    quick_result = _run(args, typer_only=False)
    quick_files = sorted(p.relative_to(workspace) for p in workspace.rglob("*") if p.is_file())
    assert quick_result == typer_result
    assert quick_files == typer_files


def test_a_broken_config_is_the_same_error_and_exit_code(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workspace / "postcli.toml").write_text("[newsletter\n", encoding="utf-8")
    args = ["-C", str(workspace), "build", ISSUE]
    typer_result = _run(args, typer_only=True)
    assert typer_result[0] == 1 and "postcli.toml" in typer_result[2]
    assert _run(args, typer_only=False) == typer_result


def test_a_missing_workspace_folder_is_the_same_error(tmp_path: Path) -> None:
    args = ["--workspace", str(tmp_path / "nowhere"), "build", ISSUE]
    typer_result = _run(args, typer_only=True)
    assert typer_result[0] == 1 and "no such folder" in typer_result[2]
    assert _run(args, typer_only=False) == typer_result


@pytest.mark.parametrize(
    "args",
    [
        ["build"],
        ["build", "--help"],
        ["build", ISSUE, "-h"],
        ["build", ISSUE, "--out=dir"],
        ["build", ISSUE, "--out"],
        ["build", ISSUE, "--out", "-x"],
        ["build", ISSUE, "other"],
        ["-vq", "build", ISSUE],
        ["--workspace=dir", "build", ISSUE],
        ["-C", "build", ISSUE],
        ["--version", "build", ISSUE],
        ["build", ISSUE, "-q"],  # a global option after the command: Click's error
        ["build", "--", ISSUE],
        ["build", "-"],
        ["check", "build"],
    ],
)
def test_other_spellings_go_to_the_typer_app(args: list[str]) -> None:
    assert quick.parse(args) is None


def test_usage_errors_are_still_typers(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(workspace)
    code, _, err = _run(["build", ISSUE, "-q"], typer_only=False)
    assert code == 2 and "No such option" in err


def test_an_escape_sequence_is_stripped_off_a_pipe_as_click_does() -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        quick.echo("a\033[31mred\033[0m b")
    import click

    expected = io.StringIO()
    click.echo("a\033[31mred\033[0m b", file=expected)
    assert out.getvalue() == expected.getvalue() == "ared b\n"


def test_build_as_a_process_imports_none_of_what_it_does_not_need(workspace: Path) -> None:
    """Typer and Click are most of a CLI's start-up; PyYAML a tenth of a build process (the sample
    issues' front matter is plain enough for issues/plain_yaml.py); html.parser a few percent
    (only HTML the quick readers do not know needs it)."""
    code = (
        "import sys\n"
        "from postcli.cli import main\n"
        "try:\n"
        f"    main(['-q', 'build', {ISSUE!r}])\n"
        "except SystemExit as done:\n"
        "    assert done.code in (0, None), done.code\n"
        "heavy = ('typer', 'click', 'httpx', 'yaml', 'html.parser')\n"
        "loaded = sorted(m for m in sys.modules if m in heavy or m.split('.')[0] in heavy)\n"
        "print('loaded:' + ','.join(loaded))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=workspace,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "100"},
        check=True,
    )
    assert done.stdout.splitlines()[-1] == "loaded:"
    assert (workspace / "build" / ISSUE / "premium.html").is_file()
