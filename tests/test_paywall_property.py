"""The paywall promise, as a property: premium-only text never reaches a free output in any form,
and all of it reaches the premium output; `::: free` text reaches free readers only.

Hypothesis writes issues out of public passages, `::: premium` and `::: free` blocks and a tail
below the paywall, using headings, links, images, tables, lists, quotes, code, footnotes and
link-reference definitions (some defined in a premium region but referenced from public text).
Every passage carries a distinctive token (PREM/FREE/PUB + random hex), so a substring search is
a meaningful check. Each generated issue goes through `build_issue`, as `postcli build` runs it.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postcli import config
from postcli.build import build_issue
from postcli.issues import Variant

PREFIX = {"public": "PUB", "premium": "PREM", "free": "FREE"}
HEX = st.text(alphabet="0123456789abcdef", min_size=10, max_size=10)
FILLER = st.sampled_from(
    ["시장 분석", "Hello there", "오픈 웨이트", "a note", "확장 경로", "Weekly"]
)
KINDS = (
    "paragraph",
    "heading",
    "link",
    "image",
    "table",
    "list",
    "quote",
    "emphasis",
    "code",
    "fence",
    "footnote",
    "inline_footnote",
    "reference",
    "cross_footnote",
    "cross_reference",
)


@dataclass
class Generated:
    markdown: str
    tokens: dict[str, set[str]] = field(default_factory=dict)  # region -> tokens
    html_only: set[str] = field(default_factory=set)  # tokens the text part cannot show


@st.composite
def issues(draw: st.DrawFn) -> Generated:
    tokens: dict[str, set[str]] = {"public": set(), "premium": set(), "free": set()}
    html_only: set[str] = set()
    labels = itertools.count(1)
    public_refs: list[str] = []  # references, in public text, to definitions in other regions

    def token(region: str, *, in_text: bool = True) -> str:
        value = PREFIX[region] + draw(HEX)
        tokens[region].add(value)
        if not in_text:
            html_only.add(value)
        return value

    def words() -> str:
        return draw(FILLER)

    def piece(region: str, kind: str) -> str:
        t = lambda **kw: token(region, **kw)  # noqa: E731
        if kind == "paragraph":
            return f"{words()} {t()} {words()}."
        if kind == "heading":
            return f"{'#' * draw(st.integers(1, 4))} {words()} {t()}"
        if kind == "link":
            return f"See [{t()} {words()}](https://example.com/{t()}) now."
        if kind == "image":
            title = f' "Image credit: {t()}"' if draw(st.booleans()) else ""
            return f"![{words()} {t()}](https://img.example.com/{t(in_text=False)}.png{title})"
        if kind == "table":
            return f"| {words()} | 비중 |\n|---|---:|\n| {t()} | 28% |\n| x | {t()} |"
        if kind == "list":
            return f"- {t()}\n- {words()} **{t()}**\n  1. nested {t()}"
        if kind == "quote":
            return f"> {words()} {t()}\n>\n> {t()}"
        if kind == "emphasis":
            return f"**{t()}** and _{t()}_ and ~~{t()}~~"
        if kind == "code":
            return f"Run `{t()}` here."
        if kind == "fence":
            return f"```\n{t()}\n```"
        if kind == "footnote":
            label = f"n{next(labels)}"
            return f"{words()}[^{label}] {t()}.\n\n[^{label}]: {words()} {t()}"
        if kind == "inline_footnote":
            return f"{words()}^[{t()} inline note] done."
        if kind == "reference":
            label = f"r{next(labels)}"
            return (
                f"Read [{t()}][{label}].\n\n"
                f'[{label}]: https://example.com/{t()} "{t(in_text=False)}"'
            )
        if kind == "cross_footnote":
            label = f"x{next(labels)}"
            public_refs.append(f"Cross note[^{label}].")
            return f"[^{label}]: {words()} {t()}"
        if kind == "cross_reference":
            label = f"y{next(labels)}"
            public_refs.append(f"Cross [{token('public')}][{label}].")
            return f"[{label}]: https://example.com/{t()}"
        raise AssertionError(kind)

    def passage(region: str) -> str:
        kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=4))
        return "\n\n".join(piece(region, kind) for kind in kinds)

    parts: list[str] = []
    for region in draw(
        st.lists(st.sampled_from(["public", "premium", "free"]), min_size=1, max_size=5)
    ):
        if region == "public":
            parts.append(passage("public"))
        else:
            inner = passage(region)
            # Blocks with and without blank lines inside their fences.
            gap = "\n\n" if draw(st.booleans()) else "\n"
            parts.append(f"::: {region}{gap}{inner}{gap}:::")
    if draw(st.booleans()):
        parts.append("<!-- paywall -->")
        parts.append(passage("premium"))
    intro = f"{PREFIX['public']} intro {token('public')}. " + " ".join(public_refs)
    body = "\n\n".join([intro, *parts]) + "\n"
    front = f'---\ntitle: "Issue {token("public")}"\nsubtitle: "Sub {token("public")}"\n---\n'
    return Generated(front + body, tokens, html_only)


@pytest.fixture(scope="module")
def settings_(module_workspace: Path) -> config.Settings:
    return config.load(module_workspace)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(generated=issues())
def test_premium_text_never_reaches_free_readers(
    generated: Generated, settings_: config.Settings, tmp_path: Path
) -> None:
    path = settings_.issues_dir / "2026-12-24-generated.md"
    path.write_text(generated.markdown, encoding="utf-8")
    out = tmp_path / "out"
    result = build_issue(settings_, path, out_dir=out)
    free, premium = result.emails[Variant.FREE], result.emails[Variant.PREMIUM]

    free_outputs = {
        "free.html": free.html,
        "free.txt": free.text,
        "free subject": free.subject,
        "free preheader": free.preheader or "",
        "free.html file": (out / "free.html").read_text(encoding="utf-8"),
        "free.txt file": (out / "free.txt").read_text(encoding="utf-8"),
        "meta.json": (out / "meta.json").read_text(encoding="utf-8"),
    }
    premium_outputs = {
        "premium.html": premium.html,
        "premium.txt": premium.text,
        "premium.html file": (out / "premium.html").read_text(encoding="utf-8"),
        "premium.txt file": (out / "premium.txt").read_text(encoding="utf-8"),
        "meta.json": free_outputs["meta.json"],
    }

    for value in generated.tokens["premium"]:
        leaks = [name for name, text in free_outputs.items() if value in text]
        assert not leaks, f"premium-only {value} leaked into {leaks}\n{generated.markdown}"
        assert value in premium.html, f"{value} missing from premium HTML\n{generated.markdown}"
        if value not in generated.html_only:
            assert value in premium.text, f"{value} missing from premium text\n{generated.markdown}"

    for value in generated.tokens["free"]:
        leaks = [name for name, text in premium_outputs.items() if value in text]
        assert not leaks, f"free-only {value} leaked into {leaks}\n{generated.markdown}"
        assert value in free.html, f"{value} missing from free HTML\n{generated.markdown}"
        if value not in generated.html_only:
            assert value in free.text, f"{value} missing from free text\n{generated.markdown}"

    for value in generated.tokens["public"]:
        for email in (free, premium):
            assert value in email.html, f"{value} missing from {email.variant} HTML"

    assert free.cut == bool(generated.tokens["premium"] or "<!-- paywall -->" in generated.markdown)
    assert json.loads(free_outputs["meta.json"])["variants"]["free"]["cut"] == free.cut
