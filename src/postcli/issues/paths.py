"""Finding issue files: ISSUE as the command line gives it (a path or an id), and every issue of
a workspace. Reads no file's content."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from postcli.errors import IssueError


def resolve_issue_path(arg: str, issues_dir: Path) -> Path:
    """ISSUE is a path or an issue id; the message lists near names when neither exists."""
    candidate = Path(arg)
    if candidate.suffix == ".md" and candidate.is_file():
        return candidate
    by_id = issues_dir / f"{arg.removesuffix('.md')}.md"
    if by_id.is_file():
        return by_id
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in issues_dir.glob("*.md")) if issues_dir.is_dir() else []
    near = [k for k in known if arg.removesuffix(".md").split("/")[-1] in k][:5] or known[-5:]
    hint = f"known issues: {', '.join(near)}" if near else f"no issues in {issues_dir} yet"
    raise IssueError(f"no issue '{arg}' (neither a file nor an id)", path=arg, hint=hint)


def iter_issue_files(issues_dir: Path) -> Iterator[Path]:
    if issues_dir.is_dir():
        yield from sorted(issues_dir.glob("*.md"))
