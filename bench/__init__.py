"""postcli's benchmarks: `python -m bench` (or `make bench`). Not part of the installed package."""

from __future__ import annotations

import subprocess
import sys


def start_sink(source: str) -> tuple[subprocess.Popen[str], int]:
    """Run a sink server's `source` in another Python process; return it and the port it listens
    on (the first line it prints). The caller terminates it."""
    process = subprocess.Popen(
        [sys.executable, "-c", source], stdout=subprocess.PIPE, text=True, bufsize=1
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())
