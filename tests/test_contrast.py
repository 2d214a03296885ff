"""postcli.contrast and the `low-contrast` check: WCAG arithmetic, the email's own light and dark
colours read from inline styles and the `<style>` block, and warnings that point at the template
line, so a workspace's own colours are caught before sending."""

from __future__ import annotations

from pathlib import Path

import pytest

from postcli import config
from postcli.check import Level, check_issue, contrast


def test_wcag_ratios_of_known_pairs() -> None:
    black, white = contrast.parse_color("#000"), contrast.parse_color("white")
    assert black and white
    assert contrast.contrast_ratio(black, white) == pytest.approx(21.0)
    grey = contrast.parse_color("#777777")
    assert grey and contrast.contrast_ratio(grey, white) == pytest.approx(4.48, abs=0.01)
    # The issue's own numbers: footer grey on the canvas, light and dark.
    footer = contrast.parse_color("rgb(107, 114, 128)")
    assert footer
    light, dark = contrast.parse_color("#f3f4f6"), contrast.parse_color("#111827")
    assert light and dark
    assert contrast.contrast_ratio(footer, light) == pytest.approx(4.39, abs=0.01)
    assert contrast.contrast_ratio(footer, dark) == pytest.approx(3.67, abs=0.01)


@pytest.mark.parametrize(
    ("css", "rgba"),
    [
        ("#abc", (170, 187, 204, 1.0)),
        ("#11223380", (17, 34, 51, 128 / 255)),
        ("rgb(1, 2, 3)", (1, 2, 3, 1.0)),
        ("rgba(1,2,3,0.5)", (1, 2, 3, 0.5)),
        ("rgb(1 2 3 / 50%)", (1, 2, 3, 0.5)),
        ("transparent", (0, 0, 0, 0.0)),
        ("#E5E7EB !important", (229, 231, 235, 1.0)),
    ],
)
def test_colours_parse(css: str, rgba: tuple[float, ...]) -> None:
    assert contrast.parse_color(css) == pytest.approx(rgba)


def test_unknown_colours_are_none() -> None:
    assert contrast.parse_color("var(--ink)") is None
    assert contrast.parse_color("papayawhip-ish") is None


def test_alpha_composites_over_what_is_below() -> None:
    half_black = (0.0, 0.0, 0.0, 0.5)
    assert contrast.composite(half_black, contrast.WHITE) == pytest.approx((127.5, 127.5, 127.5, 1))


def test_large_text_thresholds() -> None:
    assert contrast.is_large(24, 400) and contrast.is_large(18.7, 700)
    assert not contrast.is_large(18.7, 400) and not contrast.is_large(16, 800)


EMAIL = """<html><head><style>
.box td { color: #111111; }
@media (prefers-color-scheme: dark) {
  body, .canvas { background-color: #000000 !important; }
  .box td { color: #222222 !important; }
  .ok { color: #ffffff !important; }
}
</style></head><body style="background-color:#ffffff">
<div class="canvas"><table class="box">
<tr><td style="background:#ffffff">Dark text on black</td></tr></table>
<p class="ok" style="color:#999999">Light grey in light mode</p>
<p style="color:#767676">Just enough</p>
<div style="display:none;color:#fefefe">hidden preheader</div>
<h1 style="color:#949494;font-size:32px">Large heading at 3:1</h1>
<p style="color:rgba(0,0,0,0.3)">faint</p>
</div></body></html>"""


def test_problems_in_light_and_dark_mode() -> None:
    found = {(p.mode, p.sample) for p in contrast.problems(EMAIL)}
    assert ("light", "Light grey in light mode") in found
    assert ("light", "faint") in found
    assert ("light", "Just enough") not in found  # #767676 on white is 4.54:1
    assert ("light", "Large heading at 3:1") not in found
    assert not any("hidden" in sample for _, sample in found)
    # Dark: the td keeps its inline white background (no dark rule for it), text #222 on white
    # passes; the canvas turns black, so the "ok" paragraph is white on black and passes too.
    assert ("dark", "Dark text on black") not in found
    assert ("dark", "Light grey in light mode") not in found
    dark_faint = [p for p in contrast.problems(EMAIL) if p.mode == "dark" and p.sample == "faint"]
    assert dark_faint and dark_faint[0].ratio < 2  # 30% black over a black canvas


def test_the_dark_rules_come_from_the_media_block_only() -> None:
    rules = contrast.dark_rules(EMAIL)
    assert ".ok" in rules and "#222222" in rules
    assert "#111111" not in rules  # the light rule outside the block


def test_a_workspace_template_with_poor_colours_gets_warnings_with_its_line(
    workspace: Path,
) -> None:
    template = workspace / "templates" / "email.mjml.j2"
    text = template.read_text(encoding="utf-8")
    # A user's own footer grey, too light on the canvas; and dark link colours on dark paper.
    text = text.replace(
        'color="#4b5563" align="center" css-class="pad outer"',
        'color="#9ca3af" align="center" css-class="pad outer"',
    )
    text = text.replace(
        ".paper a { color: #93c5fd !important; }", ".paper a { color: #1e3a8a !important; }"
    )
    template.write_text(text, encoding="utf-8")
    report = check_issue(config.load(workspace), "2026-12-01-china-ai-global")
    low = [f for f in report.findings if f.rule == "low-contrast"]
    assert low and all(f.level is Level.WARNING for f in low)
    assert not report.has_errors  # warnings only
    footer = next(f for f in low if "rgb(156, 163, 175) on rgb(243, 244, 246)" in f.message)
    assert footer.message.startswith("light mode:")
    assert footer.path == template and footer.line is not None
    assert "#9ca3af" in template.read_text(encoding="utf-8").splitlines()[footer.line - 1]
    link = next(f for f in low if "rgb(30, 58, 138)" in f.message)
    assert link.message.startswith("dark mode:") and link.variant is None  # both variants


def test_the_default_templates_pass(module_workspace: Path) -> None:
    for issue in ("2026-12-01-china-ai-global", "2026-12-08-open-weights-week"):
        report = check_issue(config.load(module_workspace), issue)
        assert [f.message for f in report.findings if f.rule == "low-contrast"] == []
