"""The HTML depth guard: its quick sum gives the answer of the tag-by-tag count it stands in for.

guards.html_depth_exceeded first sums one step per tag and only walks the tags one by one when
the sum could be wrong (a stray closing tag) or too deep; both must agree on every input.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from postcli import guards


def counted_one_by_one(html: str, limit: int) -> int | None:
    depth = 0
    for match in guards._TAG_RE.finditer(html):
        closing, name = match.group(1), match.group(2).lower()
        if closing:
            depth = max(0, depth - 1)
        elif not match.group(3).endswith("/") and name not in guards._VOID_ELEMENTS:
            depth += 1
            if depth > limit:
                return match.start()
    return None


_PIECES = st.sampled_from(["<div>", "</div>", "<br>", "<img src=x/>", "<p/>", "<B>", "</b>", "x"])


@settings(max_examples=500, deadline=None)
@given(st.lists(_PIECES, max_size=60), st.integers(0, 8))
def test_the_quick_sum_agrees_with_counting_tag_by_tag(pieces: list[str], limit: int) -> None:
    html = "".join(pieces)
    assert guards.html_depth_exceeded(html, limit) == counted_one_by_one(html, limit)


def test_a_stray_closing_tag_does_not_hide_depth_after_it() -> None:
    # Unclamped, "</i>" would lower the sum below the real depth of what follows.
    html = "</i></i>" + "<div>" * 5
    assert guards.html_depth_exceeded(html, 4) == html.index("<div>") + 4 * len("<div>")
    assert guards.html_depth_exceeded("<div>" * 4 + "</div>" * 9, 4) is None
