"""What the last build of a site folder made, kept in `.postcli/site/<name>.json` (with each
issue's feed content beside it), so the next build re-renders only what changed.

An issue is rendered again when its key changes: the hash of the issue file, of the site's
templates and of the settings the pages use, its date and state on the site, and the hashes of
the images it showed. The state is a cache: deleting it costs one full build, nothing else.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postcli.fs import write_atomic

STATE_VERSION = 2


def digest(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8") if isinstance(part, str) else part)
        h.update(b"\x00")
    return h.hexdigest()


@dataclass
class IssueRecord:
    key: str
    page_size: int
    images: list[str]  # workspace-relative paths of the local images the page shows
    findings: list[str]  # the free variant's error-level findings, as printed

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class SiteState:
    path: Path
    files: set[str] = field(default_factory=set)  # every file the build wrote under the folder
    summaries: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> file hash, summary
    issues: dict[str, IssueRecord] = field(default_factory=dict)
    pages: dict[str, list[Any]] = field(default_factory=dict)  # listing page -> [key, size]
    # source image -> [mtime_ns, size, and its PublishedImage's fields]: what its header and
    # hash said while the file had that time and size (no image is opened again for a rebuild)
    images: dict[str, list[Any]] = field(default_factory=dict)
    found: bool = False  # read from disk (else: first build, or the state was lost)

    @property
    def content_dir(self) -> Path:
        return self.path.with_suffix("")

    @classmethod
    def load(cls, state_dir: Path, out_dir: Path) -> SiteState:
        name = digest(str(out_dir.resolve()))[:16]
        path = state_dir / "site" / f"{name}.json"
        state = cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return state
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            return state
        with contextlib.suppress(KeyError, TypeError, ValueError):
            state.files = set(data["files"])
            state.summaries = dict(data["summaries"])
            state.issues = {k: IssueRecord(**v) for k, v in data["issues"].items()}
            state.pages = dict(data["pages"])
            state.images = dict(data.get("images", {}))
            state.found = True
        return state

    def content_path(self, issue_id: str) -> Path:
        """Where the issue's feed entry is kept (the build writes it with the page)."""
        return self.content_dir / f"{issue_id}.html"

    def content(self, issue_id: str) -> str | None:
        try:
            return self.content_path(issue_id).read_text(encoding="utf-8")
        except OSError:
            return None

    def has_content(self, issue_id: str) -> bool:
        return self.content_path(issue_id).is_file()

    def save(self) -> None:
        for stale in self.content_dir.glob("*.html") if self.content_dir.is_dir() else ():
            if stale.stem not in self.issues:
                stale.unlink(missing_ok=True)
        data = {
            "version": STATE_VERSION,
            "files": sorted(self.files),
            "summaries": self.summaries,
            "issues": {k: v.to_json() for k, v in sorted(self.issues.items())},
            "pages": self.pages,
            "images": dict(sorted(self.images.items())),
        }
        write_atomic(self.path, json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n")
