"""The web edition in a real headless Chromium (Debian's chromium, driven by Playwright): no
horizontal scroll at 375 px, text contrast at WCAG AA in light and dark, and every link, image,
style sheet and site URL on every page resolving to a file the build wrote.

Without a browser these tests skip; with POSTCLI_REQUIRE_BROWSER=1 that is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest

from conftest import copy_sample_workspace
from postcli.site.serve import SiteServer, bind
from site_helpers import FIRST, SECOND, SITE_URL, add_site_url, build
from test_preview_browser import browser  # noqa: F401 (the shared Chromium fixture)

pytestmark = pytest.mark.browser

PAGES = ("", f"{FIRST}/", f"{SECOND}/", "tags/open-weights/", "nope/")

# Computed in the page: every visible text run, its colour over its composited background.
CONTRAST_JS = """
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a),
    g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a), a: 1,
  });
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    let base = {r: 255, g: 255, b: 255, a: 1};
    if (!layers.length || layers[layers.length - 1].a < 1) {
      const canvas = parse(getComputedStyle(document.documentElement).backgroundColor);
      if (canvas && canvas.a > 0) base = canvas;
    }
    return layers.reverse().reduce((acc, layer) => over(layer, acc), base);
  };
  const failures = [];
  let checked = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.textContent.trim()) continue;
    const el = node.parentElement;
    const style = getComputedStyle(el);
    const rect = el.getBoundingClientRect();
    if (style.visibility === 'hidden' || style.display === 'none' || rect.width === 0) continue;
    if (rect.bottom < 0) continue;  // the skip link, off screen until focused
    const bg = background(el);
    const fg = over(parse(style.color), bg);
    const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
    const ratio = (hi + 0.05) / (lo + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    checked++;
    if (ratio < (large ? 3 : 4.5)) {
      failures.push(`${ratio.toFixed(2)} ${style.color} on ${JSON.stringify(bg)}: ` +
                    node.textContent.trim().slice(0, 40));
    }
  }
  return {checked, failures, body: getComputedStyle(document.body).backgroundColor};
}
"""

URLS_JS = """
() => {
  const out = [];
  for (const a of document.querySelectorAll('a[href]:not([href^="#"])')) out.push(a.href);
  for (const l of document.querySelectorAll('link[href]')) out.push(l.href);
  for (const img of document.querySelectorAll('img')) {
    out.push(img.src);
    for (const part of (img.getAttribute('srcset') || '').split(',')) {
      const url = part.trim().split(/\\s+/)[0];
      if (url) out.push(new URL(url, document.baseURI).href);
    }
  }
  for (const m of document.querySelectorAll('meta[property^="og:"], meta[name^="twitter:"]')) {
    const v = m.getAttribute('content') || '';
    if (v.startsWith('http')) out.push(v);
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SiteServer]:
    root = copy_sample_workspace(tmp_path_factory.mktemp("site-browser") / "newsletter")
    second = root / "issues" / f"{SECOND}.md"
    text = second.read_text(encoding="utf-8")
    second.write_text(text.replace("---\n", '---\nsend_at: "2026-12-08 09:00"\n', 1), "utf-8")
    add_site_url(root)
    report = build(root)
    server = bind(report.out_dir, "/archive", 0)
    import threading

    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _open(browser: Any, url: str, width: int, scheme: str) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": width, "height": 800}, color_scheme=scheme)
    page = context.new_page()
    answer = page.goto(url)
    assert answer is not None
    return context, page


@pytest.mark.parametrize("path", PAGES)
def test_375_px_wide_has_no_horizontal_scroll(browser: Any, served: SiteServer, path: str) -> None:
    context, page = _open(browser, served.url + path, 375, "light")
    try:
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth,"
            " document.body.scrollWidth]"
        )
        assert widths[0] <= widths[1] and widths[2] <= widths[1], widths
    finally:
        context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", PAGES)
def test_text_contrast_is_wcag_aa(browser: Any, served: SiteServer, path: str, scheme: str) -> None:
    for width in (375, 1280):
        context, page = _open(browser, served.url + path, width, scheme)
        try:
            result = page.evaluate(CONTRAST_JS)
        finally:
            context.close()
        assert result["checked"] > 5
        assert result["failures"] == [], result["failures"][:10]
        dark = result["body"] == "rgb(17, 24, 39)"
        assert dark is (scheme == "dark")


@pytest.mark.parametrize("path", PAGES)
def test_every_link_and_image_resolves_inside_the_site(
    browser: Any, served: SiteServer, path: str
) -> None:
    context, page = _open(browser, served.url + path, 1280, "light")
    try:
        urls = page.evaluate(URLS_JS)
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(served.url))
        local = set()
        for url in urls:
            url = url.split("#")[0]
            if url.startswith(SITE_URL + "/"):  # canonical, og:image, feed: once deployed
                url = served.url + url[len(SITE_URL) + 1 :]
            if url.startswith(origin):
                local.add(url)
        assert len(local) > 3
        for url in sorted(local):
            answer = page.request.get(url)
            assert answer.status == 200, url
            assert answer.headers["content-type"].split(";")[0] in (
                "text/html",
                "text/css",
                "image/png",
                "application/xml",
                "text/xml",
                "application/atom+xml",
            ), url
        # The images of the page are really images: each decodes once loaded.
        broken = page.evaluate(
            """async () => {
                const bad = [];
                for (const img of document.images) {
                    img.loading = 'eager';
                    try { await img.decode(); } catch (e) { bad.push(img.src); }
                    if (!img.naturalWidth) bad.push(img.src);
                }
                return bad;
            }"""
        )
        assert broken == []
    finally:
        context.close()


def test_the_skip_link_is_first_and_moves_focus_to_the_content(
    browser: Any, served: SiteServer
) -> None:
    context, page = _open(browser, urljoin(served.url, f"{FIRST}/"), 1280, "light")
    try:
        page.keyboard.press("Tab")
        focused = page.evaluate(
            "() => [document.activeElement.className,"
            " document.activeElement.getBoundingClientRect().top]"
        )
        assert focused[0] == "skip" and focused[1] >= 0  # visible once focused
        page.keyboard.press("Enter")
        assert page.evaluate("() => location.hash") == "#main"
    finally:
        context.close()


def test_pages_run_no_script(browser: Any, served: SiteServer) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(served.url + f"{FIRST}/")
        assert "세계 무대로" in page.inner_text("main")
    finally:
        context.close()
