"""Issue files -> parsed Issue: front matter, paywall marker, blocks, and every message about a
malformed issue naming the file and the right 1-based line."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from postcli.errors import ExitCode, IssueError
from postcli.issues import (
    Audience,
    Variant,
    load_issue,
    parse_issue,
    read_text,
    resolve_issue_path,
)

REPO = Path(__file__).resolve().parent.parent
CHINA = REPO / "issues" / "2026-12-01-china-ai-global.md"
OPEN_WEIGHTS = REPO / "issues" / "2026-12-08-open-weights-week.md"


def parse(text: str, name: str = "2026-12-01-test.md"):
    return parse_issue(text, Path("issues") / name)


def error_of(text: str) -> IssueError:
    with pytest.raises(IssueError) as caught:
        parse(text)
    return caught.value


# --- the sample issues ------------------------------------------------------------------------


def test_sample_issue_front_matter() -> None:
    issue = load_issue(CHINA)
    assert issue.id == "2026-12-01-china-ai-global"
    assert issue.front.title == "'글로벌 시장'을 향한 '중국 AI'의 탐험"
    assert issue.front.subtitle == "지난 6개월 간 중국 AI 학계, 업계의 글로벌 확장 동향"
    assert issue.front.send_at == datetime(2026, 12, 1, 9, 0)
    assert issue.front.send_at.tzinfo is None  # naive: newsletter.timezone applies
    assert issue.front.audience is Audience.ALL
    assert issue.front.tags == ("global-ai", "china", "open-weights")
    assert issue.front.lines["title"] == 2
    assert issue.front.lines["tags"] == 6
    assert issue.date is not None and issue.date.isoformat() == "2026-12-01"


def test_sample_issue_structure_lines_are_file_lines() -> None:
    issue = load_issue(CHINA)
    lines = CHINA.read_text(encoding="utf-8").split("\n")
    assert issue.paywall_line is not None
    assert lines[issue.paywall_line - 1] == "<!-- paywall -->"
    assert [(b.kind, b.line) for b in issue.blocks] == [
        (Variant.PREMIUM, lines.index("::: premium") + 1),
        (Variant.FREE, lines.index("::: free") + 1),
    ]
    assert issue.has_premium_only


def test_second_sample_has_one_premium_block_and_a_paywall() -> None:
    issue = load_issue(OPEN_WEIGHTS)
    assert [b.kind for b in issue.blocks] == [Variant.PREMIUM]
    assert issue.paywall_line == 69
    assert issue.front.send_at is None


# --- the issue format ---------------------------------------------------------------------------


def test_minimal_issue_has_no_paywall_and_nothing_premium_only() -> None:
    issue = parse("---\ntitle: Hello\n---\nJust text.\n")
    assert issue.front.title == "Hello"
    assert issue.paywall is None and issue.blocks == []
    assert not issue.has_premium_only
    assert issue.body_line == 4


def test_a_premium_block_alone_makes_the_free_variant_lose_something() -> None:
    issue = parse("---\ntitle: T\n---\nA\n\n::: premium\nB\n:::\n")
    assert issue.paywall is None
    assert issue.has_premium_only


def test_a_free_block_alone_cuts_nothing() -> None:
    issue = parse("---\ntitle: T\n---\nA\n\n::: free\nB\n:::\n")
    assert not issue.has_premium_only


@pytest.mark.parametrize(
    "marker", ["<!--members-only-->", "<!-- members-only -->", "<!--paywall-->"]
)
def test_paywall_marker_spellings(marker: str) -> None:
    issue = parse(f"---\ntitle: T\n---\nA\n\n{marker}\n\nB\n")
    assert issue.paywall_line == 6


def test_byte_order_mark_and_crlf_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "2026-12-01-crlf.md"
    text = "\ufeff---\r\ntitle: T\r\n---\r\nA\r\n\r\n<!-- paywall -->\r\n\r\nB\r\n"
    path.write_bytes(text.encode("utf-8"))
    issue = load_issue(path)
    assert issue.front.title == "T"
    assert issue.paywall_line == 6


def test_send_at_with_offset_is_aware() -> None:
    issue = parse('---\ntitle: T\nsend_at: "2026-12-01T09:00+09:00"\n---\nA\n')
    assert issue.front.send_at is not None
    assert issue.front.send_at.utcoffset() == timedelta(hours=9)


def test_audience_and_its_variants() -> None:
    assert parse("---\ntitle: T\naudience: premium\n---\nA\n").front.audience is Audience.PREMIUM
    assert Audience.ALL.variants == (Variant.FREE, Variant.PREMIUM)
    assert Audience.FREE.variants == (Variant.FREE,)
    assert Audience.PREMIUM.variants == (Variant.PREMIUM,)


def test_upgrade_override_is_kept() -> None:
    issue = parse("---\ntitle: T\nupgrade:\n  heading: Join us\n  benefits: [a, b]\n---\nA\n")
    assert issue.front.upgrade == {"heading": "Join us", "benefits": ["a", "b"]}


def test_single_tag_string_becomes_a_tuple() -> None:
    assert parse("---\ntitle: T\ntags: weekly\n---\nA\n").front.tags == ("weekly",)


# --- bad input: message, file and 1-based line -------------------------------------------------

BAD_ISSUES = [
    pytest.param(
        "---\ntitle: ok\nsubtitle: a: b\n---\nbody\n", 3, "not valid YAML", id="yaml-mapping"
    ),
    pytest.param(
        '---\ntitle: ok\nsubtitle: "never closed\ntags: [a]\n---\nbody\n',
        3,
        "not valid YAML",
        id="yaml-unclosed-quote",
    ),
    pytest.param(
        "---\ntitle: ok\ntags: [a, b\nsubtitle: x\n---\nbody\n",
        3,
        "not valid YAML",
        id="yaml-unclosed-list",
    ),
    pytest.param(
        "---\ntitle: ok\nauthor: me\n---\nbody\n",
        3,
        "unknown front matter key 'author'",
        id="unknown-key",
    ),
    pytest.param("---\nsubtitle: s\n---\nbody\n", 2, "no 'title'", id="missing-title"),
    pytest.param('---\ntitle: "  "\n---\nbody\n', 2, "'title' is empty", id="empty-title"),
    pytest.param("no front matter\n", 1, "no front matter", id="no-front-matter"),
    pytest.param("---\ntitle: t\nbody\n", 1, "not closed", id="front-matter-not-closed"),
    pytest.param(
        "---\ntitle: t\n---\na\n\n<!-- paywall -->\n\nb\n\n<!-- paywall -->\n\nc\n",
        10,
        "second paywall marker",
        id="two-paywalls",
    ),
    pytest.param(
        "---\ntitle: t\n---\na\n\n<!-- paywall -->\n\nb\n\n<!--members-only-->\n",
        10,
        "second paywall marker",
        id="two-paywalls-ghost-spelling",
    ),
    pytest.param(
        "---\ntitle: t\n---\na\n\n::: premium\n\nb\n\n<!-- paywall -->\n\n:::\n",
        10,
        "paywall marker inside",
        id="paywall-in-block",
    ),
    pytest.param(
        "---\ntitle: t\n---\na\n\n- item\n\n  <!-- paywall -->\n",
        8,
        "paywall marker inside",
        id="paywall-in-list",
    ),
    pytest.param(
        "---\ntitle: t\n---\na text <!-- paywall --> more\n",
        4,
        "line of its own",
        id="paywall-inline",
    ),
    pytest.param(
        "---\ntitle: t\n---\na\n\n::: premium\n\nb\n",
        6,
        "never closed",
        id="unclosed-block",
    ),
    pytest.param(
        "---\ntitle: t\n---\na\n\n::: free\n\nb\n\n::: premium\nc\n:::\n",
        10,
        "inside another block",
        id="nested-block",
    ),
    pytest.param(
        "---\ntitle: t\n---\na\n\n::: members\nb\n:::\n", 6, "unknown block", id="unknown-block"
    ),
    pytest.param("---\ntitle: t\n---\na\n\n:::\n", 6, "closes no block", id="stray-fence"),
    pytest.param("---\ntitle: t\naudience: vip\n---\na\n", 3, "audience 'vip'", id="bad-audience"),
    pytest.param(
        "---\ntitle: t\nsend_at: 2026-12-01\n---\na\n", 3, "no time of day", id="send-at-date-only"
    ),
    pytest.param(
        "---\ntitle: t\nsend_at: next friday\n---\na\n",
        3,
        "not a date and time",
        id="send-at-words",
    ),
    pytest.param(
        "---\ntitle: t\nupgrade:\n  colour: red\n---\na\n",
        3,
        "unknown key 'colour'",
        id="upgrade-key",
    ),
    pytest.param(
        "---\ntitle: t\ntags: {a: 1}\n---\na\n", 3, "'tags' must be a list", id="tags-mapping"
    ),
    pytest.param("---\n- a\n- b\n---\na\n", 2, "must be a mapping", id="front-matter-list"),
]


@pytest.mark.parametrize(("text", "line", "message"), BAD_ISSUES)
def test_bad_issue_names_file_and_line(text: str, line: int, message: str) -> None:
    error = error_of(text)
    assert message in error.message
    assert error.path == Path("issues/2026-12-01-test.md")
    assert error.line == line
    assert error.exit_code == ExitCode.INPUT
    assert str(error).startswith(f"issues/2026-12-01-test.md:{line}: ")
    assert "\n" not in error.message


def test_unknown_key_lists_the_known_ones() -> None:
    error = error_of("---\ntitle: ok\nauthor: me\n---\nbody\n")
    assert error.hint is not None
    for key in (
        "title",
        "subtitle",
        "subject",
        "preheader",
        "send_at",
        "audience",
        "tags",
        "upgrade",
    ):
        assert key in error.hint


def test_second_paywall_hint_names_the_first() -> None:
    error = error_of("---\ntitle: t\n---\na\n\n<!-- paywall -->\n\nb\n\n<!-- paywall -->\n")
    assert error.hint is not None and "line 6" in error.hint


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    path.write_bytes("---\ntitle: Café\n---\nok\n".encode("latin-1"))
    with pytest.raises(IssueError) as caught:
        read_text(path)
    assert caught.value.line == 2
    assert "not UTF-8" in caught.value.message


def test_missing_file_is_an_issue_error(tmp_path: Path) -> None:
    with pytest.raises(IssueError, match="not found"):
        load_issue(tmp_path / "gone.md")


# --- ISSUE as a path or an id -------------------------------------------------------------------


def test_resolve_by_id_path_and_with_suffix() -> None:
    issues_dir = REPO / "issues"
    assert resolve_issue_path("2026-12-01-china-ai-global", issues_dir) == CHINA
    assert resolve_issue_path("2026-12-01-china-ai-global.md", issues_dir) == CHINA
    assert resolve_issue_path(str(CHINA), issues_dir) == CHINA


def test_resolve_unknown_suggests_near_names() -> None:
    with pytest.raises(IssueError) as caught:
        resolve_issue_path("china", REPO / "issues")
    assert "no issue 'china'" in caught.value.message
    assert caught.value.hint is not None and "2026-12-01-china-ai-global" in caught.value.hint
