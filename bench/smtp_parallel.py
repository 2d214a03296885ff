"""Parallel SMTP at scale: `postcli send` to 100,000 generated subscribers over
`[providers.smtp] connections = 4`, against 4 bare smtplib connections (threads) sending the
same pre-built messages, to the same local sink, in the same run; and postcli's peak memory for
100,000 recipients against 10,000.

postcli runs as it does for a user: a child process, `postcli send ISSUE --yes`, in a generated
workspace whose subscribers file lists the recipients (every third premium), with a fresh
ledger. Its rate is the recipients over the child's wall time (start-up, render, checks,
reading the list and the ledger included). Its peak memory is the child's RSS high-water mark,
read with os.wait4. The baseline: 4 threads, each with its own smtplib.SMTP, taking messages
from one shared queue and sending them with send_message; the messages are postcli's own for
the first 2,000 subscribers of the same list, built beforehand (untimed) and sent round and
round, 20,000 messages by default (`--bare`; a steady rate needs no more, and at full size the
baseline alone would take as long again). It runs in two halves, before and after postcli's big
run, so a change of load on the machine hits both alike.

The sink is aiosmtpd in another process, with a handler that discards every message
(`--sink minimal` swaps in the bare asyncio sink of smtp_throughput.py). Goals: postcli's rate
at least 100 % of the bare loops'; peak memory for 100,000 at most 1.5x that for 10,000.

    python -m bench.smtp_parallel [--recipients 100000] [--small 10000] [--bare 20000]
                                  [--connections 4] [--sink aiosmtpd|minimal]

With the aiosmtpd sink every message is parsed by a pure-Python server, which on a small
machine is slower than either sender, so both show the sink's rate; `--sink minimal` (which
only reads to the final dot) measures the senders. `python -m bench` uses the minimal sink.
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ISSUE = "2026-12-01-china-ai-global"
RATE_GOAL = 1.00  # postcli's rate / the bare loops'
MEMORY_BAR = 1.5  # peak RSS at the big size / at the small one
POOL = 2_000  # distinct pre-built messages the baseline cycles through

SINK = r"""
import socket, sys, threading
from aiosmtpd.controller import Controller

class Discard:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 discarded"

probe = socket.socket()
probe.bind(("127.0.0.1", 0))
port = probe.getsockname()[1]
probe.close()
controller = Controller(Discard(), hostname="127.0.0.1", port=port, ident="sink")
controller.start()
print(port, flush=True)
threading.Event().wait()
"""


@dataclass
class Run:
    """One `postcli send` child."""

    recipients: int
    seconds: float
    peak_rss_kb: int

    @property
    def rate(self) -> float:
        return self.recipients / self.seconds


@dataclass
class Result:
    connections: int
    big: Run
    small: Run
    bare_messages: int
    bare_seconds: float
    sink: str
    load: tuple[float, float, float]

    @property
    def bare_rate(self) -> float:
        return self.bare_messages / self.bare_seconds

    @property
    def ratio(self) -> float:
        return self.big.rate / self.bare_rate

    @property
    def memory_ratio(self) -> float:
        return self.big.peak_rss_kb / self.small.peak_rss_kb


def sink_source(kind: str) -> str:
    if kind == "minimal":
        from bench.smtp_throughput import SINK as MINIMAL

        return MINIMAL
    return SINK


def subscribers_csv(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,tier\n")
        for i in range(count):
            out.write(f"reader{i}@letter.test,Reader {i},{'premium' if i % 3 == 0 else 'free'}\n")


def workspace(folder: Path, port: int, connections: int, recipients: int) -> Path:
    folder.mkdir(parents=True)
    for name in ("issues", "templates", "assets"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, folder / name)
    # init's example.com placeholders are errors for any provider but `file`.
    text = (REPO / "postcli.toml").read_text("utf-8").replace("example.com", "letter.test")
    text = text.replace('name = "file"', 'name = "smtp"')
    text += (
        f'\n[providers.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'subscribers = "subscribers.csv"\nrate = 0\nconnections = {connections}\n'
    )
    (folder / "postcli.toml").write_text(text, "utf-8")
    subscribers_csv(folder / "subscribers.csv", recipients)
    return folder


def run_postcli(root: Path, recipients: int) -> Run:
    command = [sys.executable, "-m", "postcli", "-C", str(root), "-q", "send", ISSUE, "--yes"]
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    began = time.perf_counter()
    child = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - began
    child.returncode = os.waitstatus_to_exitcode(status)
    errors = child.stderr.read() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"postcli send failed ({child.returncode}): {errors}")
    # ru_maxrss is in kilobytes on Linux.
    return Run(recipients, seconds, int(usage.ru_maxrss))


def prebuilt(root: Path) -> list[tuple[str, bytes | object]]:
    """postcli's own messages for the first POOL subscribers, built now (untimed)."""
    from postcli import config, mime
    from postcli.build import render
    from postcli.issues import Variant

    settings = config.load(root)
    newsletter = settings.newsletter
    emails = render(settings, ISSUE).emails
    template = newsletter.unsubscribe_url
    domain = mime.envelope_address(newsletter.from_).rpartition("@")[2]
    messages = []
    for i in range(POOL):
        recipient = f"reader{i}@letter.test"
        variant = Variant.PREMIUM if i % 3 == 0 else Variant.FREE
        email = emails[variant]
        messages.append(
            (
                recipient,
                mime.build_message(
                    mime.personalize(email, template, recipient),
                    sender=newsletter.from_,
                    to=f'"Reader {i}" <{recipient}>',
                    reply_to=newsletter.reply_to,
                    unsubscribe_url=mime.unsubscribe_link(template, recipient),
                    message_id=mime.message_id(ISSUE, variant.value, recipient, domain),
                ),
            )
        )
    return messages


def bare_loops(
    port: int, connections: int, messages: list[tuple[str, object]], count: int, sender: str
) -> float:
    """Seconds for `connections` threads to send `count` messages from the pool."""
    work: queue.Queue[int | None] = queue.Queue()
    for i in range(count):
        work.put(i)
    for _ in range(connections):
        work.put(None)
    clients = [
        smtplib.SMTP("127.0.0.1", port, local_hostname="bench.local") for _ in range(connections)
    ]
    for client in clients:
        client.ehlo()

    def loop(client: smtplib.SMTP) -> None:
        while (i := work.get()) is not None:
            recipient, message = messages[i % len(messages)]
            client.send_message(message, from_addr=sender, to_addrs=[recipient])  # type: ignore[arg-type]

    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    for client in clients:
        client.quit()
    return seconds


def run(
    recipients: int = 100_000,
    small: int = 10_000,
    connections: int = 4,
    sink: str = "aiosmtpd",
    bare_messages: int = 20_000,
) -> Result:
    from bench import start_sink
    from postcli import mime

    process, port = start_sink(sink_source(sink))
    scratch = Path(tempfile.mkdtemp(prefix="postcli-bench-parallel-"))
    try:
        small_root = workspace(scratch / "small", port, connections, small)
        big_root = workspace(scratch / "big", port, connections, recipients)
        messages = prebuilt(big_root)
        text = (big_root / "postcli.toml").read_text("utf-8")
        sender = mime.envelope_address(text.split('from = "', 1)[1].split('"', 1)[0])
        small_run = run_postcli(small_root, small)
        first = bare_messages // 2
        bare = bare_loops(port, connections, messages, first, sender)
        big_run = run_postcli(big_root, recipients)
        bare += bare_loops(port, connections, messages, bare_messages - first, sender)
        load = os.getloadavg()
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)
    return Result(connections, big_run, small_run, bare_messages, bare, sink, load)


def report(result: Result) -> str:
    load = ", ".join(f"{x:.1f}" for x in result.load)
    n = result.connections
    rate = "ok" if result.ratio >= RATE_GOAL else "BELOW THE GOAL"
    memory = "ok" if result.memory_ratio <= MEMORY_BAR else "ABOVE THE BAR"
    return "\n".join(
        [
            f"parallel SMTP, {n} connections, to a local {result.sink} sink "
            f"({os.cpu_count()} CPUs, load average {load}):",
            f"  postcli send, {result.big.recipients:,} subscribers    "
            f"{result.big.rate:8,.0f} msg/s  ({result.big.seconds:.1f} s wall)",
            f"  {n} bare smtplib loops, {result.bare_messages:,} of the same messages "
            f"{result.bare_rate:8,.0f} msg/s",
            f"  ratio {result.ratio:.1%} (goal {RATE_GOAL:.0%}): {rate}",
            f"  peak RSS, {result.big.recipients:,} recipients  "
            f"{result.big.peak_rss_kb / 1024:7.1f} MB",
            f"  peak RSS, {result.small.recipients:,} recipients   "
            f"{result.small.peak_rss_kb / 1024:7.1f} MB  ({result.small.rate:,.0f} msg/s)",
            f"  memory ratio {result.memory_ratio:.2f}x (bar {MEMORY_BAR}x): {memory}",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=100_000)
    parser.add_argument("--small", type=int, default=10_000, help="the memory comparison's size")
    parser.add_argument("--bare", type=int, default=20_000, help="the baseline's messages")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--sink", choices=("aiosmtpd", "minimal"), default="aiosmtpd")
    args = parser.parse_args(argv)
    result = run(args.recipients, args.small, args.connections, args.sink, args.bare)
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(REPO / "src"), str(REPO)]  # postcli, and bench for start_sink
    raise SystemExit(main())
