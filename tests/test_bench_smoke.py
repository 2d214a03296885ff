"""The benchmark harness runs against today's code: each benchmark, at its smallest sizes,
finishes and prints its figures.

Nothing here is timed and no figure is asserted (benchmarks report ratios in `make bench`, never
pass or fail a test). What this holds is that the harness keeps up with the code it measures:
it calls postcli's internals (the ledger, the SMTP session, the bulk transports), and a rename
there once left `bench.smtp_throughput` failing on its first message with no test to say so.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

RUNS = [
    ("bench.smtp_throughput --messages 20 --chunk 10", ["msg/s", "ratio"]),
    ("bench.bulk_throughput --recipients 20", ["postmark", "mailgun", "calls per 1,000"]),
    (
        "bench.smtp_parallel --recipients 40 --small 20 --bare 20 --connections 2 --sink minimal",
        ["ratio", "memory ratio"],
    ),
    (
        "bench --runs 1 --smtp-messages 0 --smtp-parallel-recipients 0 --preview-runs 0"
        " --bulk-recipients 0 --site-runs 0",
        ["postcli build, 2,500-word issue", "postcli --help", "render free+premium+text"],
    ),
]


@pytest.mark.parametrize(("command", "words"), RUNS, ids=[run[0].split()[0] for run in RUNS])
def test_each_benchmark_runs_and_prints_its_figures(command: str, words: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *command.split()],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src")])},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in done.stdout, done.stdout
