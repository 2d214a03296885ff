"""Reading an issue file and parsing it: text -> front matter + block tokens -> Issue."""

from __future__ import annotations

from pathlib import Path

from postcli import guards, markdown
from postcli.controls import HINT as CONTROL_HINT
from postcli.controls import first_control
from postcli.errors import IssueError
from postcli.issues.front_matter import parse_front_matter, split_front_matter
from postcli.issues.structure import locate_structure
from postcli.issues.types import Issue


def read_text(path: Path) -> str:
    """The file as text; a non-UTF-8 byte is reported with its line."""
    # Regular files only (never a FIFO or /dev/zero), and not larger than any issue can be.
    data = guards.read_regular_file(path, guards.MAX_ISSUE_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise IssueError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
            path=path,
            line=line,
            hint="save the file as UTF-8",
        ) from exc
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def load_issue(path: Path) -> Issue:
    """Read and parse an issue file; raises IssueError naming file and line."""
    return parse_issue(read_text(path), path)


def parse_issue(text: str, path: Path) -> Issue:
    if not path.stem.strip("."):  # '...md': build/<id>/ and outbox/<id>/ would leave their folder
        raise IssueError(
            f"'{path.name}' gives no issue id", path=path, hint="name the file YYYY-MM-DD-slug.md"
        )
    _refuse_controls(text, path)
    front_text, body, body_line = split_front_matter(text, path)
    front = parse_front_matter(front_text, path)
    blocks = markdown.parse_blocks(body)
    issue = Issue(
        id=path.stem,
        path=path,
        front=front,
        source=body,
        body_line=body_line,
        tokens=blocks.tokens,
        env=blocks.env,
        paywall=None,
        blocks=[],
    )
    locate_structure(issue)
    guards.check_source_html(body, path, body_line)  # before the native inliner sees it
    return issue


def _refuse_controls(text: str, path: Path) -> None:
    """A control character anywhere in the file, at its own line (before YAML or MJML see it)."""
    found = first_control(text)
    if found is not None:
        raise IssueError(found.message, path=path, line=found.line, hint=CONTROL_HINT)
