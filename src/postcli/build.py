"""Issue -> both variants -> build/<id>/: free.html, premium.html, free.txt, premium.txt, meta.json.

`build_issue` is the one build function that `postcli build` and `postcli preview` share. Files
are written atomically (a temporary file, then a rename), so a reader never sees half a file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from postcli.config import Settings
from postcli.fs import write_atomic
from postcli.issues import Issue, load_issue, resolve_issue_path
from postcli.model import Variant
from postcli.render import RenderedEmail, meta_json, render_issue
from postcli.render.body import UrlResolver


@dataclass(frozen=True)
class BuildResult:
    issue: Issue
    emails: dict[Variant, RenderedEmail]
    out_dir: Path | None
    files: tuple[Path, ...]


def load(settings: Settings, issue_arg: str | Path) -> Issue:
    """ISSUE as the command line gives it (a path or an id) -> parsed Issue."""
    return load_issue(resolve_issue_path(str(issue_arg), settings.issues_dir))


def render(
    settings: Settings, issue_arg: str | Path, *, resolve: UrlResolver | None = None
) -> BuildResult:
    """Parse and render, writing nothing."""
    issue = load(settings, issue_arg)
    return BuildResult(issue, render_issue(issue, settings, resolve=resolve), None, ())


def build_issue(
    settings: Settings,
    issue_arg: str | Path,
    *,
    out_dir: Path | None = None,
    resolve: UrlResolver | None = None,
) -> BuildResult:
    """Render every variant the issue's audience gets and write them to `out_dir`."""
    rendered = render(settings, issue_arg, resolve=resolve)
    issue, emails = rendered.issue, rendered.emails
    target = out_dir or settings.build_dir / issue.id
    target.mkdir(parents=True, exist_ok=True)
    files: list[Path] = []
    for variant, email in emails.items():
        files.append(write_atomic(target / f"{variant.value}.html", email.html))
        files.append(write_atomic(target / f"{variant.value}.txt", email.text))
    for variant in Variant:  # a variant the audience no longer gets must not linger
        if variant not in emails:
            for suffix in (".html", ".txt"):
                (target / f"{variant.value}{suffix}").unlink(missing_ok=True)
    files.append(write_atomic(target / "meta.json", meta_json(issue, emails)))
    return BuildResult(issue, emails, target, tuple(files))
