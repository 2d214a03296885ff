"""Writing site/: a file is written only when its bytes change (so a static host's sync uploads
only what changed), always atomically, and files of a previous build that this one did not
make are removed, so site/ mirrors the published set.

Only files postcli wrote are ever removed: the previous build's list comes from its state, or,
when that is lost, from a folder that holds postcli's own feed.xml; never anything else.
"""

from __future__ import annotations

import os
from pathlib import Path

from postcli.fs import write_atomic

GENERATOR_MARK = b"<generator>postcli</generator>"


class Output:
    """The files of one build under `root`, by path relative to it (POSIX separators)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.wanted: set[str] = set()
        self.written: list[str] = []
        self.unchanged = 0

    def put(self, relative: str, data: bytes | str) -> bool:
        """Write `data` unless the file already holds exactly it; True when written."""
        return self.record(relative, write_if_changed(self.root / relative, data))

    def record(self, relative: str, written: bool) -> bool:
        """A file of this build that `write_if_changed` wrote (True) or found as it is."""
        self.wanted.add(relative)
        if written:
            self.written.append(relative)
        else:
            self.unchanged += 1
        return written

    def keep(self, relative: str) -> None:
        """A file this build wants as the last one wrote it (an unchanged issue's page)."""
        self.wanted.add(relative)
        self.unchanged += 1

    def holds(self, relative: str, size: int) -> bool:
        """The file is there with the size it was written with."""
        try:
            return (self.root / relative).stat().st_size == size
        except OSError:
            return False

    def prune(self, previous: set[str]) -> list[str]:
        """Remove the previous build's files this one did not make; then empty folders."""
        removed = []
        for relative in sorted(previous - self.wanted):
            path = self.root / relative
            if path.is_file() or path.is_symlink():
                path.unlink()
                removed.append(relative)
                self._remove_empty_parents(path.parent)
        return removed

    def _remove_empty_parents(self, folder: Path) -> None:
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:
                return
            folder = folder.parent


def write_if_changed(path: Path, data: bytes | str) -> bool:
    """Write `data` to `path` (atomically) unless the file holds exactly it; True when written.
    Safe in a worker process: it touches that one file only."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    try:
        if path.stat().st_size == len(payload) and path.read_bytes() == payload:
            return False
    except OSError:
        pass
    write_atomic(path, payload)
    return True


def files_of_lost_build(root: Path) -> set[str]:
    """Without a state: every file of a folder that postcli built (its feed says so)."""
    feed = root / "feed.xml"
    try:
        if GENERATOR_MARK not in feed.read_bytes():
            return set()
    except OSError:
        return set()
    found = set()
    for folder, _dirs, names in os.walk(root):
        for name in names:
            found.add((Path(folder) / name).relative_to(root).as_posix())
    return found
