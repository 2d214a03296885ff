"""The front matter reader that skips PyYAML (issues/plain_yaml.py) gives PyYAML's answer, or
none: whenever it reads a text, PyYAML (with guards.check_yaml) reads the same values, of the
same types, at the same lines, and raises no error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from postcli.issues import plain_yaml
from postcli.issues.front_matter import (
    FRONT_MATTER_KEYS,
    FRONT_MATTER_SHAPES,
    _read_yaml,
    split_front_matter,
)

REPO = Path(__file__).resolve().parent.parent
PATH = Path("issues/x.md")


def read(text: str) -> tuple[dict[str, Any], dict[str, int]] | None:
    return plain_yaml.read(text, FRONT_MATTER_KEYS, FRONT_MATTER_SHAPES)


def typed(value: Any) -> Any:
    """`value` with every leaf's type beside it (True == 1 and 1.0 == 1 in Python)."""
    if isinstance(value, dict):
        return {typed(k): typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed(v) for v in value]
    return (type(value).__name__, value)


def assert_same_as_pyyaml(text: str) -> bool:
    quick = read(text)
    if quick is None:
        return False
    data, lines = _read_yaml(text, PATH)  # raises if PyYAML refuses what the quick reader took
    assert typed(quick[0]) == typed(data)
    assert quick[1] == lines
    return True


# Characters that matter to YAML, to the reader's rules, or to neither.
TRICKY = "-?:,[]{}#&*!|>'\"%@`+.~<=\\ \t\r\x85\u2028\u2029\ufeff\u202e\x7f\x00é한"
WORDS = [
    "yes", "No", "TRUE", "false", "on", "Off", "y", "n", "null", "Null", "~", "NULL", "nUll",
    "0", "12", "-3", "+4", "1_000", "0x1f", "0o17", "0b11", "1.5", ".5", "1e3", ".inf", "-.Inf",
    ".nan", "190:20:30", "1:20", "<<", "=", "2026-12-01", "2026-12-01 09:00", "2026-12-1 9:00",
    "2026-12-01T09:00+09:00", "2026-12-01 09:00:00", "2026-12-01T09:00:00Z", "2026-12-01T09:00Z",
    "2026-12-01 09:00 +09:00", "a: b", "a:", "a #b", "a# b", "#a", "a  b", "AI, China [2026]",
    "Iñtërnâtiônàl", "중국 AI의 탐험", "&anchor", "*alias", "!tag x", "!!str 1", "|", ">", "%x",
    "@x", "`x", "-", "- a", "?", "? a", "a'b", 'a"b', "[a, b]", "{a: b}",
]  # fmt: skip
VALUES = st.one_of(
    st.sampled_from(WORDS),
    st.text(st.sampled_from(TRICKY + "ab1"), max_size=8),
    st.text(max_size=6),
    st.builds(
        lambda q, s: q + s + q, st.sampled_from(["'", '"']), st.text(TRICKY + "ab", max_size=6)
    ),
    st.builds(
        lambda items, sep: "[" + sep.join(items) + "]",
        st.lists(st.one_of(st.sampled_from(WORDS), st.text(TRICKY + "ab", max_size=4)), max_size=4),
        st.sampled_from([",", ", ", " , ", ",,"]),
    ),
)
KEYS = st.one_of(
    st.sampled_from(FRONT_MATTER_KEYS), st.sampled_from(["foo", "Title", "on", "null", "tag s"])
)


@st.composite
def front_matter(draw: st.DrawFn) -> str:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        kind = draw(st.sampled_from(["entry"] * 6 + ["blank", "comment", "indented", "item"]))
        if kind == "entry":
            gap = draw(st.sampled_from([" ", "", "  ", " \t"]))
            lines.append(
                f"{draw(KEYS)}:{gap}{draw(VALUES)}{draw(st.sampled_from(['', ' ', '  #c']))}"
            )
        elif kind == "blank":
            lines.append(draw(st.sampled_from(["", "  ", "\t"])))
        elif kind == "comment":
            lines.append("# " + draw(VALUES))
        elif kind == "indented":
            lines.append("  " + draw(VALUES))
        else:
            lines.append("- " + draw(VALUES))
    return "\n".join(lines)


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(front_matter())
@example("title: a\ntitle: b")  # a repeated key: PyYAML keeps the last, the reader declines
@example("title: x\u2028y")  # a line break to YAML
@example("tags: [" + ",".join(["a"] * 1500) + "]")
def test_whatever_the_quick_reader_reads_pyyaml_reads_the_same(text: str) -> None:
    assert_same_as_pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        "title: \"'글로벌 시장'을 향한 '중국 AI'의 탐험\"\nsend_at: \"2026-12-01 09:00\"",
        "title: Open-Weights Week: Five Releases",  # ": " in a plain value is YAML's error
        "title: Weekly\nsend_at: 2026-12-01 09:00\ndraft: true\ntags: [ai, china]",
        "title: Weekly\nsend_at: 2026-12-01T09:00+09:00\ndraft: off\ntags: []",
        "# a comment\n\ntitle: Weekly\nsubtitle:\naudience: premium",
        "title: Weekly  # a note\ndraft: true   # delete this line\ntags: [a, b] # two",
        "title: 'C:\\new' # single quotes keep a backslash\nsubtitle: \"a #b\" #c",
    ],
)
def test_everyday_front_matter_is_read_without_pyyaml(text: str) -> None:
    if "Five Releases" in text:
        assert read(text) is None
    else:
        assert assert_same_as_pyyaml(text)


@pytest.mark.parametrize(
    "text",
    [
        "title: x\nupgrade:\n  heading: Upgrade",  # a nested mapping
        "title: x\ntags:\n  - ai",  # a block list
        'title: "a\\tb"',  # an escape
        "title: x\nsend_at: 2026-12-01 09:00:00",  # a timestamp: PyYAML makes it a datetime
        "title: 2026",  # a number
        "title: &a x\nsubtitle: *a",  # an anchor and an alias
        'title: "x"# note',  # a comment must follow a space
        "title: 'it''s'",  # an escaped quote
        "title: x\n  continued",  # a value over two lines
        "title: x\nfoo: bar",  # an unknown key: PyYAML's path names it
        "title:\tx",
    ],
)
def test_anything_else_goes_to_pyyaml(text: str) -> None:
    assert read(text) is None


def test_the_sample_issues_and_the_new_issue_template_skip_pyyaml(tmp_path: Path) -> None:
    from postcli.config import load
    from postcli.workspace import NewIssue, new_issue

    texts = [p.read_text(encoding="utf-8") for p in sorted((REPO / "issues").glob("*.md"))]
    root = tmp_path / "n"
    root.mkdir()
    (root / "postcli.toml").write_text((REPO / "postcli.toml").read_text(encoding="utf-8"))
    made = new_issue(load(root), NewIssue("Week 12: 'quotes' & more", send_at="2026-12-09 09:00"))
    texts.append(made.read_text(encoding="utf-8"))
    read_quickly = []
    for text in texts:
        front, _, _ = split_front_matter(text, PATH)
        read_quickly.append(assert_same_as_pyyaml(front))
    # The second sample has an `upgrade:` mapping, which is PyYAML's to read.
    assert read_quickly == [True, False, True]
