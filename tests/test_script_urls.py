"""Script URLs however they are spelled: `postcli check` judges a link after decoding character
references (and dropping the whitespace and case browsers ignore), and the rendered email of
every variant carries no such URL in any attribute, because the CSS inliner and MJML decode
references on the way (`&#106;avascript:` would come out as a live `javascript:` link)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

from postcli import config
from postcli.build import build_issue
from postcli.check import check_issue
from postcli.render.script_urls import NEUTRALISED_URL, dangerous_scheme, neutralise_script_urls

FRONT = "---\ntitle: Probe\nsubtitle: A probe issue\n---\n"  # the body starts on line 5

SPELLINGS = [
    "&#106;avascript:alert(1)",
    "&#x6A;avascript:alert(1)",
    "&#0000106;avascript:alert(1)",
    "java&#x09;script:alert(1)",
    "java&#10;script:alert(1)",
    "&#x20;JaVaScRiPt:alert(1)",
    "javascript&#58;alert(1)",
    "javascript&colon;alert(1)",
    "vbscript:msgbox(1)",
    "&#118;bscript:msgbox(1)",
    "data:text/html;base64,PHNjcmlwdD4=",
    "&#100;ata:text/html,x",
]


class _Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v or "" for k, v in attrs if k in ("href", "src", "action", "formaction")]


def attribute_urls(html: str) -> list[str]:
    parser = _Urls()
    parser.feed(html)
    parser.close()
    return parser.urls


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize(
    "body",
    [
        'Free <a href="{url}">click</a> here.\n',  # inline HTML in a paragraph
        '<div>\n<a href="{url}">click</a>\n</div>\n',  # an HTML block
        'Free.\n\n<!-- paywall -->\n\n<p><a href="{url}">premium click</a></p>\n',
    ],
    ids=["inline", "html-block", "premium-html"],
)
def test_a_hidden_script_link_is_reported_and_never_sent(
    workspace: Path, spelling: str, body: str
) -> None:
    path = workspace / "issues" / "2026-12-01-probe.md"
    path.write_text(FRONT + body.format(url=spelling), encoding="utf-8")
    settings = config.load(workspace)
    report = check_issue(settings, path)
    found = [f for f in report.findings if f.rule == "javascript-link"]
    assert found, [f.message for f in report.findings]
    link_line = 5 + next(i for i, line in enumerate(body.split("\n")) if "href" in line)
    assert {f.line for f in found} == {link_line}
    assert report.has_errors
    result = build_issue(settings, path)
    for email in result.emails.values():
        urls = attribute_urls(email.html)
        assert not [u for u in urls if dangerous_scheme(u)], (email.variant, urls)
        assert "script:" not in email.text.lower() and "data:text" not in email.text.lower()


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("javascript:x", "javascript"),
        (" \t JAVAscript:x", "javascript"),
        ("&#x6A;avascript&colon;x", "javascript"),
        ("vbscript:x", "vbscript"),
        ("data:text/html,x", "data"),
        ("data:image/svg+xml,<svg onload=x>", "data"),
        ("data:image/png;base64,AAAA", None),
        ("https://example.com/javascript:x", None),
        ("mailto:a@example.com", None),
        ("#javascript:x", None),
    ],
)
def test_dangerous_scheme(url: str, scheme: str | None) -> None:
    assert dangerous_scheme(url) == scheme


def test_neutralising_leaves_everything_else_byte_for_byte() -> None:
    html = (
        '<p style="a:b">x <a href="https://e.example/?a=1&amp;b=2" title=\'t\'>y</a>'
        '<img src="data:image/png;base64,AA" alt=""/>\n<a href="&#106;avascript:1" id=k>z</a></p>'
    )
    out = neutralise_script_urls(html)
    assert out.startswith(html[: html.index("\n") + 1])
    assert out.endswith(f'<a href="{NEUTRALISED_URL}" id="k">z</a></p>')
    clean = '<a href="https://example.com">data: the numbers</a>'
    assert neutralise_script_urls(clean) == clean
