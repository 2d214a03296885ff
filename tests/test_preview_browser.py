"""`postcli preview` in a real headless Chromium (Debian's chromium package, driven by
Playwright): both variants on one page, the mobile width, and live reload on save, through a
broken file and back.

Without a browser these tests skip; with POSTCLI_REQUIRE_BROWSER=1 (CI) that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from postcli.preview import RunningPreview, start

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("POSTCLI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ISSUE_ID = "2026-12-01-china-ai-global"
TITLE = "'글로벌 시장'을 향한 '중국 AI'의 탐험"
UPGRADE_HEADING = "프리미엄 플랜으로 업그레이드하세요"
TIMEOUT_MS = 10_000


def _missing(reason: str) -> None:
    if os.environ.get("POSTCLI_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (POSTCLI_REQUIRE_BROWSER=1: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        _missing(f"no Chromium at {CHROMIUM}; install Debian's chromium package")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright is not installed; pip install -e '.[test]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def running(workspace: Path) -> Iterator[RunningPreview]:
    preview = start(workspace, workspace / "issues" / f"{ISSUE_ID}.md", run_checks=False)
    assert preview.watcher is not None and preview.watcher.ready.wait(10)
    yield preview
    preview.stop()


@pytest.fixture
def page(browser: Any, running: RunningPreview) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.goto(running.url)
    tab.wait_for_function("window.postcliApplied && window.postcliApplied.ok", timeout=TIMEOUT_MS)
    yield tab
    context.close()
    assert errors == []  # no script error on the page


def frame(tab: Any, variant: str) -> Any:
    found = tab.frame(name=f"email-{variant}")
    assert found is not None, f"no {variant} frame"
    return found


def wait_in_frame(tab: Any, variant: str, condition: str) -> None:
    """Wait until `condition` (JS over `doc`, the frame's document) holds; asked from the page,
    whose script context outlives the frame documents it rewrites."""
    tab.wait_for_function(
        f"""() => {{
            const doc = document.querySelector('.pane[data-variant={variant}] iframe')
                .contentDocument;
            return Boolean(doc && doc.body && ({condition}));
        }}""",
        timeout=TIMEOUT_MS,
    )


def frame_text(tab: Any, variant: str) -> str:
    return str(frame(tab, variant).evaluate("document.body.innerText"))


def test_page_shows_both_variants_and_only_free_ends_with_the_upgrade_block(page: Any) -> None:
    assert page.locator(".pane[data-variant=free] .badge").inner_text().lower() == "free teaser"
    assert page.locator(".pane[data-variant=premium] .badge").inner_text().lower() == (
        "premium edition"
    )
    assert page.locator("#issue-title").inner_text() == TITLE
    assert page.locator(".pane[data-variant=free] .subject").inner_text() == TITLE
    for variant in ("free", "premium"):
        assert TITLE in frame_text(page, variant)

    # Free: the upgrade block closes the paper, after the last body text; premium: no block.
    free_last = frame(page, "free").evaluate(
        """() => {
            const paper = document.querySelector('.paper');
            const texts = [...paper.querySelectorAll('.content, .upgrade')];
            return texts.length ? texts[texts.length - 1].closest('.upgrade') !== null : null;
        }"""
    )
    assert free_last is True
    assert UPGRADE_HEADING in frame_text(page, "free")
    assert frame(page, "free").locator("a[href='https://example.com/upgrade']").count() == 1
    assert UPGRADE_HEADING not in frame_text(page, "premium")
    assert frame(page, "premium").locator(".upgrade").count() == 0

    # Images come from the preview server and are loaded.
    widths = frame(page, "premium").evaluate(
        "[...document.images].filter(i => i.src.includes('/files/')).map(i => i.naturalWidth)"
    )
    assert widths and all(width > 0 for width in widths)


def test_at_mobile_width_no_frame_scrolls_sideways(page: Any) -> None:
    desktop = frame(page, "free").evaluate("document.documentElement.clientWidth")
    assert desktop >= 600
    page.click("button[data-value=mobile]")
    for variant in ("free", "premium"):
        target = frame(page, variant)
        target.wait_for_function("document.documentElement.clientWidth === 375")
        width, client = target.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert width == client == 375, variant


def test_dark_and_plain_text_views(page: Any) -> None:
    background = "getComputedStyle(document.body).backgroundColor"
    light = frame(page, "premium").evaluate(background)
    page.click("button[data-value=dark]")
    dark = frame(page, "premium").evaluate(background)
    assert dark != light
    red, green, blue = (int(c) for c in dark[dark.index("(") + 1 : -1].split(",")[:3])
    assert red + green + blue < 150  # the email's own dark canvas

    page.click("button[data-value=text]")
    plain = page.locator(".pane[data-variant=free] .plain")
    assert plain.is_visible()
    assert TITLE in plain.inner_text()
    assert not page.locator(".pane[data-variant=free] iframe").is_visible()


def test_saving_updates_the_page_and_a_broken_file_shows_its_error_then_recovers(
    page: Any, workspace: Path
) -> None:
    path = workspace / "issues" / f"{ISSUE_ID}.md"
    good = path.read_text(encoding="utf-8")
    premium = frame(page, "premium")
    premium.evaluate("window.scrollTo(0, 1500)")

    path.write_text(good.replace("안녕하세요", "반갑습니다 여러분"), encoding="utf-8")
    wait_in_frame(page, "premium", "doc.body.innerText.includes('반갑습니다 여러분')")
    assert abs(premium.evaluate("window.scrollY") - 1500) <= 2  # the reader stays in place

    broken = good.replace('send_at: "2026-12-01 09:00"', 'send_at: "2026-12-01 09:00')
    path.write_text(broken, encoding="utf-8")
    error = page.locator("#error")
    error.wait_for(state="visible", timeout=TIMEOUT_MS)
    line = broken.split("\n").index('send_at: "2026-12-01 09:00') + 1
    assert f"issues/{ISSUE_ID}.md:" in page.locator("#error-location").inner_text()
    assert int(page.locator("#error-location").inner_text().rsplit(":", 1)[1]) >= line
    assert "YAML" in page.locator("#error-message").inner_text()
    assert page.locator("#status").get_attribute("data-state") == "error"
    assert "반갑습니다 여러분" in frame_text(page, "premium")  # the last good build stays

    path.write_text(good, encoding="utf-8")
    error.wait_for(state="hidden", timeout=TIMEOUT_MS)
    wait_in_frame(page, "premium", "!doc.body.innerText.includes('반갑습니다 여러분')")
    assert page.locator("#status").get_attribute("data-state") == "live"


def test_saving_a_template_reloads_the_page(page: Any, workspace: Path) -> None:
    css = workspace / "templates" / "content.css"
    css.write_text(css.read_text(encoding="utf-8") + "\nh2 { color: #00ff00; }\n")
    wait_in_frame(
        page,
        "premium",
        "getComputedStyle(doc.querySelector('h2')).color === 'rgb(0, 255, 0)'",
    )


def test_the_email_client_table_shows_above_the_panes(browser: Any, workspace: Path) -> None:
    preview = start(workspace, workspace / "issues" / f"{ISSUE_ID}.md", watch=False)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        tab = context.new_page()
        tab.goto(preview.url)
        tab.wait_for_function("!document.querySelector('#clients').hidden", timeout=TIMEOUT_MS * 3)
        tab.locator("#clients summary").click()
        table = tab.locator("#clients-table").inner_text()
        assert table.startswith("client ") and "Outlook Windows" in table
        assert table == preview.session.state()["clients"]
    finally:
        context.close()
        preview.stop()


# Line breaks of the plain-text view that fall between two Hangul syllables: a Korean word split.
SPLIT_WORDS_JS = r"""
(el) => {
  const node = el.firstChild;
  if (!node) return null;
  const hangul = /[\uac00-\ud7a3]/;
  const text = node.data, split = [];
  let previousTop = null;
  for (let i = 0; i < text.length; i++) {
    const range = document.createRange();
    range.setStart(node, i);
    range.setEnd(node, i + 1);
    const rect = range.getClientRects()[0];
    if (!rect) continue;
    if (previousTop !== null && rect.top > previousTop + 2 && i > 0
        && hangul.test(text[i - 1]) && hangul.test(text[i])) {
      split.push(text.slice(Math.max(0, i - 6), i) + " / " + text.slice(i, i + 6));
    }
    previousTop = rect.top;
  }
  return split;
}
"""


def test_the_plain_text_view_breaks_korean_lines_between_words_only(page: Any) -> None:
    page.click("button[data-value=mobile]")
    page.click("button[data-value=text]")
    plain = page.locator(".pane[data-variant=free] .plain")
    assert plain.is_visible()
    split = plain.evaluate(SPLIT_WORDS_JS)
    assert split == []
    lines = plain.evaluate("el => el.getClientRects()[0].height") / 20
    assert lines > 30  # long enough to have wrapped many times at 375 px
