"""One SMTP connection, reused for every message of a send, with the stdlib `smtplib`.

Owns the SMTP conversation: the security mode (none, STARTTLS, implicit TLS), authentication,
the rate cap, reconnecting when the server drops the connection or answers 421, and turning the
server's replies into postcli's errors (all in `postcli.errors`):

    SmtpError (a ReplyError)
     ├── SmtpAuthError        exit 3: the server refused the login (535 ...) or cannot do it
     ├── SmtpRefused          exit 3: the server refused the sender or the connection setup
     └── SmtpTemporaryError   exit 4: 4xx after retries, or the server cannot be reached
    RecipientRefused          exit 3: a permanent 5xx for one recipient; the others can go on

It knows nothing of issues, subscribers or the ledger: the `smtp` provider decides what a
refusal means for a send. The password is never put in an exception, a log record or a repr.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from email.message import EmailMessage
from types import TracebackType
from typing import TYPE_CHECKING

from postcli.errors import (
    RecipientRefused,
    SmtpAuthError,
    SmtpRefused,
    SmtpTemporaryError,
)
from postcli.providers.smtp_connect import (
    Secret,
    Security,
    _Dropped,
    _reply_text,
    open_smtp,
)

__all__ = ["SECURITY_MODES", "Pacer", "Security", "SmtpSession"]

if TYPE_CHECKING:
    from postcli.redact import Redactor

log = logging.getLogger("postcli.smtp")

SECURITY_MODES: tuple[Security, ...] = ("none", "starttls", "tls")


class Pacer:
    """The rate cap: at most `rate` messages a second, each starting in its own slot 1/rate
    apart. One pacer is shared by every connection of a send, so N connections together keep
    to the one cap; taking a slot is thread-safe, and the wait happens outside the lock."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"a rate must be above 0, not {rate}")
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._next_slot: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Return when the next slot has come."""
        with self._lock:
            now = self._clock()
            slot = now if self._next_slot is None else max(self._next_slot, now)
            self._next_slot = slot + 1.0 / self.rate
        if slot > now:
            self._sleep(slot - now)


class SmtpSession:
    """One reused SMTP connection; a context manager that connects on entry and quits on exit.

    `rate` caps messages per second (None: no cap); `pacer`, when given, is a cap shared with
    other sessions and replaces `rate`. `max_reconnects` is how many times one
    message may reconnect-and-retry after a dropped connection or a 421 (and how many retries a
    4xx gets) before SmtpTemporaryError. `clock` and `sleep` are replaceable for tests.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: Security,
        username: str | None,
        password: str | None,
        timeout: float = 10.0,
        rate: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
        max_reconnects: int = 3,
        retry_backoff: float = 1.0,
        local_hostname: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        pacer: Pacer | None = None,
    ) -> None:
        if security not in SECURITY_MODES:
            raise SmtpRefused(
                f"unknown SMTP security '{security}'",
                hint="set security in [providers.smtp] to none, starttls or tls",
            )
        if rate is not None and rate <= 0:
            raise SmtpRefused(
                f"the SMTP rate must be above 0, not {rate}",
                hint="set rate in [providers.smtp] to messages per second, or remove it",
            )
        self.host = host
        self.port = int(port)
        self.security: Security = security
        self.username = username or None
        self._password = Secret(password) if password else None
        # Every form the login takes on the wire (AUTH PLAIN, AUTH LOGIN), computed once.
        self._redactor = _login_redactor(self.username, password)
        self.timeout = timeout
        self.rate = rate
        self.ssl_context = ssl_context
        self.max_reconnects = max(0, int(max_reconnects))
        self.retry_backoff = retry_backoff
        self.local_hostname = local_hostname
        self._clock = clock
        self._sleep = sleep
        self._smtp: smtplib.SMTP | None = None
        if pacer is None and rate:
            pacer = Pacer(rate, clock=clock, sleep=sleep)
        self._pacer = pacer
        self.connections = 0  # connections opened so far (a reused session opens one)
        self.sent = 0  # messages the server accepted

    def __repr__(self) -> str:
        user = f" as {self.username}" if self.username else ""
        return f"<SmtpSession {self.security} {self.host}:{self.port}{user}>"

    # -- the connection ---------------------------------------------------------------------

    def __enter__(self) -> SmtpSession:
        self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._smtp is not None

    def connect(self) -> None:
        """Open the connection (once; a reconnect goes through here too), secure it, log in.

        A server that cannot be reached is retried `max_reconnects` times, then
        SmtpTemporaryError; a refused login is SmtpAuthError at once.
        """
        if self._smtp is not None:
            return
        attempt = 0
        while True:
            try:
                self._open()
                return
            except _Dropped as dropped:
                if attempt >= self.max_reconnects:
                    raise self._unreachable(dropped.reason) from None
                attempt += 1
                self._backoff(attempt)

    def close(self) -> None:
        """QUIT politely; a connection that is already gone is just forgotten."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()

    def _abandon(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def abort(self) -> None:
        """Drop the connection without QUIT: after an interruption in the middle of a message,
        a QUIT would be read as message text and never answered."""
        self._abandon()

    def _open(self) -> None:
        if self.local_hostname is None:
            self.local_hostname = socket.getfqdn()  # once: it can be a slow DNS lookup
        self._smtp = open_smtp(self)
        self.connections += 1
        log.debug(
            "connected to %s:%s (%s), connection %d",
            self.host,
            self.port,
            self.security,
            self.connections,
        )

    # -- sending ----------------------------------------------------------------------------

    def send(self, message: EmailMessage, *, sender: str, recipient: str) -> bool:
        """Send `message` to `recipient` in one SMTP transaction; return once the server said 250.

        A dropped connection or a 421 reconnects and retries this message; a 4xx is retried;
        a 5xx for the recipient is RecipientRefused; see the module docstring for the rest.
        Returns True when an earlier try may have reached the server too (the connection went
        after the message was out, before the 250): the recipient may have it twice.
        """
        if not sender.isascii():
            raise SmtpRefused(
                f"the sender address {sender} is not ASCII, which needs SMTPUTF8",
                hint="use an ASCII address in 'from' under [newsletter]",
            )
        if not recipient.isascii():
            raise RecipientRefused(
                f"the address {recipient} is not ASCII, which needs SMTPUTF8",
                recipient=recipient,
            )
        data = _wire_bytes(message)
        self._pace()
        reconnects = 0
        temporary = 0
        maybe_twice = False
        while True:
            try:
                if self._smtp is None:
                    self.connect()
                self._transaction(data, sender, recipient)
                self.sent += 1
                return maybe_twice
            except _Dropped as dropped:
                self._abandon()
                maybe_twice = maybe_twice or dropped.after_data
                if reconnects >= self.max_reconnects:
                    error = self._unreachable(dropped.reason, recipient)
                    error.maybe_delivered = maybe_twice
                    raise error from None
                reconnects += 1
                log.info(
                    "connection to %s:%d lost (%s); reconnecting (%d of %d)",
                    self.host,
                    self.port,
                    dropped.reason,
                    reconnects,
                    self.max_reconnects,
                )
                if reconnects > 1:
                    self._backoff(reconnects - 1)
            except _Temporary as again:
                if temporary >= self.max_reconnects:
                    deferred = SmtpTemporaryError(
                        f"the SMTP server deferred the message to {recipient}: {again.reply}",
                        code=again.code,
                        recipient=recipient,
                        hint="the server asked to try later; run the same command again",
                    )
                    deferred.maybe_delivered = maybe_twice
                    raise deferred from None
                temporary += 1
                log.info(
                    "%s for %s; retrying (%d of %d)",
                    again.reply,
                    recipient,
                    temporary,
                    self.max_reconnects,
                )
                self._backoff(temporary)

    def _transaction(self, data: bytes, sender: str, recipient: str) -> None:
        smtp = self._smtp
        assert smtp is not None
        # postcli's messages are 7-bit; one built elsewhere with 8-bit parts needs 8BITMIME.
        options = [] if data.isascii() or not smtp.has_extn("8bitmime") else ["BODY=8BITMIME"]
        in_data = False  # from DATA on, a lost connection may have left the message with the server
        try:
            code, reply = smtp.mail(sender, options)
            if code != 250:
                self._failed("mail", code, reply, sender, recipient)
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                self._failed("rcpt", code, reply, sender, recipient)
            in_data = True
            code, reply = smtp.data(data)
            if code != 250:
                self._failed("data", code, reply, sender, recipient)
        except smtplib.SMTPDataError as exc:  # DATA itself was not answered with 354
            self._failed("data", exc.smtp_code, exc.smtp_error, sender, recipient)
        except smtplib.SMTPServerDisconnected as exc:
            reason = str(exc) or "the server closed the connection"
            raise _Dropped(reason, after_data=in_data) from None
        except OSError as exc:  # timeouts, resets
            raise _Dropped(str(exc) or type(exc).__name__, after_data=in_data) from None

    def _failed(
        self, stage: str, code: int, reply: bytes | str, sender: str, recipient: str
    ) -> None:
        text = f"{code} {self._clean(reply)}"
        if code == 421 or code == -1:
            # -1: no readable reply to the message; 421: the server closing, having refused it.
            raise _Dropped(text, after_data=stage == "data" and code == -1)
        self._reset()
        if 400 <= code < 500:
            raise _Temporary(code, text)
        if code == 530:  # "authentication required": no recipient is to blame
            raise SmtpAuthError(
                f"the SMTP server at {self.host}:{self.port} requires a login: {text}",
                code=code,
                hint="set username in [providers.smtp] and POSTCLI_SMTP_PASSWORD",
            )
        if stage == "mail":
            raise SmtpRefused(
                f"the SMTP server refused the sender {sender}: {text}",
                code=code,
                hint="check 'from' in [newsletter]: the server must allow you to send as it",
            )
        what = "the recipient" if stage == "rcpt" else "the message to"
        raise RecipientRefused(
            f"the SMTP server refused {what} {recipient}: {text}", code=code, recipient=recipient
        )

    def _reset(self) -> None:
        """RSET after a failed transaction, so the next one starts clean on this connection."""
        if self._smtp is None:
            return
        try:
            self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            self._abandon()

    # -- rate, backoff, messages --------------------------------------------------------------

    def _pace(self) -> None:
        """Start at most `rate` messages a second (across the sessions sharing the pacer)."""
        if self._pacer is not None:
            self._pacer.wait()

    def _backoff(self, attempt: int) -> None:
        delay = min(self.retry_backoff * 2 ** (attempt - 1), 30.0)
        if delay > 0:
            self._sleep(delay)

    def _unreachable(self, reason: str, recipient: str | None = None) -> SmtpTemporaryError:
        return SmtpTemporaryError(
            f"cannot reach the SMTP server at {self.host}:{self.port}: {self._clean(reason)}",
            recipient=recipient,
            hint="check host, port and security in [providers.smtp], or run again later",
        )

    def _clean(self, reply: bytes | str) -> str:
        """A server reply or error text, on one line, with the password taken out."""
        from postcli.config import redactor

        redact = self._redactor + redactor()
        raw = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return redact.redact(_reply_text(redact.redact(raw)))


def _login_redactor(username: str | None, password: str | None) -> Redactor:
    from postcli.redact import Redactor

    if not password:
        return Redactor()
    return Redactor.of([password], [(username or "", password)])


class _Temporary(Exception):
    def __init__(self, code: int, reply: str) -> None:
        super().__init__(reply)
        self.code = code
        self.reply = reply


def _wire_bytes(message: EmailMessage) -> bytes:
    """The message flattened for DATA in its own policy, CRLF line ends, Bcc removed (as
    smtplib.send_message does)."""
    if message["Bcc"] is not None or message["Resent-Bcc"] is not None:
        message = _copy_without_bcc(message)
    if message.policy.linesep == "\r\n":
        from postcli.mime import as_bytes  # joins a message postcli built without the generator

        return as_bytes(message)
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def _copy_without_bcc(message: EmailMessage) -> EmailMessage:
    import copy

    clone = copy.copy(message)
    del clone["Bcc"]
    del clone["Resent-Bcc"]
    return clone
