"""Golden files: what `postcli build` writes for the two sample issues, compared byte for byte.

A change to rendering shows up here as a readable diff. When the change is intended, refresh the
files with `pytest tests/test_golden.py --update-golden` (or `make golden`), look at the new
emails in a browser, and review the diff of tests/golden/ before committing it.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import pytest

from postcli import config
from postcli.build import build_issue

GOLDEN = Path(__file__).resolve().parent / "golden"
ISSUES = ("2026-12-01-china-ai-global", "2026-12-08-open-weights-week")
OUTPUTS = ("free.html", "free.txt", "premium.html", "premium.txt", "meta.json")
MAX_DIFF_LINES = 120


@pytest.fixture(scope="module")
def built(module_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Build each sample issue once for the whole module; issue id -> output folder."""
    settings = config.load(module_workspace)
    out = tmp_path_factory.mktemp("golden-build")
    return {
        issue: build_issue(settings, issue, out_dir=out / issue).out_dir or out / issue
        for issue in ISSUES
    }


def readable_lines(name: str, text: str) -> list[str]:
    """HTML is one tag per line for the diff, since MJML writes very long lines."""
    if name.endswith(".html"):
        text = re.sub(r">\s*<", ">\n<", text)
    return text.splitlines(keepends=True)


def golden_diff(name: str, expected: str, actual: str) -> str:
    diff = list(
        difflib.unified_diff(
            readable_lines(name, expected),
            readable_lines(name, actual),
            fromfile=f"golden/{name}",
            tofile=f"now/{name}",
            n=2,
        )
    )
    shown = "".join(diff[:MAX_DIFF_LINES])
    if len(diff) > MAX_DIFF_LINES:
        shown += f"\n... {len(diff) - MAX_DIFF_LINES} more diff lines\n"
    return shown


@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("issue", ISSUES)
def test_golden(built: dict[str, Path], issue: str, output: str, update_golden: bool) -> None:
    actual_path = built[issue] / output
    golden_path = GOLDEN / issue / output
    actual = actual_path.read_text(encoding="utf-8")
    if update_golden:
        golden_path.parent.mkdir(parents=True, exist_ok=True)
        golden_path.write_text(actual, encoding="utf-8", newline="\n")
    if not golden_path.exists():
        pytest.fail(
            f"no golden file {golden_path.relative_to(GOLDEN.parent)}; run pytest --update-golden"
        )
    expected = golden_path.read_text(encoding="utf-8")
    if actual != expected:
        pytest.fail(
            f"{issue}/{output} differs from its golden file; if the change is intended, run "
            f"`pytest tests/test_golden.py --update-golden` and review the diff\n"
            + golden_diff(f"{issue}/{output}", expected, actual),
            pytrace=False,
        )


def test_golden_files_are_all_in_use() -> None:
    """A golden file nobody compares would silently rot."""
    expected = {f"{issue}/{output}" for issue in ISSUES for output in OUTPUTS}
    present = {p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*") if p.is_file()}
    assert present <= expected, f"stray golden files: {sorted(present - expected)}"


def test_rendering_is_deterministic(
    module_workspace: Path, built: dict[str, Path], tmp_path: Path
) -> None:
    """Two builds of the same issue are identical, or golden files could not work."""
    settings = config.load(module_workspace)
    issue = ISSUES[0]
    again = build_issue(settings, issue, out_dir=tmp_path / "again").out_dir
    assert again is not None
    for output in OUTPUTS:
        assert (again / output).read_bytes() == (built[issue] / output).read_bytes(), output
