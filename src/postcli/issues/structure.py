"""The body's structure: where the paywall marker and the `::: premium` / `::: free` blocks
stand, and every message about a misplaced, malformed, disarmed or swallowed one.

Where a marker or block line stands is read from markdown-it's own block token stream, the
parse the renderer uses; nothing here guesses Markdown structure from the raw lines. The raw
lines are read for one thing only: characters that make a line look like a marker to a reader
while Markdown sees none (issues/markers.py).
"""

from __future__ import annotations

from postcli import markdown
from postcli.errors import IssueError
from postcli.issues.markers import (
    ANY_STRUCTURE_RE,
    FENCE_RE,
    OPENER_LIKE_RE,
    PAYWALL_ANYWHERE_RE,
    PAYWALL_RE,
    disguised_marker,
    fold,
    is_blank_looking,
    odd_characters,
)
from postcli.issues.types import Block, Issue
from postcli.markdown import Token
from postcli.model import Variant

__all__ = ["PAYWALL_ANYWHERE_RE", "PAYWALL_RE", "locate_structure"]

_SWALLOWERS = ("html_block", "code_block", "fence")
_CODE_SPAN_RE = markdown.CODE_SPAN_RE


def locate_structure(issue: Issue) -> None:
    """Find the paywall marker and the blocks; reject misplaced, disarmed or swallowed ones."""
    _refuse_disguised_markers(issue)
    _locate_markers(issue)
    premium_only = _premium_only_ranges(issue)
    for token in issue.tokens:
        if token.type in _SWALLOWERS:
            _check_swallowed_structure(issue, token, premium_only)
        if token.type == "html_block" and not markdown.html_block_is_closed(token):
            opening = token.content.lstrip(" ").split("\n", 1)[0][:40]
            raise IssueError(
                f"the raw HTML '{opening}' is never closed: it would hide or break the rest "
                "of the email, footer and unsubscribe link included",
                path=issue.path,
                line=issue.line_of(token),
                hint="close it (</script>, -->, ?>, ]]>), or show it as code in a ``` block",
            )


def _refuse_disguised_markers(issue: Issue) -> None:
    lines = issue.source.split("\n")
    for index, text in enumerate(lines):
        if disguised_marker(text):
            what = "paywall marker" if "<" in fold(text) else "':::' line"
            raise IssueError(
                f"this looks like a {what} but holds invisible or look-alike characters "
                f"({', '.join(odd_characters(text))}), so Markdown does not read it as one",
                path=issue.path,
                line=issue.line_of_body_line(index),
                hint="delete the line and type it again with plain characters",
            )
    for index, text in enumerate(lines):
        if not is_blank_looking(text):
            continue
        for near in (index - 1, index + 1):
            if 0 <= near < len(lines) and ANY_STRUCTURE_RE.match(lines[near]):
                raise IssueError(
                    "a line of invisible characters next to a paywall marker or ':::' line "
                    f"({', '.join(odd_characters(text))}): Markdown does not see it as blank",
                    path=issue.path,
                    line=issue.line_of_body_line(index),
                    hint="make it an empty line",
                )


def _locate_markers(issue: Issue) -> None:
    tokens, path = issue.tokens, issue.path
    open_block: tuple[Variant, int, int] | None = None
    for index, token in enumerate(tokens):  # a token's line is worked out where it is needed
        if token.type == "inline":  # the most common token: tested first
            _check_inline_structure(issue, token, issue.line_of(token))
        elif token.type.startswith("container_") and token.type.endswith("_open"):
            line = issue.line_of(token)
            kind = Variant(token.type.removeprefix("container_").removesuffix("_open"))
            if token.level != 0 or open_block is not None:
                raise IssueError(
                    f"'::: {kind}' block inside another block",
                    path=path,
                    line=line,
                    hint="::: premium and ::: free blocks go at the top level and do not nest",
                )
            if not markdown.container_is_closed(token):
                raise IssueError(
                    f"'::: {kind}' block is never closed",
                    path=path,
                    line=line,
                    hint="end the block with a line of three colons ':::'",
                )
            _refuse_block_ending_inside_code(issue, kind, index, line)
            open_block = (kind, index, line)
        elif token.type.startswith("container_") and token.type.endswith("_close"):
            if open_block is not None and token.level == 0:
                kind, start, start_line = open_block
                issue.blocks.append(Block(kind, start, index, start_line))
                open_block = None
        elif token.type == "html_block" and PAYWALL_ANYWHERE_RE.search(token.content):
            line = issue.line_of(token)
            if not PAYWALL_RE.match(token.content.strip()):
                raise IssueError(
                    "the paywall marker must stand on a line of its own",
                    path=path,
                    line=line,
                    hint="put '<!-- paywall -->' alone on its line, with blank lines around it",
                )
            if token.level != 0:
                where = "a ::: block" if open_block is not None else "a list or quote"
                raise IssueError(
                    f"paywall marker inside {where}",
                    path=path,
                    line=line,
                    hint="the paywall marker goes at the top level, outside any block",
                )
            if issue.paywall is not None:
                raise IssueError(
                    "a second paywall marker",
                    path=path,
                    line=line,
                    hint=f"an issue has one paywall; the first is on line {issue.paywall_line}",
                )
            issue.paywall = index


def _refuse_block_ending_inside_code(issue: Issue, kind: Variant, index: int, line: int) -> None:
    """The `:::` line that ends a block must not sit, as its author sees it, inside code or raw
    HTML the block holds: the container plugin ends a block at the first `:::` line whatever
    surrounds it, and the rest of the block would go to every reader.

    markdown-it itself tells where the code and HTML blocks of the block's content stand: the
    content and everything after it is parsed on its own, and the block's closing line must not
    fall inside one of them. The last line of an HTML block is no middle: `<div>...</div>` then
    `:::` reads as HTML running on to the next blank line, yet ends the block as meant.

    Only a block whose code or HTML runs right up to its closing line can end inside it, so
    only such a block is parsed again."""
    opened = issue.tokens[index]
    assert opened.map is not None
    first, closing = opened.map[0] + 1, opened.map[1]
    if not any(
        token.type in _SWALLOWERS
        and token.map is not None
        and token.map[1] == closing
        and not (token.type == "fence" and markdown.fence_is_closed(token))
        for token in _inside(issue.tokens, index)
    ):
        return
    rest = "\n".join(issue.source.split("\n")[first:])
    for token in markdown.parse_blocks(rest).tokens:
        if token.type not in _SWALLOWERS or token.map is None:
            continue
        start, end = token.map[0] + first, token.map[1] + first
        if token.type == "fence":
            inside = start < closing < (end - 1 if markdown.fence_is_closed(token) else end)
        else:
            inside = start <= closing < end - 1
        if inside:
            what = {"fence": "code block", "code_block": "indented code", "html_block": "HTML"}
            raise IssueError(
                f"the ':::' line that ends the '::: {kind}' block of line {line} "
                f"stands inside the {what[token.type]} that starts on line "
                f"{issue.line_of_body_line(start)}, so the block would end in the middle of it",
                path=issue.path,
                line=issue.line_of_body_line(closing),
                hint="close the code or HTML before the ':::' line; to show a ':::' line in "
                "code, open and close the block with four colons ('::::')",
            )


def _inside(tokens: list[Token], index: int) -> list[Token]:
    """The tokens between a container's open token at `index` and its close token."""
    depth, out = 0, []
    for token in tokens[index + 1 :]:
        if token.type.startswith("container_"):
            depth += token.nesting
            if depth < 0:
                break
        out.append(token)
    return out


def _premium_only_ranges(issue: Issue) -> list[tuple[int, int]]:
    """Body line ranges [start, end) free readers never get."""
    ranges = []
    for block in issue.blocks:
        span = issue.tokens[block.start].map
        if block.kind is Variant.PREMIUM and span:
            ranges.append((span[0], span[1] + 1))
    if issue.paywall is not None:
        span = issue.tokens[issue.paywall].map
        if span:
            ranges.append((span[0], 1 << 30))
    return ranges


def _check_swallowed_structure(
    issue: Issue, token: Token, premium_only: list[tuple[int, int]]
) -> None:
    """A paywall marker or `:::` line that Markdown reads as code or raw HTML would reach free
    readers as literal text, and everything after it with it: refuse the issue instead.

    A closed fenced code block may show a `:::` line anywhere, and the markers themselves where
    free readers never see it (below the paywall, in a `::: premium` block). In text free
    readers get, a code block that shows the paywall or a block opener cannot be told from one
    that swallowed them by a missing or misplaced fence, so it is refused too."""
    assert token.map is not None
    line = issue.line_of(token)
    closed = token.type == "fence" and markdown.fence_is_closed(token)
    if closed:
        if any(start <= token.map[0] < end for start, end in premium_only):
            return
        pattern = OPENER_LIKE_RE
    else:
        pattern = ANY_STRUCTURE_RE
    for offset, text in enumerate(token.content.split("\n")):
        if not pattern.match(text):
            continue
        if token.type == "html_block" and PAYWALL_ANYWHERE_RE.search(text):
            continue  # the paywall itself, or a marker sharing its HTML block (reported above)
        where = issue.line_of_body_line(_content_line(issue, token, offset))
        if token.type == "fence" and closed:
            message = (
                f"the code block of lines {line}-{issue.line_of_body_line(token.map[1] - 1)} "
                f"holds a paywall marker or block line (line {where}), in text free readers get"
            )
            hint = (
                "if a code fence is missing or misplaced, fix it; a code sample showing the "
                "marker goes below the paywall or in a '::: premium' block"
            )
            where = line
        elif token.type == "fence":
            message = f"the code block opened on line {line} is never closed"
            hint = f"it swallows line {where}; close it with a line of {token.markup}"
            where = line
        elif token.type == "code_block":
            message = "a paywall marker or ':::' line indented 4 spaces or more is code"
            hint = "write it at the start of the line"
        else:
            message = f"a paywall marker or ':::' line inside the HTML block of line {line}"
            hint = "end the HTML block first, and leave a blank line before the marker"
        raise IssueError(message, path=issue.path, line=where, hint=hint)


def _content_line(issue: Issue, token: Token, offset: int) -> int:
    """The body line of the `offset`-th content line of a code or HTML block."""
    assert token.map is not None
    first = token.map[0] + (1 if token.type == "fence" else 0)
    return min(first + offset, max(token.map[1] - 1, first))


def _check_inline_structure(issue: Issue, token: Token, line: int) -> None:
    if "<" not in token.content and ":::" not in token.content:
        return  # neither a paywall marker nor a ':::' line can be there (most paragraphs)
    for offset, text in enumerate(token.content.split("\n")):
        # `<!-- paywall -->` in code is fine; without a "<" no marker can be there at all
        if "<" in text and PAYWALL_ANYWHERE_RE.search(_CODE_SPAN_RE.sub("", text)):
            raise IssueError(
                "the paywall marker must stand on a line of its own",
                path=issue.path,
                line=line + offset,
                hint="put '<!-- paywall -->' alone on its line, with blank lines around it",
            )
        fence = FENCE_RE.match(text)
        if fence:
            name = fence.group(2)
            if not name:
                message, hint = "a ':::' line closes no block", "remove it, or open a block above"
            else:
                message = f"unknown block '::: {name}'"
                hint = "blocks are '::: premium' and '::: free'"
            raise IssueError(message, path=issue.path, line=line + offset, hint=hint)
