"""Korean particles (조사) that depend on the word before them: 을/를, 이/가, 은/는, 과/와, 으로/로.

A template word like "{name}을(를) 구독하셔서" cannot know the newsletter's name in advance. The
traditional way out, writing both forms, reads as a form letter; instead the strings write the
pair as "을(를)" (either order, or "(으)로") and `resolve` picks the one the preceding word takes:

- a Hangul syllable with a final consonant (받침) takes 을, 이, 은, 과, 으로; one without takes
  를, 가, 는, 와, 로; a final ㄹ takes 로 (서울로, not 서울으로);
- digits are read as Korean numbers (1 일, 3 삼, 10 십, 100 백, 2026 이천이십육);
- Latin letters: an acronym in capitals by its letter names (AI 에이아이, HTML ...엘); a word by
  its usual Korean spelling's ending (-l, -le 구글 ㄹ, -m/-n/-ng, -k/-ck/-c 북, -p/-b 웹), a vowel
  and most other letters none;
- closing quotes, brackets and punctuation are skipped ("'중국 AI'의"), and a parenthesised
  aside is read past ("삼성전자(005930)").

When the ending cannot be told (a final -t: 포스트 or 로봇?), the pair stays as written, which is
still correct Korean. Pure functions, no state.
"""

from __future__ import annotations

import re
import unicodedata

# (the form after a final consonant, the form after a vowel)
PAIRS: dict[str, tuple[str, str]] = {
    "을": ("을", "를"),
    "를": ("을", "를"),
    "이": ("이", "가"),
    "가": ("이", "가"),
    "은": ("은", "는"),
    "는": ("은", "는"),
    "과": ("과", "와"),
    "와": ("과", "와"),
    "으로": ("으로", "로"),
    "로": ("으로", "로"),
}
# How strings write a pair: 을(를), 를(을), ..., (으)로, 으로(로), 로(으로).
NOTATION_RE = re.compile(
    r"을\(를\)|를\(을\)|이\(가\)|가\(이\)|은\(는\)|는\(은\)|과\(와\)|와\(과\)"
    r"|\(으\)로|으로\(로\)|로\(으로\)"
)

NONE, FINAL, RIEUL = "none", "final", "rieul"  # no final consonant, one, a final ㄹ

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL_INDEX = 8  # ㄹ among the 28 finals
_DIGIT = {
    "0": FINAL,  # 영
    "1": RIEUL,  # 일
    "2": NONE,  # 이
    "3": FINAL,  # 삼
    "4": NONE,  # 사
    "5": NONE,  # 오
    "6": FINAL,  # 육
    "7": RIEUL,  # 칠
    "8": RIEUL,  # 팔
    "9": NONE,  # 구
}
# The place a run of trailing zeros ends on: 십 백 천 만 ... 억 ... 조 ... 경
_ZEROS = {1: FINAL, 2: FINAL, 3: FINAL, 4: FINAL, 8: FINAL, 12: NONE, 16: FINAL}
_LETTER_NAME = {"L": RIEUL, "R": RIEUL, "M": FINAL, "N": FINAL}  # 엘 알 엠 엔; the rest none
_SKIPPED = "'\"’”»›」』】〉》.,!?;:…·~-–—*_ "
_CLOSING = {")": "(", "]": "[", "）": "（"}


def ending(word: str) -> str | None:
    """How `word` ends when read aloud: NONE, FINAL or RIEUL; None if it cannot be told."""
    text = word.rstrip()
    while text:
        last = text[-1]
        if last in _CLOSING:
            opening = text.rfind(_CLOSING[last])
            text = text[:opening].rstrip() if opening > 0 else text[:-1]
        elif last in _SKIPPED or unicodedata.category(last).startswith(("P", "Z", "S")):
            text = text[:-1]
        else:
            break
    if not text:
        return None
    last = text[-1]
    code = ord(last)
    if _HANGUL_FIRST <= code <= _HANGUL_LAST:
        final = (code - _HANGUL_FIRST) % 28
        return NONE if final == 0 else RIEUL if final == _RIEUL_INDEX else FINAL
    if last.isascii() and last.isdigit():
        return _number_ending(re.search(r"[0-9]+$", text).group(0))  # type: ignore[union-attr]
    if last.isascii() and last.isalpha():
        return _latin_ending(re.search(r"[A-Za-z]+$", text).group(0))  # type: ignore[union-attr]
    return None


def _number_ending(digits: str) -> str | None:
    stripped = digits.rstrip("0")
    if not stripped:
        return FINAL  # 영
    zeros = len(digits) - len(stripped)
    if zeros == 0:
        return _DIGIT[digits[-1]]
    place = max(k for k in _ZEROS if k <= zeros)
    return _ZEROS[place]


def _latin_ending(letters: str) -> str | None:
    if letters.isupper() and len(letters) <= 5:
        return _LETTER_NAME.get(letters[-1], NONE)
    lower = letters.lower()
    if lower.endswith(("l", "le")):
        return RIEUL  # 이메일, 구글 (Google), 애플 (Apple)
    if lower.endswith(("m", "n", "ng", "k", "ck", "c", "p", "b")):
        return FINAL  # 팀, 오픈, 링, 북, 맥, 그룹, 웹
    if lower.endswith(("t", "d")) and not lower.endswith(("ed", "de", "te")):
        return None  # 포스트 or 로봇, 클라우드 or 패드: cannot tell
    return NONE  # 코드, 뉴스, 블로그, 컴퓨터, 테크, 쇼


def particle(word: str, pair: str) -> str | None:
    """The form of `pair` (any of its forms: "을", "를", "으로", ...) that follows `word`."""
    with_final, without = PAIRS[pair]
    end = ending(word)
    if end is None:
        return None
    if with_final == "으로":
        return "으로" if end == FINAL else "로"
    return with_final if end != NONE else without


def attach(word: str, pair: str) -> str:
    """`word` followed by the right form of `pair`; both forms ("을(를)") when unknown."""
    chosen = particle(word, pair)
    if chosen is None:
        with_final, without = PAIRS[pair]
        chosen = "(으)로" if with_final == "으로" else f"{with_final}({without})"
    return word + chosen


def resolve(text: str) -> str:
    """Every pair written as "을(를)", "(으)로" and so on in `text`, resolved by the word
    before it."""

    def choose(match: re.Match[str]) -> str:
        notation = match.group(0)
        first = notation.lstrip("(")[0]
        pair = "으로" if "로" in notation else first
        chosen = particle(text[: match.start()], pair)
        return notation if chosen is None else chosen

    return NOTATION_RE.sub(choose, text)
