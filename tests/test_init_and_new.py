"""`postcli init` scaffolds a valid workspace; `postcli new` writes a parsable issue."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from helpers.user_errors import assert_user_error
from postcli.issues import load_issue

Run = Callable[..., Any]  # the run_cli fixture (conftest.py): returns exit_code, stdout, stderr


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
