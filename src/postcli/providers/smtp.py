"""The `smtp` provider: one personalised message per subscriber over one reused SMTP connection,
or over `connections` of them at once.

Owns the `[providers.smtp]` settings and turns the SMTP session's errors into provider errors.
The per-recipient loop, with its ledger steps, is `postcli.send`'s, shared with the `file`
provider; the connection itself (STARTTLS/TLS, AUTH, reconnects, the rate cap) is
`postcli.providers.smtp_session`'s. With `connections = N` (N > 1) the transport is a
`ParallelTransport`: `postcli.send` runs N workers, each over its own connection, all sharing
one rate cap (a `Pacer`), while one thread writes the ledger. The password comes only from
POSTCLI_SMTP_PASSWORD and is never put in a message, a log line or a file.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
from collections.abc import Callable, Collection, Iterator
from contextlib import ExitStack, contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from postcli.config import Settings, secret
from postcli.errors import (
    ConfigError,
    PostcliError,
    ProviderRefused,
    ProviderUnavailable,
    RecipientRefused,
    ReplyError,
)
from postcli.model import Variant
from postcli.providers._settings import (
    bad_key,
    check_table,
    key_message,
    require_unsubscribe_url,
    subscribers_path,
)
from postcli.providers.base import Accepted, Features, Key, SettingsSchema
from postcli.registry import builtin

if TYPE_CHECKING:
    from postcli.providers.smtp_session import Pacer, Security, SmtpSession
    from postcli.subscribers import Subscriber

PASSWORD_VARIABLE = "POSTCLI_SMTP_PASSWORD"
SECURITY: tuple[Security, ...] = ("none", "starttls", "tls")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}
# More connections than this to one server is a mistake, not a speed-up: relays cap the
# connections of a client (Postfix: 50, many far fewer) and answer 421 to the rest.
MAX_CONNECTIONS = 32
CONNECTIONS_MESSAGE = (
    f"'connections' in [providers.smtp] must be a whole number from 1 to {MAX_CONNECTIONS}"
    " (SMTP connections at once)"
)


class _LazySession:
    """Opens the SMTP session on the first delivery, so a run with nothing left to send never
    connects, and maps the session's errors onto provider errors."""

    def __init__(self, make: Callable[[], SmtpSession]) -> None:
        self._make = make
        self._stack = ExitStack()
        self._session: SmtpSession | None = None

    def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> Accepted:
        """Possibly twice when the server may have the message twice (see SmtpSession.send)."""
        try:
            if self._session is None:
                self._session = self._stack.enter_context(self._make())
            twice = self._session.send(message, sender=sender, recipient=recipient)
            return Accepted(possibly_twice=twice)
        except RecipientRefused as exc:
            # The session's own words and hint, as one message for the failures list.
            raise RecipientRefused(str(exc), recipient=recipient, code=exc.code) from None
        except (ProviderRefused, ProviderUnavailable):
            raise
        except OSError as exc:  # a socket error the session did not wrap
            raise ProviderUnavailable(
                f"SMTP connection failed: {exc}", hint="check host and port; run again later"
            ) from None

    def close(self) -> None:
        # Closing a dead connection must not hide the error that killed it.
        with contextlib.suppress(Exception):
            self._stack.close()

    def abort(self) -> None:
        """Close without QUIT, after an interruption (Ctrl-C) that may have come mid-message."""
        if self._session is not None:
            self._session.abort()
        self.close()


class _Connections:
    """`connections` SMTP connections for one run (a ParallelTransport): `channel()` lends
    one, opened lazily, all paced by one shared `Pacer`; a channel given back is lent again
    (to the next variant's workers), and all are closed with the transport."""

    def __init__(self, make: Callable[[], SmtpSession], connections: int) -> None:
        self._make = make
        self.connections = connections
        self._single: _LazySession | None = None
        self._idle: list[_LazySession] = []
        self._lock = threading.Lock()

    def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> Accepted:
        if self._single is None:
            self._single = _LazySession(self._make)
        return self._single.deliver(message, sender=sender, recipient=recipient)

    @contextmanager
    def channel(self) -> Iterator[_LazySession]:
        with self._lock:
            session = self._idle.pop() if self._idle else _LazySession(self._make)
        try:
            yield session
        except BaseException:
            session.abort()
            raise
        with self._lock:
            self._idle.append(session)

    def connection_lost(self, error: PostcliError) -> bool:
        """The connection gave up after its own reconnects (dropped, 421, unreachable): the
        message it held may go over another connection. A 4xx or 5xx about the message or the
        recipient (code set), or a refused login, is no such thing."""
        if isinstance(error, ReplyError):
            return isinstance(error, ProviderUnavailable) and error.code is None
        return isinstance(error, ProviderUnavailable)

    def _all(self) -> list[_LazySession]:
        with self._lock:
            lent, self._idle = self._idle, []
        return lent + ([self._single] if self._single is not None else [])

    def close(self) -> None:
        for session in self._all():
            session.close()

    def abort(self) -> None:
        """After an interruption: drop the idle connections without QUIT. A worker still
        holding one (mid-message) is a daemon thread and goes with the process."""
        for session in self._all():
            session.abort()


class SmtpProvider:
    """Sends through an SMTP server: the newsletter's own, or a relay's."""

    name: ClassVar[str] = "smtp"
    features: ClassVar[Features] = Features(per_recipient=True)
    unsubscribe_tag: ClassVar[str | None] = None
    secret_variables: ClassVar[tuple[str, ...]] = builtin("smtp").secret_variables
    settings_schema: ClassVar[SettingsSchema] = {
        "host": Key((str,), "[providers.smtp] needs 'host', the SMTP server's name"),
        "port": Key((int,), must="a port number like 587"),
        "security": Key(
            (str,), f"'security' in [providers.smtp] must be one of {', '.join(SECURITY)}"
        ),
        "username": Key((str,), must="text"),
        "subscribers": Key((str,), must="the path of a CSV file"),
        "rate": Key((int, float), must="messages per second (0: no cap)"),
        "timeout": Key((int, float), must="seconds, like 30"),
        "ca_file": Key((str,), must="a path"),
        "connections": Key((int,), CONNECTIONS_MESSAGE),
    }

    def __init__(self, settings: Settings, *, client: object = None) -> None:
        self.settings = settings
        options = check_table(settings, self.name, self.settings_schema)

        def bad(key: str, message: str) -> ConfigError:
            hint = "see the docs on sending: [providers.smtp]"
            return bad_key(settings, self.name, key, message, hint)

        def invalid(key: str) -> ConfigError:
            return bad(key, key_message(self.name, key, self.settings_schema[key]))

        host = options.get("host")
        if not isinstance(host, str) or not host.strip():
            raise bad("host", "[providers.smtp] needs 'host', the SMTP server's name")
        self.host: str = host.strip()
        security = options.get("security", "starttls")
        if security not in SECURITY:
            raise bad(
                "security", f"'security' in [providers.smtp] must be one of {', '.join(SECURITY)}"
            )
        self.security: Security = SECURITY[SECURITY.index(str(security))]
        port = options.get("port", DEFAULT_PORTS[self.security])
        if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
            raise invalid("port")
        self.port: int = port
        username = options.get("username")
        if username is not None and not isinstance(username, str):
            raise invalid("username")
        self.username: str | None = username
        rate = options.get("rate")
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or rate < 0
        ):
            raise invalid("rate")
        self.rate = float(rate) if rate else None
        timeout = options.get("timeout", 10)  # connect, greeting, TLS and each reply
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise invalid("timeout")
        self.timeout = float(timeout)
        connections = options.get("connections", 1)
        if (
            isinstance(connections, bool)
            or not isinstance(connections, int)
            or not 1 <= connections <= MAX_CONNECTIONS
        ):
            raise bad("connections", CONNECTIONS_MESSAGE)
        self.connections: int = connections
        ca_file = options.get("ca_file")
        self.ca_file: Path | None = None
        if ca_file is not None:
            if not isinstance(ca_file, str):
                raise invalid("ca_file")
            path = Path(ca_file).expanduser()
            self.ca_file = path if path.is_absolute() else settings.root / path
        self.subscribers_file = subscribers_path(settings, self.name, options)
        if self.subscribers_file is None:
            raise bad(
                "subscribers", "[providers.smtp] needs 'subscribers', the CSV of who gets mail"
            )

    def validate(self) -> None:
        require_unsubscribe_url(self.settings, self.name)
        if self.username and not secret(PASSWORD_VARIABLE):
            raise ConfigError(
                f"{PASSWORD_VARIABLE} is not set, and [providers.smtp] names a username",
                path=self.settings.path,
                hint=f"export {PASSWORD_VARIABLE}=... (or put it in .env); never in postcli.toml",
            )
        if self.ca_file is not None and not self.ca_file.is_file():
            raise ConfigError(
                "'ca_file' in [providers.smtp] names no file",
                path=self.ca_file,
                hint="point it at the PEM file of the CA that signed the server's certificate",
            )

    def describe(self) -> str:
        who = f" as {self.username}" if self.username else ""
        many = f", {self.connections} connections" if self.connections > 1 else ""
        return f"SMTP {self.host}:{self.port} ({self.security}{many}){who}"

    def close(self) -> None:
        """Nothing to release: the connection closes with its transport."""

    def subscribers(self) -> Collection[Subscriber]:
        from postcli.subscribers import read_subscribers

        assert self.subscribers_file is not None
        return read_subscribers(self.subscribers_file)  # a stream, never in memory whole

    def variant_copy(self, issue_id: str, variant: Variant, message: EmailMessage) -> None:
        """SMTP keeps no copy of its own; the ledger is the record."""

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.ca_file is None:
            return None
        try:
            return ssl.create_default_context(cafile=str(self.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"cannot read 'ca_file': {exc}", path=self.ca_file, hint="it must be a PEM file"
            ) from None

    def _session(self, pacer: Pacer | None = None) -> SmtpSession:
        from postcli.providers.smtp_session import SmtpSession

        return SmtpSession(
            host=self.host,
            port=self.port,
            security=self.security,
            username=self.username,
            password=secret(PASSWORD_VARIABLE) if self.username else None,
            timeout=self.timeout,
            rate=None if pacer is not None else self.rate,
            ssl_context=self.ssl_context(),
            pacer=pacer,
        )

    @contextmanager
    def open_transport(
        self, issue_id: str, *, test_variant: Variant | None = None
    ) -> Iterator[_LazySession | _Connections]:
        session: _LazySession | _Connections
        if self.connections > 1 and test_variant is None:
            from postcli.providers.smtp_session import Pacer

            pacer = Pacer(self.rate) if self.rate else None
            session = _Connections(lambda: self._session(pacer), self.connections)
        else:
            session = _LazySession(self._session)
        try:
            yield session
        except BaseException:
            session.abort()
            raise
        session.close()
