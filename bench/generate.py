"""Deterministic benchmark issues: Korean prose with headings, figures, tables, a list, a quote,
footnotes, a `::: premium` and a `::: free` block and a paywall, at any length.

The same seed gives the same file byte for byte, so figures from two machines compare; nothing
big is committed to the repository.
"""

from __future__ import annotations

import random

NOUNS = (
    "중국",
    "AI",
    "기업",
    "시장",
    "모델",
    "연구",
    "거점",
    "파트너",
    "데이터",
    "규제",
    "투자",
    "인재",
    "서비스",
    "고객",
    "플랫폼",
    "전략",
    "성능",
    "비용",
    "지역",
    "산업",
    "기술",
    "정부",
    "생태계",
    "개발자",
    "라이선스",
    "클라우드",
    "반도체",
    "에이전트",
    "추론",
    "벤치마크",
)
PARTICLED = (
    "기업들이",
    "시장에서",
    "모델을",
    "연구자와",
    "거점을",
    "파트너의",
    "데이터가",
    "규제를",
    "투자자들은",
    "인재를",
    "서비스로",
    "고객에게",
    "전략은",
    "성능이",
    "비용을",
    "지역별로",
    "산업에서",
    "기술력이",
    "정부와",
    "개발자들이",
    "클라우드에",
    "반도체가",
    "에이전트를",
)
ADVERBS = ("빠르게", "꾸준히", "조금씩", "뚜렷하게", "여전히", "점점", "특히", "실제로", "다시")
VERBS = (
    "늘어나고 있습니다.",
    "바뀌고 있습니다.",
    "주목받고 있습니다.",
    "확대되었습니다.",
    "자리 잡았습니다.",
    "줄어들었습니다.",
    "평가받습니다.",
    "이어지고 있습니다.",
    "중요해졌습니다.",
    "달라지고 있습니다.",
)
FIGURES = (
    "../assets/2026-12-01/chart-1.png",
    "../assets/2026-12-01/chart-2.png",
    "../assets/2026-12-01/chart-3.png",
    "../assets/2026-12-01/chart-4.png",
    "../assets/2026-12-01/map.png",
    "../assets/2026-12-08/releases.png",
)


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(NOUNS)]
    for _ in range(rng.randint(4, 9)):
        words.append(rng.choice(PARTICLED if rng.random() < 0.6 else NOUNS))
    words.insert(rng.randint(1, len(words)), rng.choice(ADVERBS))
    words.append(rng.choice(VERBS))
    return " ".join(words)


def _paragraph(rng: random.Random, words: int) -> str:
    sentences: list[str] = []
    count = 0
    while count < words:
        words_ = _sentence(rng).split(" ")
        if rng.random() < 0.15:  # some emphasis, as writers use it
            pick = rng.randrange(len(words_) - 1)
            words_[pick] = f"**{words_[pick]}**"
        sentences.append(" ".join(words_))
        count += len(words_)
    return " ".join(sentences)


def _table(rng: random.Random, number: int) -> str:
    rows = [
        "| 기업(가칭) | 주력 분야 | 진출 지역 | 해외 매출 비중 | 거점 수 |",
        "|---|---|---|---:|---:|",
    ]
    for _ in range(6):
        name = f"{rng.choice(NOUNS)} {rng.choice(NOUNS)} {number}"
        field = f"{rng.choice(NOUNS)} {rng.choice(NOUNS)}"
        regions = f"{rng.choice(NOUNS)}, {rng.choice(NOUNS)}"
        rows.append(
            f"| {name} | {field} | {regions} | {rng.randint(5, 60)}% | {rng.randint(1, 9)} |"
        )
    return "\n".join(rows)


def korean_issue(words: int, *, images: int = 6, tables: int = 2, seed: int = 2026) -> str:
    """An issue of about `words` words (whitespace-separated), paywall at about 40%."""
    paragraphs = max(words // 90, 8)
    first = _issue(paragraphs, images, tables, seed)
    # Notes, lists and tables add words of their own: scale once to land near the target.
    return _issue(max(round(paragraphs * words / word_count(first)), 8), images, tables, seed)


def _issue(paragraphs: int, images: int, tables: int, seed: int) -> str:
    rng = random.Random(seed)
    paragraph_words = 90
    image_at = {round((i + 0.5) * paragraphs / images) for i in range(images)}
    table_at = {round((i + 0.3) * paragraphs / tables) for i in range(tables)}
    paywall_at = round(paragraphs * 0.4)
    parts: list[str] = [
        "---",
        'title: "벤치마크: 중국 AI의 글로벌 확장 동향"',
        "subtitle: 지난 6개월 간 중국 AI 학계, 업계의 글로벌 확장 동향",
        "preheader: 오픈 웨이트 공개부터 현지 합작, 해외 연구 거점까지",
        'send_at: "2026-12-01 09:00"',
        "tags: [bench]",
        "---",
        "",
    ]
    figure = 0
    for index in range(paragraphs):
        if index % 5 == 0:
            topic = f"{rng.choice(NOUNS)}의 {rng.choice(NOUNS)}, {rng.choice(NOUNS)}"
            parts += [f"## {topic} {index // 5 + 1}", ""]
        if index == paywall_at:
            parts += [
                "::: premium",
                "",
                _paragraph(rng, 40),
                "",
                ":::",
                "",
                "::: free",
                "",
                "심층 분석은 프리미엄 플랜에서 이어집니다.",
                "",
                ":::",
                "",
                "<!-- paywall -->",
                "",
            ]
        text = _paragraph(rng, paragraph_words)
        if index % 7 == 3:
            note = f"n{index}"
            text += f"[^{note}]"
            parts += [text, "", f"[^{note}]: {_paragraph(rng, 20)}", ""]
        elif index % 6 == 2:
            parts += [f"> {text}", ""]
        elif index % 9 == 4:
            parts += [
                f"- {_paragraph(rng, 20)}\n- {_paragraph(rng, 20)}\n- {_paragraph(rng, 20)}",
                "",
            ]
            parts += [text, ""]
        else:
            parts += [text + f" [자세히 보기](https://example.com/archive/{index}).", ""]
        if index in image_at:
            src = FIGURES[figure % len(FIGURES)]
            figure += 1
            alt = f"{rng.choice(NOUNS)} {rng.choice(NOUNS)} 추이를 보여 주는 막대그래프 {figure}"
            parts += [f'![{alt}]({src} "이미지 출처: AI 글로벌 브리프")', ""]
        if index in table_at:
            parts += [_table(rng, index), ""]
    return "\n".join(parts)


def word_count(markdown: str) -> int:
    body = markdown.split("\n---\n", 1)[-1]
    return len(body.split())
