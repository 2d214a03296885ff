"""The README is tested: its shell examples run, its issue example builds, its links resolve, and
every command has help text."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from postcli.issues import load_issue

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
FENCE_RE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)

# Lines of the README's shell examples that the suite does not run, and why.
NOT_RUN = {
    "pip": "installs into the environment; tests/test_wheel.py installs the built wheel",
    "pipx": "installs into the user's environment; tests/test_wheel.py installs the built wheel",
    "make": "runs the whole suite or installs into .venv",
    "preview": "serves until stopped; tests/test_preview.py covers it",
}


def readme() -> str:
    if not README.is_file() or not README.read_text(encoding="utf-8").strip():
        pytest.skip("README.md is empty")
    return README.read_text(encoding="utf-8")


def shell_lines(text: str) -> list[str]:
    lines = []
    for language, body in FENCE_RE.findall(text):
        if language in ("sh", "bash", "console", "shell"):
            lines += [line.removeprefix("$ ") for line in body.splitlines() if line.strip()]
    return lines


def test_readme_shell_examples_run(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    lines = shell_lines(readme())
    assert any(line.startswith("postcli ") for line in lines)
    cwd = tmp_path
    ids: dict[str, str] = {}  # the README's example issue id -> the id `new` really made
    ran = 0
    for line in lines:
        words = shlex.split(line, comments=True)
        comment = line.partition(" #")[2]
        if not words or words[0] in NOT_RUN or (len(words) > 1 and words[1] in NOT_RUN):
            continue
        if words[0] == "cd":
            cwd = cwd / words[1]
            continue
        assert words[0] == "postcli", f"README runs something the suite does not know: {line}"
        args = [ids.get(word, word) for word in words[1:]]
        if args[0] == "send" and "--yes" not in args:
            args.append("--yes")  # no terminal here to confirm on
        result = run_cli(*args, cwd=cwd)
        assert result.exit_code == 0, f"{line}\n{result.output}"
        assert "Traceback" not in result.output
        ran += 1
        if args[0] == "new":
            made = Path(result.stdout.strip())
            assert made.is_file()
            shown = re.search(r"issues/(\S+)\.md", comment)
            if shown:  # the README names a date; `new` uses today's
                ids[shown.group(1)] = made.stem
    assert ran >= 3


def test_readme_issue_example_builds(workspace: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    blocks = [body for language, body in FENCE_RE.findall(readme()) if language == "markdown"]
    assert blocks, "the README shows no issue"
    for number, body in enumerate(blocks):
        path = workspace / "issues" / f"2026-12-01-readme-{number}.md"
        path.write_text(body, encoding="utf-8")
        issue = load_issue(path)
        assert issue.front.title
        result = run_cli("-C", workspace, "build", path.stem)
        assert result.exit_code == 0, result.output


def test_readme_links_resolve() -> None:
    text = readme()
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
    local = [link for link in links if not re.match(r"^[a-z]+:", link)]
    assert local
    mentioned = re.findall(r"(?<![\w/(\[])(docs/[\w./-]+\.md)", text)  # "see docs/x.md"
    missing = sorted({link for link in local + mentioned if not (REPO / link).exists()})
    assert not missing, f"README points to missing files: {missing}"


def test_readme_lists_every_command(run_cli) -> None:  # type: ignore[no-untyped-def]
    from postcli.cli import app

    commands = sorted(info.name or "" for info in app.registered_commands)
    text = readme()
    for name in commands:
        assert f"`postcli {name}" in text, f"README's command table lacks {name}"


def test_every_command_has_help_text(run_cli) -> None:  # type: ignore[no-untyped-def]
    from postcli.cli import app

    for info in app.registered_commands:
        result = run_cli(info.name, "--help")
        assert result.exit_code == 0, result.output
        summary = result.stdout.split("Usage:", 1)[1].split("\n\n", 2)[1].strip()
        assert summary, f"postcli {info.name} has no help text"
