"""`postcli check`: every rule triggered by one small issue and not by its near twin, the
independent premium-leak check against hand-made leaky emails, the --json shape, the exit codes,
and the sample issues passing."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

from helpers.workspace import publishable
from postcli import config
from postcli.check import (
    RULES,
    Finding,
    Level,
    Report,
    check_issue,
    has_errors,
    load_tolerant,
    run_checks,
)
from postcli.issues import Variant
from postcli.render import RenderedEmail

CONFIG = """\
[newsletter]
name = "Test Letter"
from = "Test Letter <hello@example.com>"
url = "https://example.com"
lang = "en"
unsubscribe_url = "https://example.com/unsubscribe?email={email}"
assets_url = "https://cdn.example.com/letter/"

[premium]
upgrade_url = "https://example.com/upgrade"
heading = "Go premium"
text = "Premium readers get the whole issue."
benefits = ["Every analysis in full"]
button = "Upgrade"
"""

FRONT = 'title: "A quiet week in open models"\nsubtitle: Three releases and one licence change'

FREE_TEXT = "The free part talks about the week in general terms for everyone."
PREMIUM_TEXT = "Only paying readers learn that the secret benchmark score was 91.4 percent."


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    root = tmp_path / "letter"
    (root / "issues").mkdir(parents=True)
    (root / "assets").mkdir()
    (root / "assets" / "chart.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    (root / "postcli.toml").write_text(CONFIG, encoding="utf-8")
    return root


def write_issue(ws: Path, body: str, front: str = FRONT, name: str = "2026-12-01-test") -> Path:
    path = ws / "issues" / f"{name}.md"
    path.write_text(f"---\n{front}\n---\n{textwrap.dedent(body).lstrip()}", encoding="utf-8")
    return path


def check(ws: Path, body: str, front: str = FRONT, toml: str | None = None) -> Report:
    if toml is not None:
        (ws / "postcli.toml").write_text(toml, encoding="utf-8")
    path = write_issue(ws, body, front)
    return check_issue(config.load(ws), path)


def rules(report: Report | list[Finding]) -> set[str]:
    findings = report.findings if isinstance(report, Report) else report
    return {f.rule for f in findings}


def only(report: Report, rule: str) -> list[Finding]:
    return [f for f in report.findings if f.rule == rule]


CLEAN = f"""
{FREE_TEXT}

![A bar chart of the week's releases](../assets/chart.png "Image credit: Test Letter")

Read the [archive](https://example.com/archive) for older issues.

<!-- paywall -->

{PREMIUM_TEXT}
"""


def test_a_clean_issue_has_no_findings(ws: Path) -> None:
    report = check(ws, CLEAN)
    assert report.findings == []
    assert not report.has_errors
    assert set(report.emails) == {Variant.FREE, Variant.PREMIUM}


# --- premium-leak ---------------------------------------------------------------------------


def test_premium_leak_caught_in_a_hand_made_leaky_free_email(ws: Path) -> None:
    report = check(ws, CLEAN)
    free = report.emails[Variant.FREE]
    hidden = f'<div style="display:none">{PREMIUM_TEXT}</div></body>'
    leaky = dataclasses.replace(free, html=free.html.replace("</body>", hidden))
    findings = run_checks(report.issue, {Variant.FREE: leaky}, config.load(ws))
    leaks = [f for f in findings if f.rule == "premium-leak"]
    assert len(leaks) == 1
    assert leaks[0].level is Level.ERROR and leaks[0].variant is Variant.FREE
    assert leaks[0].line == 13  # the premium sentence's line in the file
    assert "the HTML" in leaks[0].message
    assert has_errors(findings)


def test_premium_leak_caught_in_text_and_attributes(ws: Path) -> None:
    body = CLEAN + "\n![Secret roadmap for the coming quarter](../assets/chart.png)\n"
    report = check(ws, body)
    assert "premium-leak" not in rules(report)
    free = report.emails[Variant.FREE]
    leaky = dataclasses.replace(
        free,
        text=free.text
        + "\nOnly paying readers learn that the secret benchmark score\nwas 91.4 percent.\n",
        html=free.html.replace("<body", '<body title="Secret roadmap for the coming quarter"'),
    )
    leaks = [
        f
        for f in run_checks(report.issue, {Variant.FREE: leaky}, config.load(ws))
        if f.rule == "premium-leak"
    ]
    messages = " ".join(f.message for f in leaks)
    assert len(leaks) == 2
    assert "the plain text" in messages and "an attribute" in messages


def test_premium_leak_caught_for_a_premium_link_url(ws: Path) -> None:
    body = CLEAN + "\nThe [full data](https://example.com/reports/secret-2026) is here.\n"
    report = check(ws, body)
    free = report.emails[Variant.FREE]
    leaky = dataclasses.replace(
        free,
        html=free.html.replace(
            "</body>", '<a href="https://example.com/reports/secret-2026">x</a></body>'
        ),
    )
    leaks = [
        f
        for f in run_checks(report.issue, {Variant.FREE: leaky}, config.load(ws))
        if f.rule == "premium-leak"
    ]
    assert [f.line for f in leaks] == [15]
    assert "link" in leaks[0].message


def test_premium_leak_in_the_preheader_is_caught(ws: Path) -> None:
    front = f'title: "A quiet week"\npreheader: "{PREMIUM_TEXT}"'
    report = check(ws, CLEAN, front=front)
    leaks = only(report, "premium-leak")
    assert leaks and "the preheader" in leaks[0].message
    assert report.has_errors


def test_premium_text_that_is_also_free_is_not_a_leak(ws: Path) -> None:
    body = f"""
    {FREE_TEXT}

    <!-- paywall -->

    {FREE_TEXT}

    Short one.
    """
    report = check(ws, body)
    assert "premium-leak" not in rules(report)


def test_premium_blocks_and_premium_footnotes_are_collected(ws: Path) -> None:
    body = f"""
    {FREE_TEXT}[^1]

    ::: premium
    A premium block sentence that must stay with paying readers.
    :::

    <!-- paywall -->

    [^1]: A footnote body defined below the paywall stays premium.
    """
    report = check(ws, body)
    assert "premium-leak" not in rules(report)
    free = report.emails[Variant.FREE]
    leaky = dataclasses.replace(
        free,
        text=free.text
        + "A premium block sentence that must stay with paying readers.\n"
        + "A footnote body defined below the paywall stays premium.\n",
    )
    leaks = [
        f
        for f in run_checks(report.issue, {Variant.FREE: leaky}, config.load(ws))
        if f.rule == "premium-leak"
    ]
    assert sorted(f.line for f in leaks) == [8, 13]


def test_many_leaks_are_summarised(ws: Path) -> None:
    premium = "\n\n".join(f"Premium paragraph number {n} with its own words." for n in range(15))
    report = check(ws, f"{FREE_TEXT}\n\n<!-- paywall -->\n\n{premium}\n")
    leaky = dataclasses.replace(report.emails[Variant.PREMIUM], variant=Variant.FREE)
    leaks = [
        f
        for f in run_checks(report.issue, {Variant.FREE: leaky}, config.load(ws))
        if f.rule == "premium-leak"
    ]
    assert len(leaks) == 11
    assert leaks[-1].message.startswith("and 5 more")


# --- gmail-clip -----------------------------------------------------------------------------


def test_gmail_clip_over_102_kb(ws: Path) -> None:
    paragraph = "A long paragraph that fills the email, sentence after sentence, until it clips. "
    body = "\n\n".join(paragraph * 3 for _ in range(500))
    report = check(ws, body + "\n\n<!-- paywall -->\n\nShort premium end.\n")
    clips = only(report, "gmail-clip")
    assert [f.variant for f in clips] == [Variant.FREE, Variant.PREMIUM]
    assert all(f.level is Level.ERROR for f in clips)
    assert report.emails[Variant.PREMIUM].html_bytes > 102_000


def test_gmail_clip_not_for_a_normal_issue(ws: Path) -> None:
    assert "gmail-clip" not in rules(check(ws, CLEAN))


def test_gmail_clip_counts_delivered_bytes_not_characters(ws: Path) -> None:
    from postcli.check.clip import delivered_html_bytes

    report = check(ws, CLEAN)
    free = report.emails[Variant.FREE]
    settings = config.load(ws)

    def padded(n: int, tail: str = "") -> RenderedEmail:
        return dataclasses.replace(
            free, html=free.html.replace("</body>", " " * n + tail + "</body>")
        )

    low, high = 0, 120_000  # the most padding whose delivered copy is still within the line
    while low < high:
        middle = (low + high + 1) // 2
        if delivered_html_bytes(padded(middle), settings, None) <= 102_000:
            low = middle
        else:
            high = middle - 1
    under, over = padded(low), padded(low, "é")
    assert delivered_html_bytes(under, settings, None) <= 102_000
    assert delivered_html_bytes(over, settings, None) > 102_000
    assert "gmail-clip" not in rules(run_checks(report.issue, {Variant.FREE: under}, settings))
    assert "gmail-clip" in rules(run_checks(report.issue, {Variant.FREE: over}, settings))


def test_gmail_clip_measures_the_longest_readers_encoded_copy(ws: Path) -> None:
    """Rendered HTML under 102,000 bytes whose delivered copy is over: personalised with the
    longest subscriber's unsubscribe URL, CRLF, quoted-printable (non-ASCII text triples)."""
    from postcli import mime, wire
    from postcli.check.clip import delivered_html_bytes

    (ws / "subscribers.csv").write_text(
        "email,name,tier\nshort@example.org,,free\n"
        + "a-very-long+tagged.reader.address@subdomain.example.org,,premium\n",
        encoding="utf-8",
    )
    with (ws / "postcli.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[providers.file]\nsubscribers = "subscribers.csv"\n')
    report = check(ws, CLEAN)
    free = report.emails[Variant.FREE]
    settings = config.load(ws)
    # Text that quoted-printable writes in three bytes each: rendered size stays under the line.
    room = 101_500 - free.html_bytes
    over = dataclasses.replace(
        free, html=free.html.replace("</body>", "é" * (room // 2) + "</body>")
    )
    assert over.html_bytes < 102_000
    delivered = delivered_html_bytes(over, settings, None)
    assert delivered > 102_000
    longest = "a-very-long+tagged.reader.address@subdomain.example.org"
    own = mime.personalize(over, settings.newsletter.unsubscribe_url, longest)
    assert delivered == wire.encoded_length(own.html)
    assert "gmail-clip" in rules(run_checks(report.issue, {Variant.FREE: over}, settings))


# --- no-unsubscribe -------------------------------------------------------------------------


def test_no_unsubscribe_without_an_unsubscribe_url(ws: Path) -> None:
    toml = CONFIG.replace('unsubscribe_url = "https://example.com/unsubscribe?email={email}"\n', "")
    report = check(ws, CLEAN, toml=toml)
    findings = only(report, "no-unsubscribe")
    assert len(findings) == 1 and findings[0].variant is None  # both variants alike
    assert "unsubscribe_url" in findings[0].message
    assert report.has_errors


def test_provider_merge_tag_counts_as_unsubscribe(ws: Path) -> None:
    toml = CONFIG.replace('unsubscribe_url = "https://example.com/unsubscribe?email={email}"\n', "")
    toml += '\n[provider]\nname = "mailchimp"\n'
    report = check(ws, CLEAN, toml=toml)
    assert "no-unsubscribe" not in rules(report)
    assert "*|UNSUB|*" in report.emails[Variant.FREE].html


def test_cli_renders_with_the_providers_own_tag(ws: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    from postcli import providers

    class Acme:
        unsubscribe_tag = "{{ acme.leave_url }}"

    toml = CONFIG.replace('unsubscribe_url = "https://example.com/unsubscribe?email={email}"\n', "")
    toml = publishable(toml) + '\n[provider]\nname = "acme"\n'
    (ws / "postcli.toml").write_text(toml, encoding="utf-8")
    write_issue(ws, CLEAN)
    providers.register("acme", Acme)
    try:
        result = run_cli("-C", ws, "check", "2026-12-01-test", "--json")
    finally:
        providers.unregister("acme")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["findings"] == []


@pytest.mark.parametrize(
    "href",
    [
        "https://example.com/unsubscribe?email=reader@example.org",
        "{{ unsubscribe_url }}",
        "{{{RESEND_UNSUBSCRIBE_URL}}}",
        "{{ UnsubscribeURL }}",
        "*|UNSUB|*",
        "%%unsubscribe_link%%",
    ],
)
def test_unsubscribe_links_recognised(ws: Path, href: str) -> None:
    report = check(ws, CLEAN)
    free = report.emails[Variant.FREE]
    html = free.html.replace("https://example.com/unsubscribe?email={email}", href)
    findings = run_checks(
        report.issue, {Variant.FREE: dataclasses.replace(free, html=html)}, config.load(ws)
    )
    assert "no-unsubscribe" not in rules(findings)
    other = free.html.replace(
        "https://example.com/unsubscribe?email={email}", "https://example.com/about"
    )
    findings = run_checks(
        report.issue, {Variant.FREE: dataclasses.replace(free, html=other)}, config.load(ws)
    )
    assert "no-unsubscribe" in rules(findings)


# --- empty-subject, long-subject, no-preheader ------------------------------------------------


def test_empty_subject(ws: Path) -> None:
    report = check(ws, CLEAN, front='title: "A week"\nsubject: "\\u200b"\nsubtitle: x y z')
    findings = only(report, "empty-subject")
    assert len(findings) == 1 and findings[0].line == 3
    assert report.has_errors


def test_subject_with_words_is_not_empty(ws: Path) -> None:
    report = check(ws, CLEAN, front='title: "A week"\nsubject: "Hi"\nsubtitle: x y z')
    assert "empty-subject" not in rules(report)


def test_long_subject(ws: Path) -> None:
    long_front = f'title: "{"x" * 81}"\nsubtitle: s'
    findings = only(check(ws, CLEAN, front=long_front), "long-subject")
    assert len(findings) == 1 and findings[0].level is Level.WARNING and findings[0].line == 2
    assert "long-subject" not in rules(check(ws, CLEAN, front=f'title: "{"x" * 80}"\nsubtitle: s'))


def test_no_preheader(ws: Path) -> None:
    report = check(ws, CLEAN, front='title: "A week"')
    findings = only(report, "no-preheader")
    assert len(findings) == 1 and findings[0].variant is None
    assert not report.has_errors  # a warning only
    assert "no-preheader" not in rules(check(ws, CLEAN, front='title: "A week"\npreheader: Hello'))


# --- unresolved-url -------------------------------------------------------------------------


def test_missing_image_file(ws: Path) -> None:
    report = check(ws, "Text.\n\n![A chart](../assets/missing.png)\n")
    findings = only(report, "unresolved-url")
    assert [f.line for f in findings] == [7]
    assert "does not exist" in findings[0].message
    assert report.has_errors


def test_image_without_assets_url(ws: Path) -> None:
    toml = CONFIG.replace('assets_url = "https://cdn.example.com/letter/"\n', "")
    findings = only(check(ws, CLEAN, toml=toml), "unresolved-url")
    assert len(findings) == 1 and "assets_url" in findings[0].message


def test_relative_links(ws: Path) -> None:
    body = "See [the archive](/archive), [a report](../assets/report.pdf) and [top](#top).\n"
    findings = only(check(ws, body), "unresolved-url")
    assert len(findings) == 1 and "report.pdf" in findings[0].message
    toml = CONFIG.replace('url = "https://example.com"\n', "")
    findings = only(check(ws, "See [the archive](/archive).\n", toml=toml), "unresolved-url")
    assert len(findings) == 1 and "newsletter.url" in findings[0].message


def test_asset_names_with_spaces_and_hangul_resolve(ws: Path) -> None:
    (ws / "assets" / "차트 1.png").write_bytes(b"\x89PNG")
    report = check(ws, "Text.\n\n![차트](<../assets/차트 1.png>)\n\n![x](<../assets/없음 2.png>)\n")
    findings = only(report, "unresolved-url")
    assert [f.line for f in findings] == [9]
    assert "'../assets/없음 2.png'" in findings[0].message
    html = report.emails[Variant.FREE].html
    assert "https://cdn.example.com/letter/%EC%B0%A8%ED%8A%B8%201.png" in html


def test_web_address_without_scheme(ws: Path) -> None:
    findings = only(
        check(ws, "See [the post](example.com/post) and [www](www.example.org).\n"),
        "unresolved-url",
    )
    assert len(findings) == 2 and all("https://" in f.message for f in findings)


def test_link_to_the_web_version_is_no_leak(ws: Path) -> None:
    toml = CONFIG.replace(
        'url = "https://example.com"\n',
        'url = "https://example.com"\nweb_url = "https://example.com/p/{id}"\n',
        1,
    )
    body = CLEAN + "\nShare [the web version](https://example.com/p/2026-12-01-test).\n"
    assert "premium-leak" not in rules(check(ws, body, toml=toml))


def test_resolvable_urls_pass(ws: Path) -> None:
    (ws / "assets" / "report.pdf").write_bytes(b"%PDF-1.4")
    body = "See [the archive](/archive) and [a report](../assets/report.pdf).\n\n" + CLEAN
    assert "unresolved-url" not in rules(check(ws, body))


# --- javascript-link ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "Click [here](javascript:alert(1)) now.",
        "Click [here](JavaScript:void(0)) now.",
        'Click <a href="javascript:alert(1)">here</a> now.',
        "Click [here][js] now.\n\n[js]: javascript:alert(1)",
    ],
)
def test_javascript_links(ws: Path, line: str) -> None:
    report = check(ws, f"Intro.\n\n{line}\n")
    findings = only(report, "javascript-link")
    assert len(findings) == 1
    assert findings[0].line == (9 if "[js]:" in line else 7)  # a reference: its definition
    assert report.has_errors


def test_javascript_in_prose_and_code_is_no_link(ws: Path) -> None:
    body = (
        "JavaScript: the language of the web.\n\n"
        "```\n[x](javascript:alert(1))\n```\n\n"
        "Use `[x](javascript:y)` never.\n"
    )
    assert "javascript-link" not in rules(check(ws, body))


# --- paywall-twice --------------------------------------------------------------------------


def test_paywall_twice_is_a_finding_not_a_crash(ws: Path) -> None:
    body = f"{FREE_TEXT}\n\n<!-- paywall -->\n\nMiddle TODO.\n\n<!-- members-only -->\n\nEnd.\n"
    report = check(ws, body)
    findings = only(report, "paywall-twice")
    assert [f.line for f in findings] == [11]
    assert "line 7" in findings[0].message
    assert "placeholder" in rules(report)  # the rest of the issue was still checked


def test_one_paywall_is_fine(ws: Path) -> None:
    issue, findings = load_tolerant(write_issue(ws, CLEAN))
    assert findings == [] and issue.paywall is not None


# --- premium-in-free-audience ---------------------------------------------------------------


def test_paywall_in_free_audience(ws: Path) -> None:
    front = FRONT + "\naudience: free"
    body = f"{FREE_TEXT}\n\n::: premium\nPremium words here.\n:::\n\n<!-- paywall -->\n\nMore.\n"
    report = check(ws, body, front=front)
    findings = only(report, "premium-in-free-audience")
    assert sorted(f.line for f in findings) == [8, 12]
    assert list(report.emails) == [Variant.FREE]
    assert report.has_errors


def test_free_audience_without_premium_content_is_fine(ws: Path) -> None:
    report = check(ws, CLEAN.split("<!-- paywall -->")[0], front=FRONT + "\naudience: free")
    assert "premium-in-free-audience" not in rules(report)
    assert "premium-in-free-audience" not in rules(check(ws, CLEAN))  # audience: all


# --- missing-alt ----------------------------------------------------------------------------


def test_missing_alt(ws: Path) -> None:
    report = check(ws, "Text.\n\n![](../assets/chart.png)\n")
    findings = only(report, "missing-alt")
    assert len(findings) == 1 and findings[0].line == 7 and findings[0].level is Level.WARNING
    assert not report.has_errors


def test_raw_html_problems_are_reported_once_with_their_line(ws: Path) -> None:
    body = (
        'Intro.\n\n<p><img src="../assets/chart.png" width="100"></p>\n\n'
        '<div><a href="javascript:go()">Go</a></div>\n'
    )
    report = check(ws, body)
    assert [(f.rule, f.line) for f in report.findings] == [
        ("unresolved-url", 7),
        ("javascript-link", 9),
        ("missing-alt", 7),
    ]
    assert "raw HTML" in report.findings[0].message


def test_template_image_without_alt(ws: Path) -> None:
    report = check(ws, CLEAN)
    free = report.emails[Variant.FREE]
    html = free.html.replace("</body>", '<img src="https://example.com/logo.png"></body>')
    findings = run_checks(
        report.issue, {Variant.FREE: dataclasses.replace(free, html=html)}, config.load(ws)
    )
    assert sorted(f.rule for f in findings) == ["image-no-width", "missing-alt"]
    assert all(f.line is None for f in findings)


def test_alt_present(ws: Path) -> None:
    assert "missing-alt" not in rules(check(ws, "Text.\n\n![A chart](../assets/chart.png)\n"))


# --- placeholder ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "The number is TK for now.",
        "TODO: write the ending.",
        "Lorem ipsum dolor sit amet.",
        "Read more [link].",
    ],
)
def test_placeholders(ws: Path, text: str) -> None:
    findings = only(check(ws, f"Intro.\n\n{text}\n"), "placeholder")
    assert len(findings) == 1 and findings[0].line == 7


def test_placeholder_in_front_matter(ws: Path) -> None:
    findings = only(check(ws, CLEAN, front='title: "TK title"\nsubtitle: s'), "placeholder")
    assert [f.line for f in findings] == [2]


def test_no_placeholders(ws: Path) -> None:
    body = (
        "A TKO in round two; my todo list; [link](https://example.com/x).\n\n"
        "```\n# TODO in a code sample\n```\n\nThe `TODO` marker in code.\n"
    )
    assert "placeholder" not in rules(check(ws, body))


def test_findings_name_the_variant_they_concern(ws: Path) -> None:
    body = "Above TK.\n\n::: free\nFree TK.\n:::\n\n<!-- paywall -->\n\nBelow TK.\n"
    findings = only(check(ws, body), "placeholder")
    assert [(f.line, f.variant) for f in findings] == [
        (5, None),
        (8, Variant.FREE),
        (13, Variant.PREMIUM),
    ]


# --- local-link -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:8000/x",
        "http://127.0.0.1/x",
        "http://10.1.2.3/x",
        "http://192.168.1.20/x",
        "http://172.20.0.1/x",
        "http://[::1]:8080/",
        "http://printer.local/",
    ],
)
def test_local_links(ws: Path, url: str) -> None:
    report = check(ws, f"Intro.\n\nSee [this]({url}).\n")
    findings = only(report, "local-link")
    assert len(findings) == 1 and findings[0].line == 7
    assert not report.has_errors


@pytest.mark.parametrize(
    "url", ["http://172.32.0.1/x", "https://example.com/local", "https://local.example.com/"]
)
def test_public_links(ws: Path, url: str) -> None:
    assert "local-link" not in rules(check(ws, f"See [this]({url}).\n"))


# --- large-image ----------------------------------------------------------------------------


def test_large_image(ws: Path) -> None:
    with (ws / "assets" / "big.png").open("wb") as handle:
        handle.truncate(1_000_001)
    findings = only(check(ws, "Text.\n\n![A big chart](../assets/big.png)\n"), "large-image")
    assert len(findings) == 1 and findings[0].line == 7 and "1.0 MB" in findings[0].message


def test_image_of_one_megabyte_is_fine(ws: Path) -> None:
    with (ws / "assets" / "ok.png").open("wb") as handle:
        handle.truncate(1_000_000)
    assert "large-image" not in rules(check(ws, "Text.\n\n![A chart](../assets/ok.png)\n"))


def test_file_lookups_can_be_passed_in(ws: Path) -> None:
    path = write_issue(ws, "Text.\n\n![A chart](../assets/chart.png)\n")
    report = check_issue(config.load(ws), path, file_size=lambda _path: 5_000_000)
    assert "large-image" in rules(report)


# --- image-no-width -------------------------------------------------------------------------


def test_inline_image_has_no_width(ws: Path) -> None:
    report = check(ws, "A sparkline ![trend](../assets/chart.png) in a sentence.\n")
    findings = only(report, "image-no-width")
    assert len(findings) == 1 and findings[0].line == 5 and findings[0].variant is None


def test_figure_image_has_a_width(ws: Path) -> None:
    assert "image-no-width" not in rules(check(ws, CLEAN))


# --- every rule is covered, the API ---------------------------------------------------------


def test_every_rule_has_a_level_and_kebab_case_id() -> None:
    assert len(RULES) == 21
    assert all(rule == rule.lower() and " " not in rule for rule in RULES)
    assert {level for level in RULES.values()} == {Level.ERROR, Level.WARNING}


def test_has_errors() -> None:
    warning = Finding(Level.WARNING, "placeholder", "m")
    error = Finding(Level.ERROR, "empty-subject", "m")
    assert not has_errors([warning]) and has_errors([warning, error]) and not has_errors([])


def test_run_checks_on_hand_made_emails_is_pure(ws: Path) -> None:
    report = check(ws, CLEAN)
    email = RenderedEmail(
        issue_id="x",
        variant=Variant.PREMIUM,
        subject="Hi",
        preheader="P",
        html='<html><body><a href="https://example.com/unsubscribe?email=a@b.c">u</a></body></html>',
        text="Hi",
        cut=False,
    )
    assert run_checks(report.issue, {Variant.PREMIUM: email}, config.load(ws)) == []


# --- the command line -----------------------------------------------------------------------


def test_cli_exit_1_on_errors_with_grouped_output(ws: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    write_issue(
        ws, "Above TK.\n\n![A chart](../assets/missing.png)\n\n<!-- paywall -->\n\nBelow TODO.\n"
    )
    result = run_cli("-C", ws, "check", "2026-12-01-test")
    assert result.exit_code == 1
    out = result.stdout
    assert out.index("every variant:") < out.index("premium variant:")
    assert "2026-12-01-test.md:7: " in out and "[unresolved-url]" in out
    assert out.rstrip().splitlines()[-1].startswith("1 error, 2 warnings")
    assert "Traceback" not in result.output


def test_cli_exit_0_on_warnings_only(ws: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    write_issue(ws, "Text TK.\n")
    result = run_cli("-C", ws, "check", "2026-12-01-test")
    assert result.exit_code == 0
    assert "warning" in result.stdout and "[placeholder]" in result.stdout


def test_cli_json_shape(ws: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    write_issue(ws, "Text TK.\n\n![](../assets/missing.png)\n")
    result = run_cli("-C", ws, "check", "2026-12-01-test", "--json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert list(data) == ["issue", "path", "variants", "ok", "errors", "warnings", "findings"]
    assert data["issue"] == "2026-12-01-test"
    assert data["path"].endswith("issues/2026-12-01-test.md")
    assert data["variants"] == ["free", "premium"]
    assert (data["ok"], data["errors"], data["warnings"]) == (False, 1, 2)
    for item in data["findings"]:
        assert list(item) == ["level", "rule", "variant", "path", "line", "message"]
        assert item["level"] in ("error", "warning") and item["rule"] in RULES
        assert item["variant"] in (None, "free", "premium")
    assert [(f["rule"], f["line"], f["variant"]) for f in data["findings"]] == [
        ("unresolved-url", 7, None),
        ("placeholder", 5, None),
        ("missing-alt", 7, None),
    ]


def test_cli_json_when_clean(ws: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    write_issue(ws, CLEAN)
    data = json.loads(run_cli("-C", ws, "check", "2026-12-01-test", "--json").stdout)
    assert data["ok"] is True and data["findings"] == [] and data["errors"] == 0


def test_cli_broken_issue_is_one_line_exit_1(ws: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    write_issue(ws, "Text.\n\n::: premium\nNever closed.\n")
    result = run_cli("-C", ws, "check", "2026-12-01-test")
    assert result.exit_code == 1
    assert "2026-12-01-test.md:7" in result.stderr and "never closed" in result.stderr
    assert "Traceback" not in result.output


def test_cli_usage_error_exit_2(ws: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("-C", ws, "check").exit_code == 2


# --- the sample issues ----------------------------------------------------------------------


@pytest.mark.parametrize("issue", ["2026-12-01-china-ai-global", "2026-12-08-open-weights-week"])
def test_sample_issues_pass(workspace: Path, issue: str) -> None:
    report = check_issue(config.load(workspace), issue)
    assert not report.has_errors, [str(f) for f in report.findings]
    assert report.findings == []


# --- premium-leak as a property -------------------------------------------------------------

FREE_WORDS = ["harbor", "meadow", "lantern", "공개", "시장", "river", "window", "편지"]
PREMIUM_WORDS = ["quartz", "saffron", "zephyr", "심층", "전망", "obsidian", "walnut", "비밀"]


def _sentence(draw, words: list[str]) -> str:  # type: ignore[no-untyped-def]
    from hypothesis import strategies as st

    chosen = draw(st.lists(st.sampled_from(words), min_size=4, max_size=8))  # >= 12 chars
    return " ".join(chosen).capitalize() + "."


def _region(draw, words: list[str], tag: str) -> str:  # type: ignore[no-untyped-def]
    from hypothesis import strategies as st

    parts = []
    for n in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["p", "h", "li", "link", "img", "fn", "table"]))
        text = _sentence(draw, words)
        if kind == "p":
            parts.append(text)
        elif kind == "h":
            parts.append(f"## {text}")
        elif kind == "li":
            parts.append(f"- {text}\n- {_sentence(draw, words)}")
        elif kind == "link":
            parts.append(f"{text} [{words[0]}](https://example.com/{tag}/{n})")
        elif kind == "img":
            parts.append(f"![{text}](https://cdn.example.com/{tag}-{n}.png)")
        elif kind == "fn":
            parts.append(f"{text}[^{tag}{n}]\n\n[^{tag}{n}]: {_sentence(draw, words)}")
        else:
            parts.append(f"| {words[1]} | {words[2]} |\n|---|---|\n| {text} | x |")
    return "\n\n".join(parts)


def test_premium_leak_property(ws: Path) -> None:
    """On honest renders the check finds no leak; on a free email made of the premium one it
    always does."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @st.composite
    def bodies(draw):  # type: ignore[no-untyped-def]
        free = _region(draw, FREE_WORDS, "free")
        premium = _region(draw, PREMIUM_WORDS, "prem")
        block = _region(draw, PREMIUM_WORDS, "block")
        return f"{free}\n\n::: premium\n{block}\n:::\n\n<!-- paywall -->\n\n{premium}\n"

    loaded = config.load(ws)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(bodies())
    def run(body: str) -> None:
        report = check_issue(loaded, write_issue(ws, body))
        assert "premium-leak" not in rules(report), body
        as_free = dataclasses.replace(report.emails[Variant.PREMIUM], variant=Variant.FREE)
        findings = run_checks(report.issue, {Variant.FREE: as_free}, loaded)
        assert "premium-leak" in rules(findings), body

    run()
