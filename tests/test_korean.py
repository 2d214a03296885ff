"""Korean in the emails: particles picked from the word before them, the strings' fallbacks to
the built-in words of the same language, unknown keys reported with their line, and
`word-break: keep-all` written inline where Korean text is."""

from __future__ import annotations

from pathlib import Path

import pytest

from postcli import config, korean
from postcli.check import check_issue
from postcli.issues import load_issue
from postcli.model import Variant
from postcli.render import render_issue, strings, typography

# word, pair asked for, what follows the word
PARTICLES = [
    # Hangul: a final consonant or not; ㄹ for 으로/로
    ("튜링 포스트 코리아", "을", "를"),
    ("AI 글로벌 브리프", "을", "를"),
    ("뉴스레터", "을", "를"),
    ("한국", "을", "을"),
    ("주간 브리핑", "를", "을"),
    ("주간 브리핑", "이", "이"),
    ("브리프", "이", "가"),
    ("편집팀", "은", "은"),
    ("편집자", "은", "는"),
    ("독자", "과", "와"),
    ("구독", "와", "과"),
    ("서울", "으로", "로"),  # ㄹ takes 로
    ("부산", "으로", "으로"),
    ("제주", "으로", "로"),
    # digits, read as Korean numbers
    ("2026", "이", "이"),  # 육
    ("1", "을", "을"),  # 일
    ("2", "을", "를"),  # 이
    ("7", "으로", "로"),  # 칠: ㄹ
    ("3", "으로", "으로"),  # 삼
    ("10", "을", "을"),  # 십
    ("100", "이", "이"),  # 백
    ("1000000000000", "은", "는"),  # 조
    ("0", "을", "을"),  # 영
    # Latin letters
    ("AI", "을", "를"),  # 에이아이
    ("HTML", "을", "을"),  # ...엘
    ("IBM", "은", "은"),  # ...엠
    ("CNN", "과", "과"),  # ...엔
    ("Google", "을", "을"),  # 구글
    ("Google", "으로", "로"),
    ("Team", "이", "이"),  # 팀
    ("Facebook", "을", "을"),  # 페이스북
    ("Web", "으로", "으로"),  # 웹
    ("Code", "를", "를"),  # 코드
    ("News", "가", "가"),  # 뉴스
    ("Computer", "는", "는"),  # 컴퓨터
    # closing quotes, brackets and punctuation are read past
    ("'중국 AI'", "을", "를"),
    ("「오픈 웨이트」", "이", "가"),
    ("Apple", "이", "이"),  # 애플
    ("삼성전자(005930)", "을", "를"),
    ("브리프!", "을", "를"),
]
# cannot be told: both forms stay
UNDECIDED = [("Post", "을", "을(를)"), ("Chat", "으로", "(으)로"), ("★", "이", "이(가)")]


@pytest.mark.parametrize(("word", "pair", "expected"), PARTICLES)
def test_the_particle_follows_the_last_syllable(word: str, pair: str, expected: str) -> None:
    assert korean.particle(word, pair) == expected
    assert korean.attach(word, pair) == word + expected


@pytest.mark.parametrize(("word", "pair", "written"), UNDECIDED)
def test_an_ending_that_cannot_be_told_keeps_both_forms(word: str, pair: str, written: str) -> None:
    assert korean.particle(word, pair) is None
    assert korean.attach(word, pair) == word + written


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("튜링 포스트 코리아을(를) 구독하셔서", "튜링 포스트 코리아를 구독하셔서"),
        ("한국을(를) 구독", "한국을 구독"),
        ("서울(으)로 가는 길과(와) 부산으로(로)", "서울로 가는 길과 부산으로"),
        ("브리프이(가) 편집자은(는) 독자와(과)", "브리프가 편집자는 독자와"),
        ("AI 글로벌 브리프를(을)", "AI 글로벌 브리프를"),
        ("Post을(를) 읽고", "Post을(를) 읽고"),
        ("괄호(가칭)는 그대로", "괄호(가칭)는 그대로"),  # not a pair notation
    ],
)
def test_resolve_picks_every_pair_written_in_a_string(text: str, expected: str) -> None:
    assert korean.resolve(text) == expected


def test_the_fill_filter_formats_then_resolves() -> None:
    template = "{name}을(를) 구독하셔서 이 메일을 받으셨습니다."
    assert strings.fill(template, name="튜링 포스트 코리아") == (
        "튜링 포스트 코리아를 구독하셔서 이 메일을 받으셨습니다."
    )
    assert (
        strings.fill(template, name="AI 타임스") == "AI 타임스를 구독하셔서 이 메일을 받으셨습니다."
    )
    assert strings.fill(template, name="한경") == "한경을 구독하셔서 이 메일을 받으셨습니다."
    assert strings.josa("코리아", "을") == "코리아를"


def _rename(workspace: Path, name: str) -> None:
    path = workspace / "postcli.toml"
    text = path.read_text(encoding="utf-8").replace('name = "AI 글로벌 브리프"', f'name = "{name}"')
    path.write_text(text, encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "line"),
    [
        ("튜링 포스트 코리아", "튜링 포스트 코리아를 구독하셔서"),
        ("주간 브리핑", "주간 브리핑을 구독하셔서"),
        ("Tech Post", "Tech Post을(를) 구독하셔서"),
    ],
)
def test_the_footer_of_both_parts_takes_the_right_particle(
    workspace: Path, name: str, line: str
) -> None:
    _rename(workspace, name)
    settings = config.load(workspace)
    issue = load_issue(settings.issues_dir / "2026-12-01-china-ai-global.md")
    for email in render_issue(issue, settings).values():
        assert line in email.text
        assert line in email.html
        assert "을(를)" not in email.text or "(를) 구독" in line


# --- strings.toml fallbacks --------------------------------------------------------------------


def test_a_partial_workspace_table_falls_back_to_the_same_language(workspace: Path) -> None:
    (workspace / "templates" / "strings.toml").write_text(
        '[ko]\nreply = "답장 환영합니다."\nrecommend = "친구에게 알려 주세요."\n', encoding="utf-8"
    )
    settings = config.load(workspace)
    words = strings.load("ko", settings.templates_dir)
    assert words["reply"] == "답장 환영합니다."
    assert words["unsubscribe"] == "수신 거부"  # from the built-in [ko], not [en]
    assert words["date_format"] == "{year}년 {month}월 {day}일"
    issue = load_issue(settings.issues_dir / "2026-12-01-china-ai-global.md")
    email = render_issue(issue, settings)[Variant.FREE]
    assert "답장 환영합니다." in email.text and "친구에게 알려 주세요." in email.text
    assert "2026년 12월 1일" in email.text and "수신 거부" in email.text
    assert "Unsubscribe" not in email.html and "December" not in email.html


def test_a_language_postcli_has_no_words_for_uses_the_workspace_en_then_built_in(
    workspace: Path,
) -> None:
    (workspace / "templates" / "strings.toml").write_text(
        '[en]\nreply = "Write back!"\n[fr]\nunsubscribe = "Se désabonner"\n', encoding="utf-8"
    )
    words = strings.load("fr-CA", workspace / "templates")
    assert words["unsubscribe"] == "Se désabonner"
    assert words["reply"] == "Write back!"
    assert words["subscribe"] == "Subscribe"


def test_unknown_keys_are_check_warnings_with_their_line(workspace: Path) -> None:
    (workspace / "templates" / "strings.toml").write_text(
        '# my words\n[ko]\nreply = "답장"\nrecomend = "추천"\n\n[en]\n"sponsor" = "x"\n',
        encoding="utf-8",
    )
    (workspace / "templates" / "extra.txt.j2").write_text("{{ t.sponsor }}", encoding="utf-8")
    unknown = strings.unknown_keys(workspace / "templates")
    assert [(k.table, k.key, k.line) for k in unknown] == [("ko", "recomend", 4)]
    report = check_issue(config.load(workspace), "2026-12-01-china-ai-global")
    found = [f for f in report.findings if f.rule == "unknown-string"]
    assert len(found) == 1 and found[0].level.value == "warning"
    assert found[0].line == 4 and found[0].path == workspace / "templates" / "strings.toml"
    assert "'recomend' in [ko]" in found[0].message


def test_the_premium_label_comes_from_the_strings_and_only_in_premium(workspace: Path) -> None:
    (workspace / "templates" / "strings.toml").write_text(
        '[ko]\npremium_passage = "유료 회원 전용"\n', encoding="utf-8"
    )
    settings = config.load(workspace)
    issue = load_issue(settings.issues_dir / "2026-12-01-china-ai-global.md")
    emails = render_issue(issue, settings)
    premium, free = emails[Variant.PREMIUM].html, emails[Variant.FREE].html
    label = premium.index("유료 회원 전용")
    assert premium.index("프리미엄 구독자 여러분께만") > label  # the label opens the passage
    assert 'class="premium-label"' in premium and 'class="premium"' in premium
    assert "유료 회원 전용" not in free and 'class="premium-label"' not in free


# --- keep-all inline -----------------------------------------------------------------------------


def test_keep_all_goes_inline_on_elements_holding_korean_only() -> None:
    html = (
        "<html><head><title>제목</title><style>p{color:red}</style></head><body>"
        '<div style="color:#111">안녕 <a href="https://x.example/?a=1&amp;b=2">링크</a></div>'
        "<p>English only</p><p class='x'>한국어</p><pre><code>코드</code></pre>"
        "<span style=\"word-break:break-all\">그대로</span><td style='color: red'>셀</td>"
        "</body></html>"
    )
    out = typography.keep_words_whole(html)
    assert '<div style="color:#111;word-break:keep-all;">안녕' in out
    assert '<a href="https://x.example/?a=1&amp;b=2" style="word-break:keep-all;">링크' in out
    assert "<p>English only</p>" in out
    assert "<p class='x' style=\"word-break:keep-all;\">한국어" in out
    assert "<pre><code>코드</code></pre>" in out  # code keeps breaking anywhere
    assert '<span style="word-break:break-all">그대로' in out  # the author chose
    assert "<td style='color: red;word-break:keep-all;'>셀" in out
    assert "<title>제목</title>" in out
    assert typography.keep_words_whole(out) == out  # idempotent


def test_an_english_newsletter_gets_no_keep_all(workspace: Path) -> None:
    path = workspace / "postcli.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('lang = "ko"', 'lang = "en"'))
    settings = config.load(workspace)
    issue = load_issue(settings.issues_dir / "2026-12-01-china-ai-global.md")
    assert 'keep-all;">' not in render_issue(issue, settings)[Variant.FREE].html
    assert typography.wants_keep_all("ko-KR") and not typography.wants_keep_all("en")
