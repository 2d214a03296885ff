"""The subtle label that opens each `::: premium` passage in the premium edition.

Paying readers should see what they pay for. The variant filter (render.body) keeps a
premium passage's content and drops its fences; this module, given the premium variant's body,
wraps each passage's tokens in `<div class="premium">` with the strings' `premium_passage` word
as a small label (styled by content.css). It never sees the free variant: free readers get no
premium passage, so no label either. Pure: tokens in, tokens out.
"""

from __future__ import annotations

import bisect
import dataclasses
import html

from postcli.issues import Issue
from postcli.markdown import Token
from postcli.model import Variant
from postcli.render.body import Body


def _html(content: str) -> Token:
    return Token("html_block", "", 0, content=content, block=True)


def label_premium_passages(issue: Issue, body: Body, label: str | None) -> Body:
    """`body` with every `::: premium` passage wrapped and labelled; unchanged for the free
    variant or without a label."""
    if body.variant is not Variant.PREMIUM or not label:
        return body
    ranges = []
    for block in issue.blocks:
        if block.kind is Variant.PREMIUM:
            span = issue.tokens[block.start].map
            if span is not None:
                ranges.append((span[0], span[1]))
    if not ranges:
        return body
    opening = f'<div class="premium"><p class="premium-label">{html.escape(label)}</p>\n'
    out: list[Token] = []
    inside = False
    ranges.sort()  # top-level blocks: disjoint, so the one starting last at or before a line
    starts = [start for start, _ in ranges]  # is the only one that can hold it
    for token in body.tokens:
        if token.map is not None:
            line = token.map[0]
            at = bisect.bisect_right(starts, line) - 1
            now = at >= 0 and line < ranges[at][1]
            if inside and not now:
                out.append(_html("</div>\n"))
            elif now and not inside:
                out.append(_html(opening))
            inside = now
        out.append(token)
    if inside:
        out.append(_html("</div>\n"))
    return dataclasses.replace(body, tokens=out)
