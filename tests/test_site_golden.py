"""Golden files of the web edition: what `postcli site` writes for the two sample issues (both
published), compared byte for byte like tests/test_golden.py compares the emails.

Refresh with `pytest tests/test_site_golden.py --update-golden` (or `make golden`), look at the
pages in a browser, and review the diff of tests/golden_site/ before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import copy_sample_workspace
from site_helpers import AFTER_BOTH, SECOND, add_site_url, build
from test_golden import golden_diff

GOLDEN = Path(__file__).resolve().parent / "golden_site"
PAGES = (
    "index.html",
    "2026-12-01-china-ai-global/index.html",
    "2026-12-08-open-weights-week/index.html",
    "tags/open-weights/index.html",
    "404.html",
    "feed.xml",
    "sitemap.xml",
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = copy_sample_workspace(tmp_path_factory.mktemp("site-golden") / "newsletter")
    second = root / "issues" / f"{SECOND}.md"
    text = second.read_text(encoding="utf-8")
    second.write_text(text.replace("---\n", '---\nsend_at: "2026-12-08 09:00"\n', 1), "utf-8")
    add_site_url(root)
    build(root, now=AFTER_BOTH)
    return root / "site"


@pytest.mark.parametrize("page", PAGES)
def test_site_golden(site: Path, page: str, update_golden: bool) -> None:
    actual = (site / page).read_text(encoding="utf-8")
    golden_path = GOLDEN / page
    if update_golden:
        golden_path.parent.mkdir(parents=True, exist_ok=True)
        golden_path.write_text(actual, encoding="utf-8", newline="\n")
    if not golden_path.exists():
        pytest.fail(f"no golden file {golden_path}; run pytest --update-golden")
    expected = golden_path.read_text(encoding="utf-8")
    if actual != expected:
        pytest.fail(
            f"site/{page} differs from its golden file; if the change is intended, run "
            "`pytest tests/test_site_golden.py --update-golden` and review the diff\n"
            + golden_diff(f"site/{page}", expected, actual),
            pytrace=False,
        )


def test_site_golden_files_are_all_in_use() -> None:
    present = {p.relative_to(GOLDEN).as_posix() for p in GOLDEN.rglob("*") if p.is_file()}
    assert present == set(PAGES), f"stray or missing golden files: {sorted(present ^ set(PAGES))}"
