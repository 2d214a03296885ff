"""`python -m bench` (`make bench`): how fast postcli renders and starts, and how big it writes.

Prints one table. Each figure is the median of several runs, next to the bar it should stay
under; process timings come with `python -c pass` measured in the same run, so a ratio stays
meaningful on a slow or busy machine. Nothing here is a test: a missed bar is reported, not
failed (exit code 0 either way, unless --strict).

    python -m bench [--runs N] [--mjml-dir DIR] [--strict]

--mjml-dir names a folder holding node_modules/mjml (from `npm install mjml` there) for the
comparison with the Node MJML compiler; without it, ./node_modules and `npx --no-install mjml`
are tried, and the comparison is skipped if neither has it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench.generate import korean_issue, word_count

REPO = Path(__file__).resolve().parent.parent
SHORT_ID = "2026-12-01-bench-2500"
LONG_ID = "2026-12-01-bench-25000"


@dataclass
class Row:
    name: str
    value: float | None  # None: skipped
    unit: str
    bar: float | None = None
    note: str = ""
    at_least: bool = False  # the bar is a floor (a throughput), not a ceiling

    @property
    def status(self) -> str:
        if self.value is None:
            return "skipped"
        if self.bar is None:
            return ""
        within = self.value >= self.bar if self.at_least else self.value <= self.bar
        return "ok" if within else "MISSED"


@dataclass(frozen=True)
class Timing:
    wall: float  # median wall-clock ms
    cpu: float  # median CPU ms (user + system, of this process and the children it waited for)

    @property
    def note(self) -> str:
        return f"cpu {self.cpu:,.1f} ms"


def _cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def timed(action: Callable[[], object], runs: int, warmup: int = 3) -> Timing:
    """Median wall and CPU time of `action`. On a busy machine wall time grows while CPU time
    stays close to what an idle machine would show."""
    for _ in range(warmup):
        action()
    walls, cpus = [], []
    for _ in range(runs):
        cpu, start = _cpu_seconds(), time.perf_counter()
        action()
        walls.append((time.perf_counter() - start) * 1000)
        cpus.append((_cpu_seconds() - cpu) * 1000)
    return Timing(statistics.median(walls), statistics.median(cpus))


def make_workspace(folder: Path) -> Path:
    """The sample workspace's config, templates and assets, with the generated issues."""
    for name in ("postcli.toml",):
        shutil.copy2(REPO / name, folder / name)
    for name in ("templates", "assets"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, folder / name)
    issues = folder / "issues"
    issues.mkdir()
    (issues / f"{SHORT_ID}.md").write_text(korean_issue(2500, images=6, tables=2), encoding="utf-8")
    (issues / f"{LONG_ID}.md").write_text(
        korean_issue(25000, images=12, tables=10), encoding="utf-8"
    )
    return folder


# --- in-process rendering -----------------------------------------------------------------------


def bench_render(root: Path, runs: int) -> tuple[list[Row], str]:
    """Parse + render both variants (HTML and text) of each generated issue; also returns the
    premium MJML source of the short issue, for the compiler comparison."""
    from postcli import config
    from postcli.issues import Variant, load_issue
    from postcli.render import mjml, render_issue

    settings = config.load(root)
    rows = []
    for issue_id, bar in ((SHORT_ID, 25.0), (LONG_ID, 150.0)):
        path = settings.issues_dir / f"{issue_id}.md"
        words = word_count(path.read_text(encoding="utf-8"))

        def render(path: Path = path) -> object:
            return render_issue(load_issue(path), settings)

        took = timed(render, runs)
        rows.append(
            Row(f"render free+premium+text, {words:,} words", took.wall, "ms", bar, took.note)
        )

    captured: list[str] = []
    original = mjml.compile_mjml

    def capture(source: str, template: Path) -> str:
        captured.append(source)
        return original(source, template)

    mjml.compile_mjml = capture  # type: ignore[assignment]
    try:
        emails = render_issue(load_issue(settings.issues_dir / f"{SHORT_ID}.md"), settings)
    finally:
        mjml.compile_mjml = original  # type: ignore[assignment]
    premium = emails[Variant.PREMIUM]
    free = emails[Variant.FREE]
    rows.append(
        Row("premium HTML size, 2,500-word issue, 6 images", premium.html_bytes / 1000, "kB", 90.0)
    )
    rows.append(Row("free HTML size, same issue", free.html_bytes / 1000, "kB", None))
    rows.append(bench_contrast(root, runs))
    return rows, captured[-1]


def bench_clients(root: Path, runs: int) -> list[Row]:
    """The email-client report (`check --clients`, and plain check's client-support rule) on
    both variants of the ~2,500-word issue, rendered once beforehand."""
    from postcli import config
    from postcli.clients import analyze
    from postcli.clients.issue import issue_report
    from postcli.issues import load_issue
    from postcli.render import render_issue

    settings = config.load(root)
    issue = load_issue(settings.issues_dir / f"{SHORT_ID}.md")
    emails = render_issue(issue, settings)

    def report() -> object:
        analyze.hiding.cache_clear()  # cold: what one `postcli check` process pays
        analyze._inline_uses.cache_clear()
        return issue_report(issue, emails, settings)

    took = timed(report, runs)
    return [Row("client report, free+premium, 2,500 words", took.wall, "ms", 150.0, took.note)]


def bench_contrast(root: Path, runs: int) -> Row:
    """The contrast check (light and dark) of both variants, against rendering them: check and
    send run it on every email they judge."""
    from postcli import config
    from postcli.check import contrast
    from postcli.issues import load_issue
    from postcli.render import render_issue

    settings = config.load(root)
    path = settings.issues_dir / f"{SHORT_ID}.md"
    emails = render_issue(load_issue(path), settings)
    render = timed(lambda: render_issue(load_issue(path), settings), runs)
    check = timed(lambda: [contrast.problems(e.html) for e in emails.values()], runs)
    return Row(
        "contrast check of both variants, light+dark, 2,500 words",
        check.wall,
        "ms",
        None,
        f"cpu {check.cpu:,.1f} ms, {check.cpu / render.cpu:.1f}x rendering them (cpu "
        f"{render.cpu:,.1f} ms)",
    )


# --- whole processes ----------------------------------------------------------------------------


def postcli_command() -> list[str]:
    script = Path(sys.executable).parent / "postcli"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "postcli"]


def process_timing(command: list[str], runs: int, cwd: Path) -> Timing:
    def run() -> None:
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)

    return timed(run, runs, warmup=1)


def installed_environment(scratch: Path) -> dict[str, str]:
    """The environment of the timed processes: compiled modules kept under `scratch`, as an
    installed postcli has them (pip byte-compiles what it installs). Without this, under
    PYTHONDONTWRITEBYTECODE=1 and an editable install, every run would compile postcli's own
    modules again."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    return environment


def bench_processes(
    root: Path, runs: int, scratch: Path, node_cli: list[str] | None = None
) -> list[Row]:
    """Whole processes, interleaved round by round with the `python -c pass` baseline (and the
    Node `mjml` command on one file, when there is one), so that a busy moment slows them all
    alike and the ratios stay meaningful."""
    commands = {
        "baseline": [sys.executable, "-c", "pass"],
        "build": [*postcli_command(), "-C", str(root), "-q", "build", SHORT_ID],
        "help": [*postcli_command(), "--help"],
    }
    if node_cli:
        commands["node"] = node_cli
    environment = installed_environment(scratch)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for round_ in range(runs + 1):
        for name, command in commands.items():
            cpu, start = _cpu_seconds(), time.perf_counter()
            subprocess.run(command, cwd=root, check=True, capture_output=True, env=environment)
            if round_:  # the first round warms the file cache and compiles the modules
                walls[name].append((time.perf_counter() - start) * 1000)
                cpus[name].append((_cpu_seconds() - cpu) * 1000)
    t = {
        name: Timing(statistics.median(walls[name]), statistics.median(cpus[name]))
        for name in commands
    }
    base = t["baseline"]

    def note(name: str) -> str:
        return f"{t[name].wall / base.wall:.1f}x baseline, {t[name].note}"

    rows = [
        Row("python -c pass (baseline)", base.wall, "ms", note=base.note),
        Row("postcli build, 2,500-word issue", t["build"].wall, "ms", 500.0, note("build")),
        Row("postcli --help", t["help"].wall, "ms", 60.0, note("help")),
    ]
    if node_cli:
        # Round by round: each build against the Node run right after it.
        wall = statistics.median(b / n for b, n in zip(walls["build"], walls["node"], strict=True))
        cpu = statistics.median(b / n for b, n in zip(cpus["build"], cpus["node"], strict=True))
        rows.append(
            Row(
                "postcli build / Node mjml CLI on one file (wall)",
                wall,
                "x",
                0.4,
                f"cpu {cpu:.2f}x; Node mjml CLI {t['node'].wall:,.0f} ms, {t['node'].note}",
            )
        )
    return rows


# --- MJML: Rust (mjml-python) against Node ---------------------------------------------------

NODE_WARM = r"""
const path = require('path');
const fs = require('fs');
const mjml = require(path.join(process.argv[2], 'node_modules', 'mjml'));
const source = fs.readFileSync(process.argv[3], 'utf8');
const runs = parseInt(process.argv[4], 10);
(async () => {
  const once = async () => {
    const out = await Promise.resolve(mjml(source, { validationLevel: 'soft' }));
    if (!out.html) throw new Error('no html');
  };
  for (let i = 0; i < 3; i++) await once();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint();
    await once();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  times.sort((a, b) => a - b);
  const pkg = path.join(process.argv[2], 'node_modules', 'mjml', 'package.json');
  const version = require(pkg).version;
  console.log(JSON.stringify({ median: times[Math.floor(times.length / 2)], version }));
})().catch((e) => { console.error(String(e)); process.exit(1); });
"""

INSTALL_HINT = (
    "skipped: mjml (npm) not installed; to compare, run `npm install mjml` in a scratch folder "
    "and pass `--mjml-dir` that folder"
)


def find_node_mjml(explicit: str | None) -> Path | None:
    """A folder with node_modules/mjml and node_modules/.bin/mjml, or None."""
    candidates = [Path(explicit)] if explicit else []
    if os.environ.get("MJML_DIR"):
        candidates.append(Path(os.environ["MJML_DIR"]))
    candidates.append(Path.cwd())
    for folder in candidates:
        if (folder / "node_modules" / "mjml").is_dir() and (
            folder / "node_modules" / ".bin" / "mjml"
        ).exists():
            return folder.resolve()
    return None


def bench_mjml(
    source: str, runs: int, mjml_dir: str | None, scratch: Path
) -> tuple[list[Row], list[str] | None]:
    """The compilers on the premium MJML source; also returns the Node `mjml` command that
    compiles it as one file, for the side-by-side with `postcli build` (None without Node's)."""
    import mjml

    def compile_rust() -> object:
        return mjml.mjml2html(source, disable_comments=False, fonts={})

    rust = timed(compile_rust, runs)
    rust_ms = rust.wall
    rows = [Row("MJML compile, mjml-python (Rust), warm", rust_ms, "ms", note=rust.note)]
    folder = find_node_mjml(mjml_dir)
    node = shutil.which("node")
    if folder is None and node and shutil.which("npx"):
        probe = subprocess.run(
            ["npx", "--no-install", "mjml", "--version"], capture_output=True, text=True, timeout=60
        )
        if probe.returncode == 0:
            rows.append(
                Row(
                    "MJML compile, Node",
                    None,
                    "ms",
                    note="npx finds mjml, but pass --mjml-dir to time it",
                )
            )
            return rows, None
    if folder is None or node is None:
        rows.append(Row("MJML compile, Node mjml", None, "ms", note=INSTALL_HINT))
        return rows, None
    source_file = scratch / "email.mjml"
    source_file.write_text(source, encoding="utf-8")
    script = scratch / "warm.js"
    script.write_text(NODE_WARM, encoding="utf-8")
    done = subprocess.run(
        [node, str(script), str(folder), str(source_file), str(runs)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        rows.append(
            Row(
                "MJML compile, Node mjml, warm",
                None,
                "ms",
                note=f"failed: {done.stderr.strip()[:120]}",
            )
        )
        return rows, None
    result = json.loads(done.stdout.strip().splitlines()[-1])
    warm = float(result["median"])
    cli = folder / "node_modules" / ".bin" / "mjml"
    out = scratch / "email.html"
    cli_ms = process_timing(
        [str(cli), str(source_file), "-o", str(out)], max(3, runs // 3), scratch
    ).wall
    rows.append(
        Row(
            f"MJML compile, Node mjml {result['version']}, warm",
            warm,
            "ms",
            note=f"{warm / rust_ms:.0f}x mjml-python",
        )
    )
    rows.append(
        Row(
            "MJML compile, Node mjml CLI, one file",
            cli_ms,
            "ms",
            note=f"{cli_ms / rust_ms:.0f}x mjml-python",
        )
    )
    return rows, [str(cli), str(source_file), "-o", str(out)]


# --- the preview ------------------------------------------------------------------------------


def bench_preview(runs: int) -> list[Row]:
    """Save-to-repaint latency of `postcli preview` (bench/preview_latency.py)."""
    if not runs:
        return []
    from bench import preview_latency

    name = "preview save-to-repaint, Korean sample issue"
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        return [Row(name, None, "ms", note="skipped: no Chromium (Debian package `chromium`)")]
    try:
        latencies = preview_latency.measure(runs, chromium)
    except Exception as exc:  # a benchmark that cannot run is reported, not raised
        return [Row(name, None, "ms", note=f"failed: {str(exc)[:100]}")]
    return [Row(name, statistics.median(latencies), "ms", preview_latency.BAR_MS)]


# --- the web edition ------------------------------------------------------------------------------


def bench_site(runs: int) -> list[Row]:
    """`postcli site` on 500 generated issues, cold and after one edit (bench/site_build.py)."""
    if not runs:
        return []
    from bench import site_build

    f = site_build.run(500, runs)
    base = f"{{:.0f}}x baseline ({f.baseline_ms:.0f} ms)"
    return [
        Row(
            f"postcli site, {f.issues} issues, cold",
            f.cold_ms,
            "ms",
            site_build.COLD_BAR_MS,
            f"{base.format(f.cold_ms / f.baseline_ms)}, cpu {f.cold_cpu_ms:,.0f} ms",
        ),
        Row(
            f"postcli site, {f.issues} issues, one edited",
            f.rebuild_ms,
            "ms",
            site_build.REBUILD_BAR_MS,
            f"{base.format(f.rebuild_ms / f.baseline_ms)}, cpu {f.rebuild_cpu_ms:,.0f} ms, "
            f"{f.rendered_on_rebuild} page rendered",
        ),
    ]


# --- output -------------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    header = ("benchmark", "median", "bar", "status", "note")
    lines = []
    for row in rows:
        digits = 2 if row.unit == "x" else 1  # a ratio
        value = "-" if row.value is None else f"{row.value:,.{digits}f} {row.unit}"
        bar = "" if row.bar is None else f"{row.bar:,.{digits - 1}f} {row.unit}"
        lines.append((row.name, value, bar, row.status, row.note))
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(4)]
    out = []
    for number, line in enumerate([header, *lines]):
        cells = [
            str(line[i]).ljust(widths[i]) if i == 0 else str(line[i]).rjust(widths[i])
            for i in range(4)
        ]
        out.append("  ".join([*cells, line[4]]).rstrip())
        if number == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="timed runs per figure (default 20)")
    parser.add_argument("--mjml-dir", help="a folder where `npm install mjml` was run")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a bar is missed")
    parser.add_argument(
        "--smtp-messages", type=int, default=10_000, help="SMTP throughput run (0: skip)"
    )
    parser.add_argument(
        "--smtp-parallel-recipients",
        type=int,
        default=100_000,
        help="`postcli send` over 4 SMTP connections to this many subscribers (0: skip)",
    )
    parser.add_argument(
        "--smtp-parallel-small",
        type=int,
        default=10_000,
        help="the smaller list whose peak memory the big one is held to",
    )
    parser.add_argument(
        "--preview-runs", type=int, default=10, help="preview save-to-repaint runs (0: skip)"
    )
    parser.add_argument(
        "--bulk-recipients",
        type=int,
        default=10_000,
        help="Postmark and Mailgun batch throughput runs (0: skip)",
    )
    parser.add_argument(
        "--site-runs", type=int, default=3, help="`postcli site` on 500 issues, runs (0: skip)"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="postcli-bench-") as temp:
        scratch = Path(temp)
        (scratch / "newsletter").mkdir()
        root = make_workspace(scratch / "newsletter")
        rows, mjml_source = bench_render(root, args.runs)
        rows += bench_clients(root, args.runs)
        mjml_rows, node_cli = bench_mjml(mjml_source, args.runs, args.mjml_dir, scratch)
        rows += mjml_rows
        rows += bench_processes(root, max(5, args.runs // 2), scratch, node_cli)
        if args.smtp_messages:
            from bench import smtp_throughput

            smtp = smtp_throughput.run(args.smtp_messages)
            rows.append(
                Row(
                    f"SMTP send, postcli / bare smtplib, {smtp.messages:,} messages",
                    smtp.ratio * 100,
                    "%",
                    smtp_throughput.BAR * 100,
                    note=f"at least; {smtp.postcli_rate:,.0f} vs {smtp.bare_rate:,.0f} msg/s",
                    at_least=True,
                )
            )
        if args.smtp_parallel_recipients:
            from bench import smtp_parallel

            par = smtp_parallel.run(
                args.smtp_parallel_recipients, args.smtp_parallel_small, sink="minimal"
            )
            big, small = par.big, par.small
            rows.append(
                Row(
                    f"SMTP send, {par.connections} connections, postcli / {par.connections} "
                    f"bare smtplib loops, {big.recipients:,} subscribers",
                    par.ratio * 100,
                    "%",
                    smtp_parallel.RATE_GOAL * 100,
                    note=f"at least; {big.rate:,.0f} vs {par.bare_rate:,.0f} msg/s",
                    at_least=True,
                )
            )
            rows.append(
                Row(
                    f"SMTP send, peak RSS, {big.recipients:,} / {small.recipients:,} subscribers",
                    par.memory_ratio,
                    "x",
                    smtp_parallel.MEMORY_BAR,
                    note=f"{big.peak_rss_kb / 1024:,.0f} vs {small.peak_rss_kb / 1024:,.0f} MB RSS",
                )
            )
        if args.bulk_recipients:
            from bench import bulk_throughput

            for provider in ("postmark", "mailgun"):
                bulk = bulk_throughput.run(provider, args.bulk_recipients)
                rows.append(
                    Row(
                        f"{provider} batch send, {bulk.recipients:,} recipients",
                        bulk.postcli_rate,
                        "rcpt/s",
                        note=f"{bulk.calls_per_1000:.1f} calls per 1,000; "
                        f"{bulk.ratio:.0%} of bare httpx posting the same bodies pre-built",
                    )
                )
        rows += bench_preview(args.preview_runs)
        rows += bench_site(args.site_runs)

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    print(
        f"postcli benchmarks  (python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
        f"load average {load})\n"
    )
    print(table(rows))
    missed = [row.name for row in rows if row.status == "MISSED"]
    if missed:
        print(f"\nmissed: {', '.join(missed)}")
    return 1 if missed and args.strict else 0


if __name__ == "__main__":
    sys.exit(main())
