"""Compiled templates are cached on disk, and the cache never serves a stale or foreign template:
Jinja keys entries by template and file and checks the source's checksum, and postcli uses
only a folder that is this user's own and writable by no one else."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from postcli.render import templates


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cache"
    monkeypatch.setenv("POSTCLI_CACHE_DIR", str(folder))
    templates.environment.cache_clear()
    yield folder / "templates"
    templates.environment.cache_clear()


def render(workspace_templates: Path) -> str:
    templates.environment.cache_clear()  # a new process, as far as Jinja's memory goes
    return templates.render("probe.txt.j2", {"name": "x"}, workspace_templates)


def test_a_compiled_template_is_reused_and_an_edit_recompiles(cache: Path, tmp_path: Path) -> None:
    own = tmp_path / "templates"
    own.mkdir()
    (own / "probe.txt.j2").write_text("one {{ name }}", encoding="utf-8")
    assert render(own) == "one x"
    entries = list(cache.iterdir())
    assert len(entries) == 1
    assert cache.stat().st_mode & 0o777 == 0o700
    assert render(own) == "one x"  # from the cache: the same entry, untouched
    assert list(cache.iterdir()) == entries
    (own / "probe.txt.j2").write_text("two {{ name }}", encoding="utf-8")
    assert render(own) == "two x"


def test_a_folder_others_can_write_is_not_used(cache: Path, tmp_path: Path) -> None:
    cache.mkdir(parents=True)
    os.chmod(cache, 0o777)
    own = tmp_path / "templates"
    own.mkdir()
    (own / "probe.txt.j2").write_text("{{ name }}", encoding="utf-8")
    assert render(own) == "x"
    assert list(cache.iterdir()) == []


def test_an_unwritable_cache_costs_nothing_but_time(cache: Path, tmp_path: Path) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_text("not a folder", encoding="utf-8")
    own = tmp_path / "templates"
    own.mkdir()
    (own / "probe.txt.j2").write_text("{{ name }}!", encoding="utf-8")
    assert render(own) == "x!"


def test_an_empty_setting_turns_the_cache_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTCLI_CACHE_DIR", "")
    assert templates.cache_dir() is None
    monkeypatch.delenv("POSTCLI_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert templates.cache_dir() == Path("/somewhere/postcli")
