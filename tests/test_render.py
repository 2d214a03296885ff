"""Rendering: the variant filter, the upgrade block, the HTML and text parts, URLs, languages and
the two CSS inliners. Everything runs in-process against a copy of the sample workspace."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from postcli import config
from postcli.build import build_issue
from postcli.config import Settings
from postcli.issues import Variant, load_issue
from postcli.render import RenderedEmail, meta, render_issue
from postcli.render.text import display_width


def write_issue(
    workspace: Path, body: str, *, front: str = "title: Test issue", name: str = "2026-12-01-test"
) -> Path:
    path = workspace / "issues" / f"{name}.md"
    path.write_text(f"---\n{front}\n---\n{body}", encoding="utf-8")
    return path


def render(
    workspace: Path, body: str, *, front: str = "title: Test issue"
) -> dict[Variant, RenderedEmail]:
    settings = config.load(workspace)
    return render_issue(load_issue(write_issue(workspace, body, front=front)), settings)


def upgrade_shown(email: RenderedEmail, settings: Settings) -> bool:
    pitch = settings.premium
    in_html = pitch.heading in email.html and f'href="{pitch.upgrade_url}"' in email.html
    in_text = pitch.heading in email.text and pitch.upgrade_url in email.text
    assert in_html == in_text, "the HTML and text parts disagree about the upgrade block"
    return in_html


def body_of(html: str) -> str:
    """The email from the body's column on: the head and its style sheet left out."""
    return html[html.index('class="content"') :]


# --- the variants and the upgrade block ---------------------------------------------------------


def test_sample_issue_variants(workspace: Path) -> None:
    settings = config.load(workspace)
    emails = render_issue(
        load_issue(workspace / "issues" / "2026-12-01-china-ai-global.md"), settings
    )
    free, premium = emails[Variant.FREE], emails[Variant.PREMIUM]
    assert free.cut and not premium.cut
    assert upgrade_shown(free, settings)
    assert not upgrade_shown(premium, settings)
    premium_only = "프리미엄 구독자 여러분께만 덧붙이는 메모입니다"
    free_only = "지역별 공략 지도와 리스크 분석, 한국 기업을 위한 시사점은"
    below_paywall = "심층 분석: 지역별 공략 지도"
    for text in (premium_only, below_paywall):
        assert text in premium.html and text in premium.text
        assert text not in free.html and text not in free.text
    assert free_only in free.html and free_only in free.text
    assert free_only not in premium.html and free_only not in premium.text
    assert free.subject == premium.subject == "'글로벌 시장'을 향한 '중국 AI'의 탐험"
    assert free.preheader is not None and free.preheader.startswith("오픈 웨이트 공개부터")


def test_no_cut_means_no_upgrade_block(workspace: Path) -> None:
    settings = config.load(workspace)
    emails = render(workspace, "Everyone reads all of this.\n")
    for email in emails.values():
        assert not email.cut
        assert not upgrade_shown(email, settings)
        assert "Everyone reads all of this." in email.html


def test_a_free_block_alone_brings_no_upgrade_block(workspace: Path) -> None:
    settings = config.load(workspace)
    emails = render(workspace, "Everyone.\n\n::: free\nOnly free readers.\n:::\n")
    free = emails[Variant.FREE]
    assert "Only free readers." in free.html
    assert not free.cut and not upgrade_shown(free, settings)
    assert "Only free readers." not in emails[Variant.PREMIUM].html


def test_a_premium_block_alone_brings_the_upgrade_block(workspace: Path) -> None:
    settings = config.load(workspace)
    emails = render(
        workspace, "Everyone.\n\n::: premium\nPaid readers only.\n:::\n\nEveryone again.\n"
    )
    free = emails[Variant.FREE]
    assert free.cut and upgrade_shown(free, settings)
    assert "Paid readers only." not in free.html and "Everyone again." in free.html
    assert "Paid readers only." in emails[Variant.PREMIUM].html


def test_upgrade_block_can_be_overridden_per_issue(workspace: Path) -> None:
    front = (
        "title: T\nupgrade:\n  heading: Unlock the rest\n  button: Join now\n"
        "  upgrade_url: https://example.com/join\n  benefits: [Archive access]"
    )
    free = render(workspace, "A\n\n<!-- paywall -->\n\nB\n", front=front)[Variant.FREE]
    for text in ("Unlock the rest", "Join now", "Archive access"):
        assert text in free.html and text in free.text
    assert 'href="https://example.com/join"' in free.html
    assert config.load(workspace).premium.heading not in free.html
    # Keys the issue does not override still come from [premium].
    assert config.load(workspace).premium.text.split("**")[0] in free.text


@pytest.mark.parametrize(
    ("audience", "variants"),
    [
        ("premium", {Variant.PREMIUM}),
        ("free", {Variant.FREE}),
        ("all", {Variant.FREE, Variant.PREMIUM}),
    ],
)
def test_audience_decides_the_variants(
    workspace: Path, audience: str, variants: set[Variant]
) -> None:
    emails = render(workspace, "Text.\n", front=f"title: T\naudience: {audience}")
    assert set(emails) == variants


def test_audience_premium_builds_only_premium_files(workspace: Path, tmp_path: Path) -> None:
    settings = config.load(workspace)
    out = tmp_path / "out"
    write_issue(workspace, "A\n\n<!-- paywall -->\n\nB\n")
    build_issue(settings, "2026-12-01-test", out_dir=out)
    assert (out / "free.html").exists()
    write_issue(workspace, "A\n\n<!-- paywall -->\n\nB\n", front="title: T\naudience: premium")
    result = build_issue(settings, "2026-12-01-test", out_dir=out)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["meta.json", "premium.html", "premium.txt"]  # stale free files removed
    assert sorted(p.name for p in result.files) == names
    assert list(json.loads((out / "meta.json").read_text(encoding="utf-8"))["variants"]) == [
        "premium"
    ]


# --- premium-only references and footnotes ------------------------------------------------------


def test_footnote_below_paywall_is_plain_text_in_free(workspace: Path) -> None:
    body = (
        "Cost matters[^cost].\n\n<!-- paywall -->\n\nDeep dive.\n\n[^cost]: Secret pricing note.\n"
    )
    emails = render(workspace, body)
    free, premium = emails[Variant.FREE], emails[Variant.PREMIUM]
    assert "Cost matters[^cost]." in free.text
    assert "Cost matters[^cost]." in body_of(free.html)
    assert "footnote" not in body_of(free.html)
    assert "Secret pricing note" not in free.html + free.text
    assert "Secret pricing note" in premium.html and "Secret pricing note" in premium.text
    assert "Cost matters[1]." in premium.text
    assert 'class="footnote-ref"' in premium.html


def test_reference_link_below_paywall_is_plain_text_in_free(workspace: Path) -> None:
    body = (
        "Read [the report][rep] today.\n\n<!-- paywall -->\n\nMore.\n\n"
        '[rep]: https://example.com/secret-report "Secret title"\n'
    )
    emails = render(workspace, body)
    free, premium = emails[Variant.FREE], emails[Variant.PREMIUM]
    assert "Read [the report][rep] today." in free.text
    assert "secret-report" not in free.html + free.text
    assert "Secret title" not in free.html
    assert 'href="https://example.com/secret-report"' in premium.html
    assert "the report (https://example.com/secret-report)" in premium.text


def test_definitions_above_the_paywall_stay_in_free(workspace: Path) -> None:
    body = (
        "See [docs][d] and note[^n].\n\n[d]: https://example.com/docs\n\n"
        "[^n]: A free note.\n\n<!-- paywall -->\n\nB\n"
    )
    free = render(workspace, body)[Variant.FREE]
    assert 'href="https://example.com/docs"' in free.html
    assert "A free note." in free.html and "[1] A free note." in free.text


# --- HTML details -------------------------------------------------------------------------------


def test_lang_attribute_and_korean_line_breaking(workspace: Path) -> None:
    premium = render(workspace, "본문입니다.\n")[Variant.PREMIUM]
    assert premium.html.lower().startswith("<!doctype html>")
    assert re.search(r'<html[^>]*\blang="ko"', premium.html)
    assert "word-break: keep-all" in premium.html


def test_lang_comes_from_config(workspace: Path) -> None:
    toml = workspace / "postcli.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace('lang = "ko"', 'lang = "en"'), encoding="utf-8"
    )
    premium = render(workspace, "Body.\n")[Variant.PREMIUM]
    assert re.search(r'<html[^>]*\blang="en"', premium.html)
    assert "word-break: keep-all" not in premium.html
    assert "View in browser" in premium.html  # the English template words
    assert "December 1, 2026" in premium.text


def test_relative_image_goes_to_assets_url_with_caption(workspace: Path) -> None:
    body = '![A bar chart](../assets/2026-12-01/chart-1.png "Image credit: Us")\n'
    premium = render(workspace, body)[Variant.PREMIUM]
    assert 'src="https://cdn.example.com/newsletter/2026-12-01/chart-1.png"' in premium.html
    assert 'alt="A bar chart"' in premium.html
    assert '<p class="caption"' in premium.html and "Image credit: Us" in premium.html
    assert "[A bar chart] (Image credit: Us)" in premium.text


def test_relative_link_goes_to_the_site(workspace: Path) -> None:
    premium = render(workspace, "See [the archive](archive/2026.html).\n")[Variant.PREMIUM]
    assert 'href="https://example.com/archive/2026.html"' in premium.html
    assert "the archive (https://example.com/archive/2026.html)" in premium.text


def test_content_css_is_inlined_into_the_body(workspace: Path) -> None:
    premium = render(workspace, "## A heading\n\nText with [a link](https://example.com/x).\n")[
        Variant.PREMIUM
    ]
    body = body_of(premium.html)
    assert re.search(r'<h2 style="[^"]*font-size: ?22px', body)
    assert re.search(r'<a href="https://example.com/x" style="[^"]*color: ?#1d4ed8', body)


def test_tables_are_wrapped_and_aligned_in_text(workspace: Path) -> None:
    body = "| 기업 | 비중 |\n|---|---:|\n| 톈허 AI | 28% |\n| Tern | 8% |\n"
    premium = render(workspace, body)[Variant.PREMIUM]
    assert '<div class="table-wrap"' in premium.html
    rows = [line for line in premium.text.splitlines() if "|" in line]
    assert len(rows) == 3
    # Hangul takes two columns: every row's bar sits in the same display column.
    assert len({display_width(row.split("|")[0]) for row in rows}) == 1


def test_markdown_extensions(workspace: Path) -> None:
    body = "~~gone~~ and https://example.com/auto\n\n```\ncode <here>\n```\n"
    premium = render(workspace, body)[Variant.PREMIUM]
    assert "<s>gone</s>" in premium.html
    assert 'href="https://example.com/auto"' in premium.html
    assert "code &lt;here&gt;" in premium.html
    assert "    code <here>" in premium.text


def test_bare_urls_become_links_only_with_a_scheme(workspace: Path) -> None:
    body = (
        "Read [the post](https://example.com/post) or https://example.com/bare, "
        "mailto:editor@example.com, but not Node.js or example.org.\n"
    )
    html = body_of(render(workspace, body)[Variant.PREMIUM].html)
    assert 'href="https://example.com/post"' in html
    assert 'href="https://example.com/bare"' in html
    assert 'href="mailto:editor@example.com"' in html
    assert 'href="http://Node.js"' not in html and "example.org</a>" not in html


def test_subject_and_preheader_fields(workspace: Path) -> None:
    front = "title: The title\nsubtitle: The subtitle\nsubject: The subject line"
    email = render(workspace, "Body.\n", front=front)[Variant.FREE]
    assert email.subject == "The subject line"
    assert email.preheader == "The subtitle"
    assert "<title>The subject line</title>" in email.html
    front += "\npreheader: Inbox preview"
    email = render(workspace, "Body.\n", front=front)[Variant.FREE]
    assert email.preheader == "Inbox preview"
    assert "Inbox preview" in email.html


def test_unsubscribe_url_can_be_a_provider_merge_tag(workspace: Path) -> None:
    settings = config.load(workspace)
    issue = load_issue(write_issue(workspace, "Body.\n"))
    emails = render_issue(issue, settings, unsubscribe_url="*|UNSUB|*")
    for email in emails.values():
        assert 'href="*|UNSUB|*"' in email.html
        assert "*|UNSUB|*" in email.text


def test_user_text_is_escaped(workspace: Path) -> None:
    front = 'title: "<script>alert(1)</script> & co"'
    email = render(workspace, "Body.\n", front=front)[Variant.PREMIUM]
    assert "<script>" not in email.html
    assert "&lt;script&gt;" in email.html
    assert "<script>alert(1)</script> & co" in email.text  # text/plain is not escaped


def test_meta_carries_no_body_text(workspace: Path) -> None:
    settings = config.load(workspace)
    issue = load_issue(write_issue(workspace, "Free words.\n\n<!-- paywall -->\n\nPaid words.\n"))
    data = meta(issue, render_issue(issue, settings))
    dumped = json.dumps(data, ensure_ascii=False)
    assert "Free words" not in dumped and "Paid words" not in dumped
    assert data["variants"]["free"]["cut"] is True  # type: ignore[index]
    assert set(data) >= {
        "id",
        "title",
        "subject",
        "preheader",
        "audience",
        "send_at",
        "tags",
        "variants",
    }


# --- the premailer inliner ----------------------------------------------------------------------


def test_premailer_inliner_is_selectable(workspace: Path) -> None:
    pytest.importorskip("premailer")
    toml = workspace / "postcli.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8") + '\n[render]\ninliner = "premailer"\n', encoding="utf-8"
    )
    css = workspace / "templates" / "content.css"
    css.write_text(
        css.read_text(encoding="utf-8")
        + "\nblockquote { border-left-color: #123456 !important; }\n",
        encoding="utf-8",
    )
    assert config.load(workspace).render.inliner == "premailer"
    email = render(workspace, "## Heading\n\n> Quoted words.\n")[Variant.PREMIUM]
    assert email.html.lower().startswith("<!doctype html>")
    assert "@media only screen and (max-width: 480px)" in email.html
    assert "!important" in email.html
    body = body_of(email.html)
    assert re.search(r'<h2 style="[^"]*font-size:\s?22px', body)
    assert re.search(r'<blockquote style="[^"]*#123456 !important', body)
    assert "Quoted words." in email.text


def test_css_inline_is_the_default_inliner(workspace: Path) -> None:
    assert config.load(workspace).render.inliner == "css-inline"
