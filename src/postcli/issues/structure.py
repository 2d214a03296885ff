"""The body's structure: where the paywall marker and the `::: premium` / `::: free` blocks
stand in the block token stream, and every message about a misplaced or malformed one.
"""

from __future__ import annotations

import re

from postcli.errors import IssueError
from postcli.issues.types import Block, Issue
from postcli.markdown import Token
from postcli.model import Variant

PAYWALL_RE = re.compile(r"^<!--\s*(paywall|members-only)\s*-->$", re.IGNORECASE)
PAYWALL_ANYWHERE_RE = re.compile(r"<!--\s*(paywall|members-only)\s*-->", re.IGNORECASE)
_FENCE_RE = re.compile(r"^\s{0,3}(:{3,})\s*(\S*)")


def locate_structure(issue: Issue) -> None:
    """Find the paywall marker and the blocks; reject misplaced or malformed ones."""
    tokens, path = issue.tokens, issue.path
    body_lines = issue.source.split("\n")
    open_block: tuple[Variant, int, int] | None = None

    for index, token in enumerate(tokens):
        line = issue.line_of(token)
        if token.type.startswith("container_") and token.type.endswith("_open"):
            kind = Variant(token.type.removeprefix("container_").removesuffix("_open"))
            if token.level != 0 or open_block is not None:
                raise IssueError(
                    f"'::: {kind}' block inside another block",
                    path=path,
                    line=line,
                    hint="::: premium and ::: free blocks go at the top level and do not nest",
                )
            assert token.map is not None
            # The plugin closes an unclosed block at the end of the document; map[1] is the
            # line of the closing fence, if there is one.
            closing = body_lines[token.map[1]] if token.map[1] < len(body_lines) else ""
            if not re.fullmatch(r"\s{0,3}:{3,}\s*", closing):
                raise IssueError(
                    f"'::: {kind}' block is never closed",
                    path=path,
                    line=line,
                    hint="end the block with a line of three colons ':::'",
                )
            open_block = (kind, index, line)
        elif token.type.startswith("container_") and token.type.endswith("_close"):
            if open_block is not None and token.level == 0:
                kind, start, start_line = open_block
                issue.blocks.append(Block(kind, start, index, start_line))
                open_block = None
        elif token.type == "html_block" and PAYWALL_ANYWHERE_RE.search(token.content):
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
        elif token.type == "inline":
            _check_inline_structure(issue, token, line)
        if token.type in ("html_block", "code_block", "fence"):
            _check_swallowed_structure(issue, token, line, body_lines)


_CODE_SPAN_RE = re.compile(r"(`+).+?\1")
_STRUCTURE_RE = re.compile(
    r"^\s*(:{3,}\s*(premium|free)?\s*|<!--\s*(paywall|members-only)\s*-->)$", re.IGNORECASE
)


def _check_swallowed_structure(
    issue: Issue, token: Token, line: int, body_lines: list[str]
) -> None:
    """A paywall marker or `:::` fence that Markdown reads as code or raw HTML would reach free
    readers as literal text, and everything after it with it: refuse the issue instead.

    A closed fenced code block may show the syntax; an unclosed one runs to the end of the
    issue, which is never what its author meant."""
    assert token.map is not None
    if token.type == "fence":
        last = body_lines[token.map[1] - 1] if token.map[1] - 1 < len(body_lines) else ""
        fence_char = token.markup[:1]
        closed = token.map[1] - token.map[0] >= 2 and re.fullmatch(
            rf"[\s>]*{re.escape(fence_char)}{{{len(token.markup)},}}\s*", last
        )
        if closed:
            return
    for offset, text in enumerate(token.content.split("\n")):
        if not _STRUCTURE_RE.match(text):
            continue
        if token.type == "html_block" and PAYWALL_ANYWHERE_RE.search(text):
            continue  # the paywall itself, or a marker sharing its HTML block (reported above)
        where = issue.line_of_body_line(_content_line(token, offset, body_lines))
        if token.type == "fence":
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


def _content_line(token: Token, offset: int, body_lines: list[str]) -> int:
    """The body line of the `offset`-th content line of a code or HTML block."""
    assert token.map is not None
    first = token.map[0] + (1 if token.type == "fence" else 0)
    return min(first + offset, max(len(body_lines) - 1, 0))


def _check_inline_structure(issue: Issue, token: Token, line: int) -> None:
    for offset, text in enumerate(token.content.split("\n")):
        if PAYWALL_ANYWHERE_RE.search(_CODE_SPAN_RE.sub("", text)):  # `<!-- paywall -->` is fine
            raise IssueError(
                "the paywall marker must stand on a line of its own",
                path=issue.path,
                line=line + offset,
                hint="put '<!-- paywall -->' alone on its line, with blank lines around it",
            )
        fence = _FENCE_RE.match(text)
        if fence:
            name = fence.group(2)
            if not name:
                message, hint = "a ':::' line closes no block", "remove it, or open a block above"
            else:
                message = f"unknown block '::: {name}'"
                hint = "blocks are '::: premium' and '::: free'"
            raise IssueError(message, path=issue.path, line=line + offset, hint=hint)
