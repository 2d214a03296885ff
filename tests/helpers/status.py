"""`postcli status` after a send was cut off, the same for every per-recipient provider."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any


def assert_interrupted_is_no_problem(
    run: Callable[..., Any], issue_id: str
) -> list[dict[str, Any]]:
    """DESIGN section 3: `status` exits 1 on failed, overdue or stale only. A send cut off
    midway is `interrupted`, says what finishes it, and exits 0, on its own and beside every
    other issue of the workspace. `run(*args)` runs postcli in a process of its own. Returns
    the issue's rows."""
    whole = run("status")
    assert whole.returncode == 0, whole.stdout + whole.stderr
    assert "interrupted" in whole.stdout
    alone = run("status", issue_id, "--json")
    assert alone.returncode == 0, alone.stdout + alone.stderr
    rows: list[dict[str, Any]] = json.loads(alone.stdout)["sends"]
    cut = [r for r in rows if r["state"] == "interrupted"]
    assert cut and all(r["problem"] is False for r in cut), rows
    assert all("finish" in str(r["next"]) for r in cut), rows
    return rows
