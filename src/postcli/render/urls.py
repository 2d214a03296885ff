"""URLs in an issue: which are absolute, which workspace file a relative one names, and what
each becomes in a sent email (assets_url for images and assets, the site for pages).

`workspace_file` is the one lookup of local files: the renderer, `postcli check` and the
preview's file server all use it, so all refuse the same files.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

from postcli.config import Settings
from postcli.issues import Issue
from postcli.render.body import UrlResolver

_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


def is_absolute_url(url: str) -> bool:
    return bool(_SCHEME_RE.match(url)) or url.startswith("//")


# While a `remembering_files()` block runs (a site build, which looks the same few images up
# for hundreds of issues), each answer of `workspace_file`; None otherwise: no long-running
# caller (the preview) ever gets an answer the file system has since changed.
_REMEMBERED: dict[tuple[Path, Path, str], Path | None] | None = None


@contextmanager
def remembering_files() -> Iterator[None]:
    global _REMEMBERED
    outer, _REMEMBERED = _REMEMBERED, {} if _REMEMBERED is None else _REMEMBERED
    try:
        yield
    finally:
        _REMEMBERED = outer


def workspace_file(root: Path, issue_dir: Path, url: str) -> Path | None:
    """The workspace file a relative URL names (relative to the issue, then the root).

    A root-relative URL (`/logo.png`) is looked up from the workspace root. Nothing outside the
    workspace is ever returned, nor a hidden file or anything under a hidden folder (`.env`
    holds secrets, `.postcli/` the ledger): the preview serves what this finds."""
    if _REMEMBERED is None:
        return _workspace_file(root, issue_dir, url)
    key = (root, issue_dir, url)
    if key not in _REMEMBERED:
        _REMEMBERED[key] = _workspace_file(root, issue_dir, url)
    return _REMEMBERED[key]


def _workspace_file(root: Path, issue_dir: Path, url: str) -> Path | None:
    path = unquote(urlsplit(url).path)  # the Markdown parser percent-encodes spaces, Hangul
    if not path:
        return None
    root = root.resolve()
    bases = (root,) if path.startswith("/") else (issue_dir, root)
    for base in bases:
        candidate = (base / path.lstrip("/")).resolve()
        if (
            candidate.is_file()
            and candidate.is_relative_to(root)
            and not any(part.startswith(".") for part in candidate.relative_to(root).parts)
        ):
            return candidate
    return None


def local_file(issue: Issue, settings: Settings, url: str) -> Path | None:
    """The workspace file a relative URL in `issue` names, or None (see `workspace_file`)."""
    return workspace_file(settings.root, issue.path.parent, url)


def make_resolver(issue: Issue, settings: Settings) -> UrlResolver:
    """Relative image and asset URLs -> `assets_url`; other relative links -> the site URL.

    A URL that cannot be resolved stays as written; `postcli check` reports it. Each answer is
    kept: the HTML and the plain text of every variant ask for the same URLs, and each lookup
    of a local file asks the file system about every folder on its path.
    """
    assets_url = settings.newsletter.assets_url
    site_url = settings.newsletter.url
    assets_dir = settings.assets_dir.resolve()
    answers: dict[tuple[str, str], str] = {}

    def resolve(kind: str, url: str) -> str:
        if not url or is_absolute_url(url) or url.startswith("#"):
            return url
        answer = answers.get((kind, url))
        if answer is None:
            answer = answers[kind, url] = look_up(kind, url)
        return answer

    def look_up(kind: str, url: str) -> str:
        found = local_file(issue, settings, url)
        if found is not None and kind == "img" and not assets_url and settings.site.url:
            from postcli.render.webassets import email_image_url  # the web edition hosts it

            return email_image_url(issue, settings, found) or url
        if found is not None and assets_url and found.is_relative_to(assets_dir):
            relative = quote(found.relative_to(assets_dir).as_posix())
            return urljoin(assets_url if assets_url.endswith("/") else assets_url + "/", relative)
        if kind == "a" and site_url and found is None:
            return urljoin(
                site_url if site_url.endswith("/") else site_url + "/", posixpath.normpath(url)
            )
        return url

    return resolve
