"""What every test of bad input asserts: one `error: FILE:LINE: message` line (and maybe a hint),
the documented exit code, and no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def assert_user_error(
    result: Any, *, path: Path, line: int | None, words: str, code: int = 1
) -> None:
    """One `error: FILE:LINE: message` line (and maybe a hint), the right code, no traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    first = result.stderr.splitlines()[0]
    where = f"{path}:{line}: " if line else f"{path}: "
    assert first.startswith(f"error: {where}"), first
    assert words in first, first
    rest = result.stderr.splitlines()[1:]
    assert all(extra.startswith("  hint: ") for extra in rest), result.stderr
