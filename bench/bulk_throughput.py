"""Bulk API throughput: postcli's Postmark and Mailgun batch paths against a bare httpx loop posting
the same pre-built batches to the same local sink, in the same run.

postcli's path, timed per batch: the ledger's 'sending' commit for the batch, the transport's
`deliver_batch` (personalising each message, or the recipient variables, the JSON or form body,
the call with its retry logic) and the ledger's commit of every recipient's answer, as
`postcli send` does. The baseline: the same request bodies, built beforehand (untimed), posted
by one httpx.Client. Both talk to the same sink, a minimal HTTP server in another process that
answers Postmark's one-result-per-message list or Mailgun's "Queued" without parsing the bodies,
so the client side is what is measured. The two alternate batch by batch, so load on the machine
hits both alike.

Figures: recipients per second for each, their ratio, and API calls per 1,000 recipients. There
is no bar on the ratio: the baseline skips building the bodies, which for Postmark (every message
carries the whole HTML) is most of the work; the ratio shows how much that is.

    python bench/bulk_throughput.py [--recipients 10000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ISSUE = "2026-12-01-china-ai-global"

SINK = r"""
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/email/batch":
            count = body.count(b'"MessageStream":')
            answer = json.dumps([{"ErrorCode": 0, "Message": "OK", "MessageID": str(i),
                                  "To": "x", "SubmittedAt": "2026-12-01T00:00:00Z"}
                                 for i in range(count)]).encode()
        else:
            answer = b'{"id": "<1@mg.example.com>", "message": "Queued. Thank you."}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


@dataclass
class Result:
    provider: str
    recipients: int
    postcli_seconds: float
    bare_seconds: float
    calls: int

    @property
    def postcli_rate(self) -> float:
        return self.recipients / self.postcli_seconds

    @property
    def bare_rate(self) -> float:
        return self.recipients / self.bare_seconds

    @property
    def ratio(self) -> float:
        return self.postcli_rate / self.bare_rate

    @property
    def calls_per_1000(self) -> float:
        return self.calls * 1000 / self.recipients


def _workspace(folder: Path, provider: str, port: int) -> Path:
    for name in ("postcli.toml",):
        shutil.copy2(REPO / name, folder / name)
    for name in ("issues", "templates", "assets"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, folder / name)
    table = {
        "postmark": 'message_stream = "broadcast"',
        "mailgun": 'domain = "mg.example.com"',
    }[provider]
    config = folder / "postcli.toml"
    text = config.read_text(encoding="utf-8").replace('name = "file"', f'name = "{provider}"')
    config.write_text(text, encoding="utf-8")
    with config.open("a", encoding="utf-8") as handle:
        handle.write(
            f'\n[providers.{provider}]\nbase_url = "http://127.0.0.1:{port}"\n{table}\n'
            'subscribers = "subscribers.csv"\n'
        )
    return folder


def run(provider: str, recipients: int = 10_000) -> Result:
    import os

    import httpx

    from bench import start_sink
    from postcli import config, mime, providers
    from postcli.build import render
    from postcli.issues import Variant
    from postcli.ledger import Ledger
    from postcli.providers._batch import Batch, Letter

    os.environ.setdefault("POSTMARK_SERVER_TOKEN", "bench-token")
    os.environ.setdefault("MAILGUN_API_KEY", "key-bench")
    process, port = start_sink(SINK)
    scratch = Path(tempfile.mkdtemp(prefix="postcli-bench-bulk-"))
    try:
        root = _workspace(scratch, provider, port)
        settings = config.load(root)
        newsletter = settings.newsletter
        email = render(settings, ISSUE).emails[Variant.PREMIUM]
        template = newsletter.unsubscribe_url
        domain = mime.envelope_address(newsletter.from_).rpartition("@")[2]
        adapter = providers.create(settings)
        ledger = Ledger.open(scratch / ".postcli")
        record = ledger.begin(ISSUE, "premium", provider, content_hash="bench")
        addresses = [f"reader{i}@example.com" for i in range(recipients)]
        ledger.add_recipients(record.id, [(a, "premium") for a in addresses])
        bare = httpx.Client(timeout=60)
        postcli_seconds = bare_seconds = 0.0
        with adapter.open_transport(ISSUE) as transport:  # type: ignore[attr-defined]
            capacity = getattr(transport, "capacity", None)
            size = transport.batch_size
            if callable(capacity):
                size = min(size, int(capacity(email)))

            def batch_of(chunk: list[str]) -> Batch:
                letters = [
                    Letter(
                        a,
                        "",
                        mime.message_id(ISSUE, "premium", a, domain),
                        mime.unsubscribe_link(template, a),
                    )
                    for a in chunk
                ]
                return Batch(
                    email,
                    letters,
                    newsletter.from_,
                    newsletter.reply_to,
                    template,
                    datetime.now(UTC),
                    "premium",
                )

            # What the baseline posts: the very request bodies postcli makes, captured once.
            captured: list[httpx.Request] = []

            def capture(request: httpx.Request) -> httpx.Response:
                request.read()
                captured.append(request)
                count = request.content.count(b'"MessageStream":')
                answer = (
                    b"[" + b",".join([b'{"ErrorCode":0,"Message":"OK"}'] * count) + b"]"
                    if provider == "postmark"
                    else b'{"id":"x","message":"Queued"}'
                )
                return httpx.Response(200, content=answer)

            recording = httpx.Client(transport=httpx.MockTransport(capture))
            probe = providers.create(settings, client=recording)
            with probe.open_transport(ISSUE) as recorder:  # type: ignore[attr-defined]
                chunks = [addresses[i : i + size] for i in range(0, recipients, size)]
                for chunk in chunks:
                    recorder.deliver_batch(batch_of(chunk))
            transport.deliver_batch(batch_of(addresses[:1]))  # warm-up: connection, imports
            calls_before = transport.calls
            for chunk, request in zip(chunks, captured, strict=True):
                began = time.perf_counter()
                bare.send(
                    httpx.Request(
                        request.method,
                        request.url,
                        headers=request.headers,
                        content=request.content,
                    )
                )
                bare_seconds += time.perf_counter() - began

                began = time.perf_counter()
                batch = batch_of(chunk)
                ledger.mark_sending_many(
                    record.id, [(one.email, one.message_id) for one in batch.letters]
                )
                answer = transport.deliver_batch(batch)
                ledger.mark_recipients(
                    record.id, [(o.email, o.status, o.error, False) for o in answer.outcomes]
                )
                postcli_seconds += time.perf_counter() - began
            calls = transport.calls - calls_before
        bare.close()
        ledger.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)
    return Result(provider, recipients, postcli_seconds, bare_seconds, calls)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    args = parser.parse_args(argv)
    for provider in ("postmark", "mailgun"):
        result = run(provider, args.recipients)
        print(f"{provider}, {result.recipients} recipients to a local sink:")
        print(f"  postcli (ledger + deliver_batch)   {result.postcli_rate:8.0f} recipients/s")
        print(f"  bare httpx, same bodies pre-built  {result.bare_rate:8.0f} recipients/s")
        print(f"  ratio {result.ratio:.1%}; {result.calls_per_1000:.1f} calls per 1,000")
    return 0


if __name__ == "__main__":
    sys.path[:0] = [str(REPO / "src"), str(REPO)]  # postcli, and bench for start_sink
    raise SystemExit(main())
