"""The built emails as readers see them, in a real headless Chromium (Debian's chromium package,
driven by Playwright): every variant of both sample issues, in light and in dark colour scheme
(`prefers-color-scheme: dark`, which Apple Mail and iOS Mail apply to an email's own dark rules),
at 375 and 600 px.

- Every visible text meets WCAG AA (4.5:1, 3:1 for large text) against its background, both
  computed in the page: the text colour from getComputedStyle, the background by walking the
  ancestors and compositing their colours (alpha included) down to the canvas.
- Every visible element holding Hangul carries `word-break: keep-all` in its own style attribute,
  so a client that drops the `<style>` block still breaks Korean lines between words.

The contrast arithmetic here is the page's own, written independently of postcli.contrast (which
`postcli check` uses), so the two can catch each other out.

Without a browser these tests skip; with POSTCLI_REQUIRE_BROWSER=1 (CI) that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from postcli import config
from postcli.issues import Variant, load_issue
from postcli.render import render_issue

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("POSTCLI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
ISSUES = ("2026-12-01-china-ai-global", "2026-12-08-open-weights-week")
WIDTHS = (375, 600)
SCHEMES = ("light", "dark")

# Runs in the page. Returns every visible text below AA and every visible Hangul text whose
# element lacks an inline keep-all.
AUDIT_JS = r"""
() => {
  const parse = (value) => {
    const m = value.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => {
    const a = top[3] + below[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    const c = [0, 1, 2].map(i => (top[i] * top[3] + below[i] * below[3] * (1 - top[3])) / a);
    return [...c, a];
  };
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255;
      return v <= 0.04045 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (a, b) => {
    const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const dark = matchMedia('(prefers-color-scheme: dark)').matches;
  // Chromium's canvas behind an email that declares `color-scheme: light dark`.
  const canvas = dark ? [18, 18, 18, 1] : [255, 255, 255, 1];
  const background = (el) => {
    const layers = [];
    let opacity = 1;
    for (let node = el; node && node.nodeType === 1; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.backgroundImage !== 'none') return { image: node.tagName };
      layers.push(parse(style.backgroundColor) || [0, 0, 0, 0]);
      opacity *= Number(style.opacity);
    }
    let painted = canvas;
    for (const layer of layers.reverse()) painted = over(layer, painted);
    return { color: painted, opacity };
  };
  const hangul = /[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]/;
  const low = [], breaking = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.data.replace(/\s+/g, ' ').trim();
    const el = node.parentElement;
    if (!text || !el) continue;
    if (!el.checkVisibility({ opacityProperty: true, visibilityProperty: true })) continue;
    const range = document.createRange();
    range.selectNodeContents(node);
    const rects = [...range.getClientRects()].filter(r => r.width > 0 && r.height > 0);
    if (!rects.length) continue;
    const style = getComputedStyle(el);
    const size = parseFloat(style.fontSize);
    if (size < 1) continue;
    const back = background(el);
    if (back.image) {
      low.push({ text, problem: 'text on a background image in <' + back.image + '>' });
      continue;
    }
    const fg = parse(style.color);
    const colour = over([fg[0], fg[1], fg[2], fg[3] * back.opacity], back.color);
    const weight = Number(style.fontWeight) || 400;
    const large = size >= 24 || (size >= 18.66 && weight >= 700);
    const needed = large ? 3 : 4.5;
    const r = ratio(colour, back.color);
    if (r < needed) {
      low.push({
        text: text.slice(0, 50), ratio: Math.round(r * 100) / 100, needed,
        color: colour.slice(0, 3).map(Math.round), on: back.color.slice(0, 3).map(Math.round),
      });
    }
    if (hangul.test(text) && !el.closest('pre') && el.style.wordBreak !== 'keep-all') {
      breaking.push({ text: text.slice(0, 50), tag: el.tagName, style: el.getAttribute('style') });
    }
  }
  return { low, breaking, scrollWidth: document.documentElement.scrollWidth };
}
"""


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


@pytest.fixture(scope="module")
def emails(module_workspace: Path) -> dict[tuple[str, Variant], str]:
    """(issue id, variant) -> the HTML as sent, for every variant each sample issue gets."""
    settings = config.load(module_workspace)
    out = {}
    for issue_id in ISSUES:
        issue = load_issue(settings.issues_dir / f"{issue_id}.md")
        for variant, email in render_issue(issue, settings).items():
            out[(issue_id, variant)] = email.html
    return out


def audit(browser: Any, html: str, width: int, scheme: str) -> dict[str, Any]:
    context = browser.new_context(
        viewport={"width": width, "height": 900}, color_scheme=scheme, java_script_enabled=True
    )
    try:
        page = context.new_page()
        # No request leaves the page: images are not needed to judge text.
        page.route("**/*", lambda route: route.abort())
        page.set_content(html, wait_until="domcontentloaded")
        assert page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") == (
            scheme == "dark"
        )
        result: dict[str, Any] = page.evaluate(AUDIT_JS)
        return result
    finally:
        context.close()


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("width", WIDTHS)
def test_every_visible_text_meets_wcag_aa(
    browser: Any, emails: dict[tuple[str, Variant], str], width: int, scheme: str
) -> None:
    assert len(emails) == 4  # both variants of both sample issues
    failures = {}
    for (issue_id, variant), html in emails.items():
        result = audit(browser, html, width, scheme)
        assert result["scrollWidth"] <= width, (issue_id, variant.value)
        if result["low"]:
            failures[f"{issue_id} {variant.value}"] = result["low"]
    assert failures == {}


@pytest.mark.parametrize("width", WIDTHS)
def test_every_element_holding_hangul_keeps_words_whole_inline(
    browser: Any, emails: dict[tuple[str, Variant], str], width: int
) -> None:
    failures = {}
    seen_hangul = False
    for (issue_id, variant), html in emails.items():
        result = audit(browser, html, width, "light")
        seen_hangul = seen_hangul or "글로벌" in html
        if result["breaking"]:
            failures[f"{issue_id} {variant.value}"] = result["breaking"]
    assert seen_hangul
    assert failures == {}
