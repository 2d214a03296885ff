"""The per-issue process lock beside the ledger: `fcntl.flock` on `.postcli/locks/<issue>.lock`.

The operating system releases it when its process dies, even by SIGKILL, so a killed send never
leaves an issue locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from postcli.errors import SendInProgress


@contextlib.contextmanager
def issue_lock(
    state_dir: Path,
    issue_id: str,
    *,
    wait: float = 3.0,
    poll: float = 0.05,
) -> Iterator[None]:
    """Hold the lock of one issue while sending it. Waits up to `wait` seconds for another
    process to let go, then raises SendInProgress. The operating system drops the lock when the
    holder dies, however it dies."""
    folder = state_dir / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{issue_id}.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SendInProgress(
                        f"another postcli process is sending {issue_id} right now",
                        path=path,
                        hint="let it finish, then see 'postcli status'; run again if it failed",
                    ) from None
                time.sleep(poll)
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def lock_held(state_dir: Path, issue_id: str) -> bool:
    """True while some process holds the lock of this issue (is sending it)."""
    path = state_dir / "locks" / f"{issue_id}.lock"
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops a lock this call took
    return False
