"""`postcli build` through the command line: what it writes and prints, --out, --json."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

Run = Callable[..., Any]  # the run_cli fixture (conftest.py): returns exit_code, stdout, stderr


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
