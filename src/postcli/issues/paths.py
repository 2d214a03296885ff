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
    import difflib

    from postcli import guards

    for there in (candidate, by_id):
        if there.exists():  # a FIFO, a device, a folder: say what it is, without reading it
            guards.read_regular_file(there, guards.MAX_ISSUE_BYTES)
    known = [p.stem for p in iter_issue_files(issues_dir) if guards.is_regular_file(p)]
    wanted = arg.removesuffix(".md").split("/")[-1]
    near = [k for k in known if wanted in k][:5]
    near = near or difflib.get_close_matches(wanted, known, n=5, cutoff=0.6) or known[-5:]
    hint = f"known issues: {', '.join(near)}" if near else f"no issues in {issues_dir} yet"
    raise IssueError(f"no issue '{arg}' (neither a file nor an id)", path=arg, hint=hint)


def iter_issue_files(issues_dir: Path) -> Iterator[Path]:
    if issues_dir.is_dir():
        yield from sorted(issues_dir.glob("*.md"))
