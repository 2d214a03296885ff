"""A real SMTP server on 127.0.0.1 for tests (aiosmtpd in a thread), with faults on demand.

    from smtp_server import SmtpTestServer

    with SmtpTestServer(starttls=True, auth=("me", "secret"), refuse={"bad@example.com"}) as srv:
        ... send to srv.host:srv.port, trusting srv.client_context() (or srv.ca_path) ...
        assert srv.count_by_recipient() == {"a@example.com": 1}

Modes: plain (default), `starttls=True`, `tls=True` (implicit TLS), each with a certificate for
127.0.0.1 and localhost signed by a throw-away CA made at test time (trustme). `auth=(user,
password)` requires AUTH PLAIN/LOGIN before MAIL. Faults: `refuse` (550 at RCPT), `tempfail`
(451 at RCPT), `refuse_sender` (553 at MAIL), `reject_data` (554 after DATA for messages to
these recipients), `fail_421_at=N` (421 instead of 250 for the Nth message, then the server hangs
up), `drop_after=N` (hang up right after the 250 for the Nth message), `drop_before_reply_at=N`
(keep the Nth message but hang up before its 250: the sender cannot know it arrived),
`drop_in_data_at=N` (hang up in the middle of the Nth DATA, keeping nothing), `throttle_at=N`
(answer the Nth DATA with SES's "454 Throttling failure", keeping nothing),
`refuse_connections=K` (answer MAIL on the Kth connection with 421 and hang up), `delay`
(seconds before every reply), `echo_credentials` (a failed AUTH is answered with a 535 quoting
the base64 the client sent, as some servers do), `auth_mechanisms` (offer only these, e.g.
{"PLAIN"}). "The Nth message" counts every DATA the server got, from 1; the
numbered faults take one number or several (a set, a range). Everything received is recorded,
thread-safely, in `messages`; `connections` counts the client connections, and
`max_concurrent` the most that were open at once.

The fixtures `smtp_server` (plain, no faults) and `smtp_server_factory` (any options) live here
too: import them into a test module to use them.

Run it by hand with `python tests/smtp_server.py [--port 2525]` to watch postcli send.
"""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import socket
import ssl
import threading
from collections import Counter
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session


@dataclass(frozen=True)
class Received:
    """One message as the server got it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    connection: int  # which connection (1, 2, ...) carried it
    authenticated_as: str | None = None

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str | None:
        value = self.message["Message-ID"]
        return str(value).strip() if value is not None else None


@cache
def _certificates() -> tuple[Any, Any]:
    """One throw-away CA and a server certificate for the loopback names, per test run."""
    import trustme

    ca = trustme.CA()
    return ca, ca.issue_cert("127.0.0.1", "localhost", "::1")


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class _Faults:
    refuse: frozenset[str]
    refuse_sender: frozenset[str]
    reject_data: frozenset[str]
    tempfail: frozenset[str]
    fail_421_at: frozenset[int]
    drop_after: frozenset[int]
    drop_before_reply_at: frozenset[int]
    drop_in_data_at: frozenset[int]
    throttle_at: frozenset[int]
    refuse_connections: frozenset[int]
    delay: float


def _numbers(value: int | Collection[int] | None) -> frozenset[int]:
    if value is None:
        return frozenset()
    if isinstance(value, int):
        return frozenset({value})
    return frozenset(value)


@dataclass
class _Handler:
    """aiosmtpd's handler: records messages and injects the faults."""

    server: SmtpTestServer
    faults: _Faults
    attempts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def _pause(self) -> None:
        if self.faults.delay:
            await asyncio.sleep(self.faults.delay)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        await self._pause()
        if getattr(server, "connection_number", 0) in self.faults.refuse_connections:
            transport = server.transport
            assert transport is not None
            asyncio.get_running_loop().call_soon(transport.close)  # after the reply is out
            return "421 4.7.0 too many connections from your host, try again later"
        if self.server.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        if address.lower() in self.faults.refuse_sender:
            return f"553 5.7.1 <{address}>: sender address rejected"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        await self._pause()
        if address.lower() in self.faults.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        if address.lower() in self.faults.tempfail:
            return f"451 4.7.1 <{address}>: greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await self._pause()
        with self.lock:
            self.attempts += 1
            number = self.attempts
        transport = server.transport
        if number in self.faults.fail_421_at:
            assert transport is not None
            asyncio.get_running_loop().call_soon(transport.close)  # after the reply is out
            return "421 4.3.2 service shutting down, try again later"
        if number in self.faults.throttle_at:
            return "454 4.7.0 Throttling failure: Maximum sending rate exceeded."
        if number in self.faults.drop_in_data_at:
            assert transport is not None
            transport.abort()  # gone in the middle of the message: nothing kept, no reply
            return "250 2.0.0 never heard"
        if any(r.lower() in self.faults.reject_data for r in envelope.rcpt_tos):
            return "554 5.7.1 message rejected as spam"
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
        login = session.auth_data.login if isinstance(session.auth_data, LoginPassword) else None
        self.server._record(
            Received(
                mail_from=str(envelope.mail_from),
                rcpt_tos=tuple(envelope.rcpt_tos),
                raw=raw,
                connection=getattr(server, "connection_number", 0),
                authenticated_as=login.decode() if isinstance(login, bytes) else None,
            )
        )
        if number in self.faults.drop_before_reply_at:
            assert transport is not None
            transport.abort()  # kept, but the sender never hears the 250
        elif number in self.faults.drop_after:
            assert transport is not None
            asyncio.get_running_loop().call_soon(transport.close)
        return "250 2.0.0 OK queued"


class _CountingSMTP(SMTP):
    """aiosmtpd's SMTP that numbers its connections."""

    def __init__(self, owner: SmtpTestServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner
        self.connection_number = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if not self.connection_number:  # STARTTLS calls this again for the same connection
            self.connection_number = self._owner._connected()

    def connection_lost(self, error: Exception | None) -> None:
        self._owner._disconnected(self.connection_number)
        super().connection_lost(error)


class _Controller(Controller):
    def __init__(self, owner: SmtpTestServer, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._owner = owner

    def factory(self) -> SMTP:
        return _CountingSMTP(self._owner, self.handler, **self.SMTP_kwargs)


class SmtpTestServer:
    """A local SMTP server for one test: start with `with` (or start()/stop())."""

    def __init__(
        self,
        *,
        tls: bool = False,
        starttls: bool = False,
        auth: tuple[str, str] | None = None,
        auth_require_tls: bool | None = None,
        refuse: Collection[str] = (),
        refuse_sender: Collection[str] = (),
        reject_data: Collection[str] = (),
        tempfail: Collection[str] = (),
        fail_421_at: int | Collection[int] | None = None,
        drop_after: int | Collection[int] | None = None,
        drop_before_reply_at: int | Collection[int] | None = None,
        drop_in_data_at: int | Collection[int] | None = None,
        throttle_at: int | Collection[int] | None = None,
        refuse_connections: int | Collection[int] | None = None,
        delay: float = 0.0,
        echo_credentials: bool = False,
        auth_mechanisms: Collection[str] | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
    ) -> None:
        if tls and starttls:
            raise ValueError("choose tls (implicit) or starttls, not both")
        self.tls, self.starttls, self.auth = tls, starttls, auth
        self.echo_credentials = echo_credentials
        self.auth_mechanisms = auth_mechanisms
        self.host = host
        self.port = port or 0
        self.faults = _Faults(
            refuse=frozenset(a.lower() for a in refuse),
            refuse_sender=frozenset(a.lower() for a in refuse_sender),
            reject_data=frozenset(a.lower() for a in reject_data),
            tempfail=frozenset(a.lower() for a in tempfail),
            fail_421_at=_numbers(fail_421_at),
            drop_after=_numbers(drop_after),
            drop_before_reply_at=_numbers(drop_before_reply_at),
            drop_in_data_at=_numbers(drop_in_data_at),
            throttle_at=_numbers(throttle_at),
            refuse_connections=_numbers(refuse_connections),
            delay=delay,
        )
        # Real servers offer AUTH only after STARTTLS; implicit TLS and plain tests log in as is.
        self._auth_require_tls = starttls if auth_require_tls is None else auth_require_tls
        self._lock = threading.Lock()
        self._messages: list[Received] = []
        self._connections = 0
        self._open: set[int] = set()
        self._max_concurrent = 0
        self._auth_failures = 0
        self._controller: _Controller | None = None
        self._ca_dir: Path | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> SmtpTestServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        kwargs: dict[str, Any] = {"ident": "postcli-test-smtp"}
        ssl_context = None
        if self.tls or self.starttls:
            _, cert = _certificates()
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            cert.configure_cert(server_context)
            if self.tls:
                ssl_context = server_context
            else:
                kwargs["tls_context"] = server_context
        if self.auth is not None:
            # AUTH is required in handle_MAIL: aiosmtpd's own auth_required warns without TLS.
            kwargs.update(authenticator=self._authenticate, auth_require_tls=self._auth_require_tls)
            if self.auth_mechanisms is not None:
                offered = {"LOGIN", "PLAIN"} - {m.upper() for m in self.auth_mechanisms}
                kwargs["auth_exclude_mechanism"] = sorted(offered)
        last_error: OSError | None = None
        for _ in range(5):  # a free port can be taken between probing and binding
            port = self.port or _free_port(self.host)
            controller = _Controller(
                self,
                _Handler(self, self.faults),
                hostname=self.host,
                port=port,
                ssl_context=ssl_context,
                server_hostname="localhost",
                **kwargs,
            )
            try:
                controller.start()
            except (OSError, RuntimeError) as exc:
                last_error = exc if isinstance(exc, OSError) else OSError(str(exc))
                if self.port:
                    raise
                continue
            self.port, self._controller = port, controller
            break
        else:
            raise OSError(f"could not start the test SMTP server: {last_error}")
        with self._lock:  # the controller's own readiness probe is no client's connection
            self._connections = 0
            self._open.clear()
            self._max_concurrent = 0

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        if self._ca_dir is not None:
            import shutil

            shutil.rmtree(self._ca_dir, ignore_errors=True)
            self._ca_dir = None

    # -- what the client needs --------------------------------------------------------------

    def client_context(self) -> ssl.SSLContext:
        """An SSL context that trusts this server's certificate (and nothing else)."""
        ca, _ = _certificates()
        context = ssl.create_default_context(cafile=None)
        context.load_verify_locations(cadata=ca.cert_pem.bytes().decode("ascii"))
        return context

    @property
    def ca_path(self) -> Path:
        """A PEM file with the CA to trust, e.g. for SSL_CERT_FILE in a subprocess."""
        if self._ca_dir is None:
            import tempfile

            self._ca_dir = Path(tempfile.mkdtemp(prefix="postcli-test-ca-"))
        path = self._ca_dir / "ca.pem"
        if not path.exists():
            ca, _ = _certificates()
            ca.cert_pem.write_to_path(str(path))
        return path

    @property
    def security(self) -> str:
        """The `security` setting a client needs for this server."""
        return "tls" if self.tls else "starttls" if self.starttls else "none"

    # -- what it received -------------------------------------------------------------------

    @property
    def messages(self) -> list[Received]:
        with self._lock:
            return list(self._messages)

    @property
    def connections(self) -> int:
        """Client connections accepted so far."""
        with self._lock:
            return self._connections

    @property
    def max_concurrent(self) -> int:
        """The most client connections that were open at the same time."""
        with self._lock:
            return self._max_concurrent

    @property
    def auth_failures(self) -> int:
        with self._lock:
            return self._auth_failures

    def count_by_recipient(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for received in self.messages:
            counts.update(received.rcpt_tos)
        return dict(counts)

    def message_ids_by_recipient(self) -> dict[str, list[str | None]]:
        found: dict[str, list[str | None]] = {}
        for received in self.messages:
            for rcpt in received.rcpt_tos:
                found.setdefault(rcpt, []).append(received.message_id)
        return found

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The messages, once at least `count` have arrived (or the timeout passed)."""
        import time

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.messages
            if len(messages) >= count:
                return messages
            time.sleep(0.01)
        return self.messages

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    # -- called from the server thread ------------------------------------------------------

    def _record(self, received: Received) -> None:
        with self._lock:
            self._messages.append(received)

    def _connected(self) -> int:
        with self._lock:
            self._connections += 1
            self._open.add(self._connections)
            self._max_concurrent = max(self._max_concurrent, len(self._open))
            return self._connections

    def _disconnected(self, number: int) -> None:
        with self._lock:
            self._open.discard(number)

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        assert self.auth is not None
        if isinstance(data, LoginPassword):
            user, password = self.auth
            if data.login == user.encode() and data.password == password.encode():
                return AuthResult(success=True, auth_data=data)
        with self._lock:
            self._auth_failures += 1
        if self.echo_credentials and isinstance(data, LoginPassword):
            # A careless server quoting what the client sent, as base64 on the wire.
            sent = (
                b"\0" + data.login + b"\0" + data.password
                if mechanism == "PLAIN"
                else data.password
            )
            wire = base64.b64encode(sent).decode()
            return AuthResult(success=False, handled=False, message=f"535 5.7.8 bad {wire}")
        return AuthResult(success=False, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """A plain SMTP server on 127.0.0.1 without faults, for one test."""
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def smtp_server_factory() -> Iterator[Callable[..., SmtpTestServer]]:
    """Start servers with options: `smtp_server_factory(starttls=True, refuse={...})`."""
    servers: list[SmtpTestServer] = []

    def make(**options: Any) -> SmtpTestServer:
        server = SmtpTestServer(**options)
        server.start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


def _main() -> None:  # pragma: no cover - a manual tool
    import argparse
    import time

    parser = argparse.ArgumentParser(description="A local SMTP server that prints what it gets.")
    parser.add_argument("--port", type=int, default=2525)
    parser.add_argument("--starttls", action="store_true")
    parser.add_argument("--tls", action="store_true")
    args = parser.parse_args()
    with SmtpTestServer(port=args.port, starttls=args.starttls, tls=args.tls) as server:
        print(f"listening on {server.host}:{server.port} ({server.security}); Ctrl-C stops")
        if server.tls or server.starttls:
            print(f"trust this CA: {server.ca_path}")
        seen = 0
        try:
            while True:
                time.sleep(0.2)
                for received in server.messages[seen:]:
                    message = received.message
                    print(f"{', '.join(received.rcpt_tos)}: {message['Subject']}")
                seen = len(server.messages)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    _main()


def kill_when_received(
    server: SmtpTestServer, process: Any, count: int, timeout: float = 60.0
) -> None:
    """SIGKILL `process` (a subprocess.Popen) as soon as the server has received `count`
    messages, or when it ends by itself, or after `timeout` seconds; then reap it."""
    import os
    import signal
    import time

    deadline = time.monotonic() + timeout
    while len(server.messages) < count and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait()


def kill_a_send_when_received(
    server: SmtpTestServer, root: Path, args: Collection[str], count: int, timeout: float = 60.0
) -> int:
    """Run `postcli -C root -q ARGS...` as a process and SIGKILL it once the server has
    received `count` messages (kill_when_received); its return code."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "postcli", "-C", str(root), "-q", *args]
    with subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as sender:
        kill_when_received(server, sender, count, timeout=timeout)
    return sender.returncode
