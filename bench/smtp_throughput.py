"""SMTP throughput: postcli's per-recipient path against a bare smtplib loop, same sink, same run.

postcli's path, timed per message: personalize() the rendered issue for the recipient,
build_message(), the ledger's 'sending' commit, SmtpSession.send() (which flattens the message
and runs the SMTP transaction) and the ledger's 'sent' commit, as `postcli send` does. The
baseline: the same messages, built beforehand (untimed), sent by smtplib.SMTP.send_message over
one connection. Both talk to the same local sink, a minimal asyncio SMTP server in another
process that accepts everything without parsing it, so the client side is what is measured.

The two run in alternating chunks of recipients, so that load on the machine hits both alike.
The ratio (postcli's messages per second / the baseline's) is the figure; the bar is 0.90.

    python bench/smtp_throughput.py [--messages 10000] [--chunk 250]
"""

from __future__ import annotations

import argparse
import shutil
import smtplib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ISSUE = "2026-12-01-china-ai-global"
BAR = 0.90

# A minimal SMTP sink: EHLO, MAIL, RCPT, DATA (read to the final dot), RSET, NOOP, QUIT.
SINK = r"""
import asyncio, sys

async def session(reader, writer):
    write = writer.write
    write(b"220 sink ESMTP\r\n")
    while True:
        line = await reader.readline()
        if not line:
            break
        verb = line[:4].upper()
        if verb == b"DATA":
            write(b"354 go ahead\r\n")
            await reader.readuntil(b"\r\n.\r\n")
            write(b"250 2.0.0 queued\r\n")
        elif verb in (b"EHLO", b"HELO"):
            write(b"250-sink\r\n250-8BITMIME\r\n250 SIZE 104857600\r\n")
        elif verb == b"QUIT":
            write(b"221 bye\r\n")
            break
        else:
            write(b"250 ok\r\n")
        await writer.drain()
    await writer.drain()
    writer.close()

async def main():
    server = await asyncio.start_server(session, "127.0.0.1", 0, limit=64 * 1024 * 1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()

asyncio.run(main())
"""


@dataclass
class Result:
    messages: int
    postcli_seconds: float
    bare_seconds: float

    @property
    def postcli_rate(self) -> float:
        return self.messages / self.postcli_seconds

    @property
    def bare_rate(self) -> float:
        return self.messages / self.bare_seconds

    @property
    def ratio(self) -> float:
        return self.postcli_rate / self.bare_rate


def run(messages: int = 10_000, chunk: int = 250) -> Result:
    from bench import start_sink
    from postcli import config
    from postcli.build import render
    from postcli.issues import Variant
    from postcli.mime import (
        build_message,
        envelope_address,
        message_id,
        personalize,
        unsubscribe_link,
    )
    from postcli.providers.smtp_session import SmtpSession

    settings = config.load(REPO)
    newsletter = settings.newsletter
    email = render(settings, ISSUE).emails[Variant.PREMIUM]
    template = newsletter.unsubscribe_url
    sender = envelope_address(newsletter.from_)
    domain = sender.rpartition("@")[2]

    def one(recipient: str):  # the per-recipient work postcli's smtp provider does
        own = personalize(email, template, recipient)
        return build_message(
            own,
            sender=newsletter.from_,
            to=recipient,
            reply_to=newsletter.reply_to,
            unsubscribe_url=unsubscribe_link(template, recipient),
            message_id=message_id(email.issue_id, email.variant, recipient, domain),
            list_id=f"{newsletter.name} <brief.{domain}>",
        )

    import tempfile

    from postcli.ledger import Ledger

    state = Path(tempfile.mkdtemp(prefix="postcli-bench-"))
    ledger = Ledger.open(state)
    record = ledger.begin(ISSUE, "premium", "smtp", content_hash="bench", campaign_name=None)
    ledger.add_recipients(
        record.id, [(f"reader{i}@example.com", "premium") for i in range(messages)]
    )

    process, port = start_sink(SINK)
    postcli_seconds = bare_seconds = 0.0
    try:
        session = SmtpSession(
            host="127.0.0.1",
            port=port,
            security="none",
            username=None,
            password=None,
            local_hostname="bench.local",
        )
        bare = smtplib.SMTP("127.0.0.1", port, local_hostname="bench.local")
        bare.ehlo()
        with session:
            one("warm-up@example.com")
            for start in range(0, messages, chunk):
                recipients = [
                    f"reader{i}@example.com" for i in range(start, min(start + chunk, messages))
                ]
                prebuilt = [(r, one(r)) for r in recipients]  # the baseline's, untimed

                began = time.perf_counter()
                for recipient, message in prebuilt:
                    bare.send_message(message, from_addr=sender, to_addrs=[recipient])
                bare_seconds += time.perf_counter() - began
                del prebuilt

                began = time.perf_counter()
                for recipient in recipients:
                    message = one(recipient)
                    ledger.mark_sending(record.id, recipient, message["Message-ID"])
                    session.send(message, sender=sender, recipient=recipient)
                    ledger.mark_sent(record.id, recipient)
                postcli_seconds += time.perf_counter() - began
        bare.quit()
    finally:
        process.terminate()
        process.wait(timeout=10)
        ledger.close()
        shutil.rmtree(state, ignore_errors=True)
    return Result(messages, postcli_seconds, bare_seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=250)
    args = parser.parse_args(argv)
    result = run(args.messages, args.chunk)
    print(f"smtp throughput, {result.messages} personalised messages to a local sink:")
    for label, rate in (
        ("postcli: personalize, build, ledger, SmtpSession.send", result.postcli_rate),
        ("bare smtplib: send_message of the same messages, pre-built", result.bare_rate),
    ):
        print(f"  {label:<60} {rate:6.0f} msg/s")
    verdict = "ok" if result.ratio >= BAR else "BELOW THE BAR"
    print(f"  ratio {result.ratio:.1%} (bar {BAR:.0%}): {verdict}")
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(REPO / "src"), str(REPO)]  # postcli, and bench for start_sink
    raise SystemExit(main())
