"""`postcli site` on 500 generated issues: a cold build, and a rebuild after editing one issue.

Both are timed as the whole command in a new process (what an editor waits for), round by
round with `python -c pass`, so the ratios to that baseline stay meaningful on a busy machine.
The issues come from bench/generate.py (Korean prose, two figures, a table, a paywall, about
800 words each) with distinct ids, dates, titles and tags; the sample workspace's config,
templates and images surround them.

The commands run with Python's bytecode cache, as an installed postcli does (pip compiles it
at install time): where PYTHONDONTWRITEBYTECODE is set, it is dropped for them and the cache
goes to a temporary folder (PYTHONPYCACHEPREFIX), filled once before the first timed run.

    python -m bench.site_build [--issues 500] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLD_BAR_MS = 10_000.0
REBUILD_BAR_MS = 1_000.0
TAGS = ("china", "open-weights", "models", "policy", "chips", "agents", "weekly", "research")


@dataclass(frozen=True)
class Figures:
    issues: int
    baseline_ms: float
    cold_ms: float
    rebuild_ms: float
    rendered_on_rebuild: int
    cold_cpu_ms: float  # user + system of the command and its worker processes
    rebuild_cpu_ms: float


def make_workspace(folder: Path, issues: int) -> list[Path]:
    from bench.generate import korean_issue

    shutil.copy2(REPO / "postcli.toml", folder / "postcli.toml")
    with (folder / "postcli.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[site]\nurl = "https://example.com/archive"\n')
    for name in ("templates", "assets"):
        shutil.copytree(REPO / name, folder / name)
    (folder / "issues").mkdir()
    template = korean_issue(800, images=2, tables=1)
    paths = []
    first = date(2017, 1, 2)
    for number in range(issues):
        day = first + timedelta(days=7 * number)
        tags = f"[{TAGS[number % len(TAGS)]}, {TAGS[(number * 3 + 1) % len(TAGS)]}]"
        text = (
            template.replace('send_at: "2026-12-01 09:00"', f'send_at: "{day} 09:00"')
            .replace("벤치마크: 중국 AI의 글로벌 확장 동향", f"벤치마크 {number + 1}호")
            .replace("tags: [bench]", f"tags: {tags}")
            .replace("## ", f"## {number + 1}호 ", 1)
        )
        path = folder / "issues" / f"{day}-bench-{number + 1:03d}.md"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _command(root: Path) -> list[str]:
    script = Path(sys.executable).parent / "postcli"
    base = [str(script)] if script.is_file() else [sys.executable, "-m", "postcli"]
    return [*base, "-C", str(root), "site"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def _environment(pycache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if "PYTHONDONTWRITEBYTECODE" in os.environ:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str, float]:
    """Wall milliseconds, what the command said on stderr, and its CPU milliseconds."""
    cpu, start = _children_cpu(), time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return (time.perf_counter() - start) * 1000, done.stderr, _children_cpu() - cpu


def _rendered(said: str) -> int:
    """How many pages a build rendered, from its summary line ('..., 1 rendered, ...')."""
    words = said.split()
    return int(words[words.index("rendered,") - 1]) if "rendered," in words else -1


def run(issues: int = 500, runs: int = 3) -> Figures:
    with (
        tempfile.TemporaryDirectory(prefix="postcli-site-bench-") as temp,
        tempfile.TemporaryDirectory(prefix="postcli-site-bench-pyc-") as pycache,
    ):
        root = Path(temp)
        paths = make_workspace(root, issues)
        command = _command(root)
        env = _environment(Path(pycache))
        warm = "import postcli.cli.root, postcli.site.build, postcli.check, postcli.render.body"
        subprocess.run([sys.executable, "-c", warm], env=env, check=True)
        baseline, cold, rebuild, cold_cpu, rebuild_cpu = [], [], [], [], []
        edited = paths[len(paths) // 2]
        original = edited.read_text(encoding="utf-8")
        rendered = 0
        for round_ in range(runs):
            baseline.append(_run([sys.executable, "-c", "pass"], root, env)[0])
            shutil.rmtree(root / "site", ignore_errors=True)
            shutil.rmtree(root / ".postcli" / "site", ignore_errors=True)
            took, _, cpu = _run(command, root, env)
            cold.append(took)
            cold_cpu.append(cpu)
            # One edit above the paywall: one page, the feed and the listings may change.
            edited.write_text(original.replace("## ", f"## 수정 {round_} ", 1), encoding="utf-8")
            took, said, cpu = _run(command, root, env)
            rebuild.append(took)
            rebuild_cpu.append(cpu)
            rendered = _rendered(said)
            edited.write_text(original, encoding="utf-8")
            rebuild.append(_run(command, root, env)[0])
        return Figures(
            issues,
            statistics.median(baseline),
            statistics.median(cold),
            statistics.median(rebuild),
            rendered,
            statistics.median(cold_cpu),
            statistics.median(rebuild_cpu),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--issues", type=int, default=500)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    figures = run(args.issues, args.runs)
    print(
        f"{figures.issues} issues: cold {figures.cold_ms:,.0f} ms "
        f"({figures.cold_ms / figures.baseline_ms:.0f}x baseline), rebuild after one edit "
        f"{figures.rebuild_ms:,.0f} ms ({figures.rebuild_ms / figures.baseline_ms:.0f}x), "
        f"baseline {figures.baseline_ms:.0f} ms; {figures.rendered_on_rebuild} page(s) rendered; "
        f"cpu {figures.cold_cpu_ms:,.0f} and {figures.rebuild_cpu_ms:,.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
