"""Opening one SMTP connection: TCP, the greeting, TLS (implicit or STARTTLS), and AUTH, each
within the session's timeout (10 s by default, `[providers.smtp] timeout`).

What cannot work is said at once instead of being retried: nothing listening at host:port, a
peer that does not greet as SMTP servers do (an HTTP server, say, named as such), or a
timeout, each with host:port and what was expected. A connection that is dropped or answered
421 is `_Dropped`, which the session reconnects after. The password is never put in an
exception or a log record.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
import socket
import ssl
from typing import TYPE_CHECKING, Literal

from postcli.errors import SmtpAuthError, SmtpError, SmtpRefused, SmtpTemporaryError
from postcli.net import LOOPBACK_HOSTS as _LOOPBACK

if TYPE_CHECKING:
    from postcli.providers.smtp_session import SmtpSession

log = logging.getLogger("postcli.smtp")

Security = Literal["none", "starttls", "tls"]

# Seconds a peer that did not greet gets to show what it is, after the greeting timed out.
_PROBE_SECONDS = 2.0


class _Dropped(Exception):
    """The connection is gone (dropped, or closed by a 421); reconnect and retry.
    `after_data`: it went while the server had (or was getting) the message, before its reply,
    so the server may have kept it."""

    def __init__(self, reason: str, *, after_data: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after_data = after_data


def _reply_text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return " ".join(text.split())


class Secret:
    """The password: its repr and str never show it, so no log or traceback of locals can."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__


def close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        with contextlib.suppress(OSError):
            smtp.close()


def _what_answers(host: str, port: int) -> str | None:
    """A peer that sent no SMTP greeting: does it answer a line like an HTTP server does?"""
    try:
        with socket.create_connection((host, port), timeout=_PROBE_SECONDS) as probe:
            # A line both kinds of server answer at once: an SMTP server with 5xx, an HTTP
            # server with a status line (400 or 501, for a method it does not know).
            probe.sendall(b"EHLO / HTTP/1.0\r\n\r\n")
            answer = probe.recv(64)
    except OSError:
        return None
    if answer.startswith(b"HTTP/") or answer.lstrip().lower().startswith((b"<!doctype", b"<html")):
        return "an HTTP server"
    if answer.startswith(b"\x15\x03") or answer.startswith(b"\x16\x03"):
        return "a TLS server"
    return None


def _timed_out(session: SmtpSession, stage: str) -> SmtpTemporaryError:
    where = f"{session.host}:{session.port}"
    expected = {
        "greeting": "an SMTP greeting (220 ...)",
        "tls": 'a TLS handshake (security = "tls")',
        "starttls": "a TLS handshake after STARTTLS",
    }[stage]
    hint = "check host, port and security in [providers.smtp]; raise its timeout for a slow server"
    if stage == "greeting" and session.security != "tls":
        peer = _what_answers(session.host, session.port)
        if peer is not None:
            return SmtpTemporaryError(
                f"{where} answered like {peer}, not SMTP",
                hint="check host and port in [providers.smtp] (SMTP is usually 25, 465 or 587)",
            )
    return SmtpTemporaryError(
        f"{where} did not answer within {session.timeout:g} s: expected {expected}", hint=hint
    )


def open_smtp(session: SmtpSession) -> smtplib.SMTP:
    """A connected, secured, logged-in `smtplib.SMTP` for the session's server."""
    host, port, security = session.host, session.port, session.security
    context = session.ssl_context
    if context is None and security != "none":
        context = ssl.create_default_context()
    where = f"{host}:{port}"
    smtp: smtplib.SMTP | None = None
    stage = "tls" if security == "tls" else "greeting"
    try:
        if security == "tls":
            smtp = smtplib.SMTP_SSL(
                host,
                port,
                local_hostname=session.local_hostname,
                timeout=session.timeout,
                context=context,
            )
        else:
            smtp = smtplib.SMTP(
                host, port, local_hostname=session.local_hostname, timeout=session.timeout
            )
        stage = "greeting"
        smtp.ehlo()
        if security == "starttls":
            if not smtp.has_extn("starttls"):
                raise SmtpRefused(
                    f"the SMTP server at {where} does not offer STARTTLS",
                    hint='set security = "tls" (often port 465), or security = "none" for a '
                    "local relay without TLS; or check host and port",
                )
            stage = "starttls"
            smtp.starttls(context=context)
            smtp.ehlo()
        if session.username:
            _login(session, smtp)
    except ssl.SSLCertVerificationError as exc:
        close_quietly(smtp)
        raise SmtpRefused(
            f"the TLS certificate of {where} is not trusted: {exc.verify_message}",
            hint="check the host name; for a private CA, point SSL_CERT_FILE at its bundle",
        ) from None
    except ssl.SSLError as exc:
        close_quietly(smtp)
        raise SmtpRefused(
            f"TLS with {where} failed: {exc.reason or exc}",
            hint='check security: "tls" is implicit TLS (port 465), "starttls" is port 587, '
            '"none" a local relay without TLS',
        ) from None
    except SmtpError:
        close_quietly(smtp)
        raise
    except ConnectionRefusedError:
        close_quietly(smtp)
        raise SmtpTemporaryError(
            f"nothing is listening at {where} (connection refused)",
            hint="check host and port in [providers.smtp], and that the server runs",
        ) from None
    except TimeoutError:
        close_quietly(smtp)
        raise _timed_out(session, stage) from None
    except smtplib.SMTPServerDisconnected as exc:
        close_quietly(smtp)
        if isinstance(exc.__context__, TimeoutError):  # smtplib's words for a silent peer
            raise _timed_out(session, stage) from None
        raise _Dropped(session._clean(str(exc) or type(exc).__name__)) from None
    except smtplib.SMTPResponseException as exc:
        close_quietly(smtp)
        if exc.smtp_code == 421 or 400 <= exc.smtp_code < 500:
            raise _Dropped(f"{exc.smtp_code} {_reply_text(exc.smtp_error)}") from None
        raise SmtpRefused(
            f"the SMTP server at {where} refused the connection: "
            f"{exc.smtp_code} {session._clean(exc.smtp_error)}"
        ) from None
    except (smtplib.SMTPException, OSError) as exc:
        close_quietly(smtp)
        raise _Dropped(session._clean(str(exc) or type(exc).__name__)) from None
    return smtp


def _login(session: SmtpSession, smtp: smtplib.SMTP) -> None:
    where = f"{session.host}:{session.port}"
    password = session._password
    if password is None:
        raise SmtpAuthError(
            f"a username is set for {where} but no password",
            hint="set POSTCLI_SMTP_PASSWORD in the environment or .env",
        )
    if session.security == "none" and session.host not in _LOOPBACK:
        log.warning(
            "logging in to %s without TLS: the password crosses the network in clear", where
        )
    try:
        smtp.login(session.username or "", password.value)
    except smtplib.SMTPAuthenticationError as exc:
        raise SmtpAuthError(
            f"the SMTP server at {where} refused the login of '{session.username}': "
            f"{exc.smtp_code} {session._clean(exc.smtp_error)}",
            code=exc.smtp_code,
            hint="check username in [providers.smtp] and POSTCLI_SMTP_PASSWORD",
        ) from None
    except UnicodeEncodeError:  # smtplib sends AUTH in ASCII only
        raise SmtpAuthError(
            f"the username or password for {where} is not ASCII, which SMTP AUTH cannot send",
            hint="check username in [providers.smtp] and POSTCLI_SMTP_PASSWORD",
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise SmtpAuthError(
            f"the SMTP server at {where} offers no login on this connection",
            hint='many servers allow AUTH only after TLS: try security = "starttls" or "tls"',
        ) from None
    except smtplib.SMTPException as exc:
        if isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code < 500:
            raise
        raise SmtpAuthError(
            f"login at {where} failed: {session._clean(str(exc))}",
            hint="check username, POSTCLI_SMTP_PASSWORD and security in [providers.smtp]",
        ) from None
