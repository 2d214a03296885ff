"""Reading an issue file and parsing it: text -> front matter + block tokens -> Issue."""

from __future__ import annotations

from pathlib import Path

from postcli import markdown
from postcli.errors import IssueError
from postcli.issues.front_matter import parse_front_matter, split_front_matter
from postcli.issues.structure import locate_structure
from postcli.issues.types import Issue


def read_text(path: Path) -> str:
    """The file as text; a non-UTF-8 byte is reported with its line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise IssueError("file not found", path=path) from exc
    except OSError as exc:
        raise IssueError(f"cannot read the file: {exc.strerror}", path=path) from exc
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
    return issue
