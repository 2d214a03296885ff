"""The quick scan behind keep-all (render.typography) reads HTML exactly as the standard
library's parser does, or hands the document to it.

The scan exists for speed only: keep-all must come out the same as html.parser's reading of
the compiled email would make it, whatever markup an issue or a template holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postcli import config
from postcli.issues import load_issue
from postcli.render import render_issue, typography
from postcli.render.html_fallback import TextHolders

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).resolve().parent.parent


def reference_holders(html: str) -> dict[int, str]:
    parser = TextHolders(html)
    parser.feed(html)
    parser.close()
    return parser.holders


def test_the_scan_reads_every_golden_email_as_html_parser_does() -> None:
    emails = sorted(GOLDEN.rglob("*.html"))
    assert emails
    for email in emails:
        html = email.read_text(encoding="utf-8")
        found = typography._scan(html)
        assert found is not None, f"{email}: the quick scan gave up on MJML's own output"
        assert found == reference_holders(html), email


def test_the_scan_reads_freshly_compiled_emails_before_keep_all() -> None:
    settings = config.load(REPO)
    compiled: list[str] = []
    original = typography.keep_words_whole

    def capture(html: str) -> str:
        compiled.append(html)
        return original(html)

    typography.keep_words_whole = capture  # type: ignore[assignment]
    try:
        for path in sorted((REPO / "issues").glob("*.md")):
            render_issue(load_issue(path), settings)
    finally:
        typography.keep_words_whole = original  # type: ignore[assignment]
    assert compiled
    for html in compiled:
        found = typography._scan(html)
        assert found is not None
        assert found == reference_holders(html)
        assert found  # the Korean samples hold CJK text: something to mark


@pytest.mark.parametrize(
    "html",
    [
        "<pre><span>가</span></pre><p>나</p>",  # inside <pre>, however deep: left alone
        "<head><title>가</title></head><body>나<p>다</p></body>",
        "<p><style>x</p><td>가",  # an unclosed <style>: the rest is its text
        "<p><script>if (a < b) {}</script>가</p>",
        "<p>가<br>나<img src=x>다</p>",  # void elements hold nothing
        "<div/>가<p/>나",
        "<P CLASS=a>가</P>",
        "<p>&#xAC00;</p><td>&#44032;</td><span>&amp;</span>",
        "<td><!--[if mso]><b>가</b><![endif]--></td><p><!--[if !mso]><!-->나<!--<![endif]--></p>",
        "<table><tr><td>가</span></td>나</tr></table>",  # an end tag nothing opened is ignored
        "<p>가</div>나",
        "<p>a < 가</p>",  # a stray "<": html.parser's own reading
        "<td style=\"word-break:normal\">가</td><td style='color:red'>가</td>",
    ],
)
def test_hand_picked_markup_reads_as_html_parser_reads_it(html: str) -> None:
    assert typography.text_holders(html) == reference_holders(html)
    assert typography.keep_words_whole(html) == _reference_keep_all(html)


def _reference_keep_all(html: str) -> str:
    out, previous = [], 0
    holders = reference_holders(html)
    for offset in sorted(holders):
        raw = holders[offset]
        out += [html[previous:offset], typography._with_keep_all(raw)]
        previous = offset + len(raw)
    return "".join([*out, html[previous:]])


_TAGS = ["p", "td", "DIV", "span", "a", "br", "img", "style", "script", "title", "pre", "head"]
_TAGS += ["html", "body", "o:p", "table"]
_ATTRIBUTE = st.sampled_from(
    [
        "",
        ' style="color:red"',
        " style='word-break:normal'",
        ' class="x" style="a:b;"',
        " style=x",
        " href=foo/",
        ' alt="가 > 나"',
        " hidden",
        ' a = "b"',
        ' a="b"c="d"',
        " a==b",
        ' a="unclosed',
        ' "odd"',
    ]
)
_TEXT = st.sampled_from(
    [
        "",
        "plain",
        "한국어",
        "日本語",
        "\n   ",
        "&#xAC00;",
        "&#44032;",
        "&amp;",
        "&",
        "a < b",
        "<",
        ">",
        "&#x4e00",
    ]
)


@st.composite
def _markup(draw: st.DrawFn) -> str:
    tag = draw(st.sampled_from(_TAGS))
    kind = draw(st.integers(0, 12))
    if kind <= 6:
        return f"<{tag}{draw(_ATTRIBUTE)}{draw(st.sampled_from(['>', '/>', ' />', ' >', '/ >']))}"
    if kind <= 10:
        return f"</{tag}{draw(st.sampled_from(['>', ' >', '', ' x>']))}"
    return draw(
        st.sampled_from(
            [
                "<!-- note -->",
                "<!--[if mso | IE]><table><tr><td>가<![endif]-->",
                "<!--[if !mso]><!-->",
                "<!--<![endif]-->",
                "<!-- -- >",
                "<!--unclosed",
                "<!doctype html>",
                "<!DOCTYPE html>",
                "<![CDATA[x]]>",
                "<?xml version='1.0'?>",
                "<!bogus>",
                "</>",
                "</ p>",
                "<style>p { color: red } a > b</style>",
                "<STYLE type=text/css>td<x>가</STYLE >",
                "<script>if (a < b) {}</script>",
            ]
        )
    )


_CJK_TEXT = st.sampled_from(["한국어", "&#xAC00;", "日本語 &amp; 中文"])
_PLAIN = st.sampled_from(
    ["<p>", '<td style="x:y">', "<div class=a>", "<span>", "</p>", "</td>", "</div>", "</span>"]
)
_DOCUMENTS = st.lists(st.one_of(_markup(), _TEXT, _CJK_TEXT, _PLAIN, _PLAIN), max_size=30).map(
    "".join
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_DOCUMENTS)
def test_keep_all_marks_what_html_parser_would_mark(html: str) -> None:
    assert typography.text_holders(html) == reference_holders(html)
    found = typography._scan(html)
    if found is not None:  # when the scan answers, it answers as html.parser does
        assert found == reference_holders(html)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "<p>",
                "</p>",
                '<td style="a:b">',
                "</td>",
                "가",
                " x ",
                "<br/>",
                "<!--[if mso]><b>나</b><![endif]-->",
            ]
        ),
        max_size=40,
    )
)
def test_plain_markup_never_falls_back(pieces: list[str]) -> None:
    html = "<html><body>" + "".join(pieces) + "</body></html>"
    found = typography._scan(html)
    assert found is not None
    assert found == reference_holders(html)
