"""What the preview watches, and the thread that rebuilds when it changes.

Owns the list of files whose save must refresh the preview: the issue, postcli.toml and `.env`,
every template (the workspace's `templates/` and the built-in ones), and the images under
`assets/`. Watching uses watchfiles (inotify, FSEvents or ReadDirectoryChangesW underneath), one
folder at a time and not recursively, so a workspace that holds a virtualenv or a large build/
folder costs nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from postcli.preview.session import PreviewSession

log = logging.getLogger("postcli.preview")

# Group the writes of one save (editors write, rename and touch) but answer within a frame or
# two: watchfiles yields once nothing changed for STEP_MS, or after DEBOUNCE_MS at the latest.
STEP_MS = 30
DEBOUNCE_MS = 400


class WatchPlan:
    """The folders to watch and the test of whether a changed path matters."""

    def __init__(self, root: Path, issue_path: Path) -> None:
        from postcli.config import CONFIG_NAME
        from postcli.render.templates import BUILTIN_DIR

        self.root = root.resolve()
        self.issue_path = issue_path.resolve()
        self.config_files = {self.root / CONFIG_NAME, self.root / ".env"}
        self.template_dirs = {(self.root / "templates").resolve(), BUILTIN_DIR.resolve()}
        self.assets_dir = (self.root / "assets").resolve()
        # Folders that, once created, have to be watched too.
        self.future_dirs = {self.root / "templates", self.root / "assets"}

    def folders(self) -> list[Path]:
        wanted: list[Path] = [self.root, self.issue_path.parent, *sorted(self.template_dirs)]
        if self.assets_dir.is_dir():
            wanted.append(self.assets_dir)
            wanted.extend(
                p for p in sorted(self.assets_dir.rglob("*")) if p.is_dir() and not _hidden(p)
            )
        seen: dict[Path, None] = {}
        for folder in wanted:
            folder = folder.resolve()
            if folder.is_dir():
                seen.setdefault(folder, None)
        return list(seen)

    def is_template(self, path: Path) -> bool:
        return path.parent in self.template_dirs

    def matters(self, path: Path) -> bool:
        if _hidden(path) and path not in self.config_files:
            return False
        if path.name.endswith(("~", ".swp", ".swx", ".tmp")) or path.name == "4913":
            return False  # editors' backup and probe files
        return (
            path == self.issue_path
            or path in self.config_files
            or self.is_template(path)
            or path.is_relative_to(self.assets_dir)
        )

    def needs_new_folders(self, paths: Iterable[Path]) -> bool:
        """A new folder to watch appeared (templates/, assets/ or a folder inside assets/)."""
        return any(
            p.is_dir() and (p in self.future_dirs or p.is_relative_to(self.assets_dir))
            for p in paths
        )


def _hidden(path: Path) -> bool:
    return path.name.startswith(".") and path.name != ".env"


class Watcher(threading.Thread):
    """Rebuilds the session whenever a watched file changes, until `stop()`."""

    def __init__(self, session: PreviewSession, plan: WatchPlan) -> None:
        super().__init__(name="postcli-preview-watch", daemon=True)
        self.session = session
        self.plan = plan
        self.stop_event = threading.Event()
        self.ready = threading.Event()

    def stop(self) -> None:
        self.stop_event.set()

    def run(self) -> None:
        from watchfiles import watch

        self.session.check()  # the first build's findings
        while not self.stop_event.is_set():
            folders = self.plan.folders()
            log.debug("watching %s", ", ".join(str(f) for f in folders))
            for changes in watch(
                *folders,
                watch_filter=None,
                recursive=False,
                step=STEP_MS,
                debounce=DEBOUNCE_MS,
                rust_timeout=200,
                yield_on_timeout=True,  # an empty batch now and then: we are watching
                stop_event=self.stop_event,
                raise_interrupt=False,
            ):
                self.ready.set()
                paths = {Path(p).resolve() for _, p in changes}
                relevant = [p for p in paths if self.plan.matters(p)]
                regroup = self.plan.needs_new_folders(paths)
                if relevant:
                    log.debug("changed: %s", ", ".join(str(p) for p in relevant))
                    if any(self.plan.is_template(p) for p in relevant):
                        _forget_templates()
                    self.session.rebuild()
                    self.session.check()
                if regroup:
                    break  # watch again, with the new folder


def _forget_templates() -> None:
    """Drop the cached Jinja2 environment: it decides once which template folders exist."""
    from postcli.render import templates

    templates.environment.cache_clear()
