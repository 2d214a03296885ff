"""`check` refuses `postcli init`'s example.com placeholders when the provider is not `file`
(DESIGN section 4), naming each key and its line; and the one function behind "view in
browser"."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from postcli import config
from postcli.check import design as design_checks
from postcli.render import links
from postcli.workspace import NewIssue, init_workspace, new_issue

KEYS = ["from", "url", "unsubscribe_url", "assets_url", "upgrade_url"]


@pytest.fixture
def fresh(tmp_path: Path) -> Path:
    """A workspace exactly as `postcli init` writes it, with one issue."""
    root = tmp_path / "letter"
    init_workspace(root, name="Fresh Letter")
    new_issue(config.load(root), NewIssue("First issue"))
    return root


def _provider(root: Path, name: str) -> None:
    path = root / "postcli.toml"
    text = path.read_text(encoding="utf-8").replace('name = "file"', f'name = "{name}"')
    path.write_text(text, encoding="utf-8")


def _issue_id(root: Path) -> str:
    return next((root / "issues").glob("*.md")).stem


def test_every_init_placeholder_is_an_error_with_its_line_outside_the_file_provider(
    fresh: Path,
) -> None:
    _provider(fresh, "smtp")
    settings = config.load(fresh)
    found = design_checks.placeholder_findings(settings)
    lines = (fresh / "postcli.toml").read_text(encoding="utf-8").splitlines()
    assert [f.message.split("]", 1)[1].split()[0] for f in found] == KEYS
    for finding in found:
        assert finding.level.value == "error" and finding.path == fresh / "postcli.toml"
        assert finding.line is not None and "example.com" in lines[finding.line - 1]
        assert "through smtp" in finding.message


def test_the_file_provider_may_keep_them(fresh: Path) -> None:
    assert design_checks.placeholder_findings(config.load(fresh)) == []


def test_postcli_check_and_send_refuse_them(fresh: Path, run_cli: Callable[..., Any]) -> None:
    _provider(fresh, "buttondown")
    issue_id = _issue_id(fresh)
    checked = run_cli("-C", fresh, "check", issue_id)
    assert checked.exit_code == 1
    assert checked.stdout.count("[init-placeholder]") == 5
    assert "postcli.toml:4:" in checked.stdout  # the from line
    assert "ready to send" not in checked.stdout


def test_own_addresses_pass(fresh: Path) -> None:
    path = fresh / "postcli.toml"
    path.write_text(
        path.read_text(encoding="utf-8").replace("example.com", "fresh-letter.kr"),
        encoding="utf-8",
    )
    _provider(fresh, "smtp")
    assert design_checks.placeholder_findings(config.load(fresh)) == []


@pytest.mark.parametrize(
    ("value", "address", "placeholder"),
    [
        ("https://example.com/x", False, True),
        ("https://cdn.example.com/n/", False, True),
        ("https://EXAMPLE.org", False, True),
        ("https://news.example/", False, True),
        ("https://example.community/", False, False),
        ("https://myexample.com/", False, False),
        ("Name <hello@example.com>", True, True),
        ("hello@example.net", True, True),
        ("Name <hello@example.co.kr>", True, False),
    ],
)
def test_what_counts_as_a_placeholder(value: str, address: bool, placeholder: bool) -> None:
    assert design_checks.is_placeholder(value, address=address) is placeholder


def test_view_in_browser_is_computed_in_one_place(tmp_path: Path) -> None:
    settings = config.Settings(root=tmp_path)
    newsletter = dataclasses.replace(settings.newsletter, url="https://letter.kr")
    with_url = dataclasses.replace(settings, newsletter=newsletter)
    assert links.view_in_browser(with_url, "2026-12-01-a") == "https://letter.kr"
    web = dataclasses.replace(newsletter, web_url="https://letter.kr/p/{id}")
    assert links.view_in_browser(dataclasses.replace(settings, newsletter=web), "x") == (
        "https://letter.kr/p/x"
    )
    assert links.view_in_browser(settings, "x") is None
