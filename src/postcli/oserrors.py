"""Failures of the user's own files, as postcli errors that name the file.

A postcli.toml, template or build folder that cannot be read or written (permissions, a full
disk, a read-only mount), a `.env` that is not UTF-8, and a send ledger that is read-only or is
not a database at all are the user's to fix: each is one line naming the file and what to do,
exit 1 (docs/security.md), never an internal error.

A read-only ledger is an input problem (exit 1), not an outage: no retry by cron can fix it,
and nothing is sent while postcli cannot record what it sends.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

from postcli.errors import InputError, LedgerUnusable, PostcliError


def file_error(exc: OSError, *, path: Path | str | None = None) -> InputError:
    """An OSError about a file, as one line naming it."""
    where = path if path is not None else exc.filename
    what = exc.strerror or type(exc).__name__
    hint = None
    if exc.errno in (errno.EACCES, errno.EPERM):
        hint = "check the permissions of this file and of its folder"
    elif exc.errno == errno.EROFS:
        hint = "it is on a read-only file system"
    elif exc.errno == errno.ENOSPC:
        hint = "the disk is full"
    elif exc.errno in (errno.EISDIR, errno.ENOTDIR):
        hint = "a file and a folder are mixed up on this path"
    return InputError(f"cannot use this file: {what}", path=where, hint=hint)


def ledger_error(path: Path, exc: sqlite3.Error | OSError) -> PostcliError:
    """What a ledger that fails to open, read or write means for the user."""
    if isinstance(exc, OSError):
        return LedgerUnusable(
            f"cannot use the send ledger: {exc.strerror}",
            path=path,
            hint="postcli must be able to write .postcli/; check its permissions",
        )
    text = str(exc)
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return LedgerUnusable(
            "the send ledger is read-only",
            path=path,
            hint="postcli records every send before it makes it; make .postcli/ and the "
            "ledger writable by this user, then run again",
        )
    if isinstance(exc, sqlite3.DatabaseError) and (
        "not a database" in text or "malformed" in text or "corrupt" in text
    ):
        return LedgerUnusable(
            f"the send ledger is damaged ({text})",
            path=path,
            hint="restore it from a backup; moving it away makes postcli forget what was sent",
        )
    return LedgerUnusable(f"the send ledger failed: {text}", path=path)
