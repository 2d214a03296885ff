"""Writing files so that a reader never sees half of one: the build output and the outbox.

At the bottom of the package, beside config and errors: build and the file provider both use
it, and neither may import the other.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _read_umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it; done once, at import
    os.umask(mask)
    return mask


# New files get the permissions the user's umask gives (mkstemp alone would give 0600).
FILE_MODE = 0o666 & ~_read_umask()


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write `data` (text is UTF-8 with LF line ends) to a temporary file, then rename it over
    `path`; the folder is made if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
