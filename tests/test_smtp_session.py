"""postcli.smtp_session against a real SMTP server on 127.0.0.1 (tests/smtp_server.py)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import pytest

import smtp_server as exported
from postcli.errors import (
    ExitCode,
    ProviderRefused,
    ProviderUnavailable,
    RecipientRefused,
    SmtpAuthError,
    SmtpRefused,
    SmtpTemporaryError,
)
from postcli.providers.smtp_session import SmtpSession
from smtp_server import SmtpTestServer, smtp_server, smtp_server_factory  # noqa: F401

SENDER = "hello@example.com"
PASSWORD = "s3cr3t-Pa55word"
Factory = Callable[..., SmtpTestServer]


@pytest.fixture
def plain_server(smtp_server: SmtpTestServer) -> SmtpTestServer:
    return smtp_server


@pytest.fixture
def make_server(smtp_server_factory: Factory) -> Factory:
    return smtp_server_factory


def message(to: str, subject: str = "안녕하세요") -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = f"Brief <{SENDER}>"
    msg["To"] = to
    msg.set_content(f"hello {to}")
    return msg


class FakeTime:
    """A clock that only moves when someone sleeps; records the sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def session_for(server: SmtpTestServer, **options: Any) -> SmtpSession:
    settings: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": server.security,
        "username": server.auth[0] if server.auth else None,
        "password": server.auth[1] if server.auth else None,
        "timeout": 5.0,
        "ssl_context": server.client_context() if server.security != "none" else None,
        "retry_backoff": 0.0,
        "local_hostname": "client.test",
    }
    settings.update(options)
    return SmtpSession(**settings)


def send_to(session: SmtpSession, *recipients: str) -> None:
    for recipient in recipients:
        session.send(message(recipient), sender=SENDER, recipient=recipient)


def test_plain_sends_over_one_reused_connection(plain_server: SmtpTestServer) -> None:
    recipients = [f"reader{i}@example.com" for i in range(20)]
    with session_for(plain_server) as session:
        send_to(session, *recipients)
    assert session.sent == 20 and session.connections == 1
    assert plain_server.connections == 1
    assert plain_server.count_by_recipient() == dict.fromkeys(recipients, 1)
    first = plain_server.messages[0]
    assert first.mail_from == SENDER and first.rcpt_tos == ("reader0@example.com",)
    assert str(first.message["Subject"]) == "안녕하세요"
    assert first.message.get_content().strip() == "hello reader0@example.com"
    assert not session.connected  # the context manager said QUIT


def test_starttls_with_login(make_server: Factory) -> None:
    server = make_server(starttls=True, auth=("me", PASSWORD))
    with session_for(server) as session:
        send_to(session, "a@example.com", "b@example.com")
    assert server.count_by_recipient() == {"a@example.com": 1, "b@example.com": 1}
    assert {m.authenticated_as for m in server.messages} == {"me"}
    assert server.connections == 1


def test_implicit_tls_with_login(make_server: Factory) -> None:
    server = make_server(tls=True, auth=("me", PASSWORD))
    with session_for(server) as session:
        send_to(session, "a@example.com")
    assert server.count_by_recipient() == {"a@example.com": 1}
    assert server.messages[0].authenticated_as == "me"


def test_login_is_needed_where_the_server_requires_it(make_server: Factory) -> None:
    server = make_server(auth=("me", PASSWORD))
    session = session_for(server, username=None, password=None)
    with session, pytest.raises(SmtpAuthError, match="requires a login") as caught:
        send_to(session, "a@example.com")
    assert caught.value.code == 530 and caught.value.exit_code == ExitCode.REFUSED
    assert server.messages == []


def test_wrong_password_is_an_auth_error_that_never_shows_the_password(
    make_server: Factory,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = make_server(starttls=True, auth=("me", PASSWORD))
    wrong = "Wr0ng-" + PASSWORD
    monkeypatch.setattr(logging.getLogger("postcli"), "propagate", True)  # the CLI turns it off
    caplog.set_level(logging.DEBUG)
    with pytest.raises(SmtpAuthError) as caught:
        session_for(server, password=wrong).connect()
    error = caught.value
    assert isinstance(error, ProviderRefused) and error.exit_code == ExitCode.REFUSED
    assert error.code == 535 and "me" in str(error)
    shown = "".join(traceback.format_exception(error)) + caplog.text + repr(error)
    assert wrong not in shown and PASSWORD not in shown
    assert server.auth_failures >= 1 and server.messages == []  # smtplib tries PLAIN, LOGIN


def test_password_never_in_logs_or_repr_when_it_works(
    make_server: Factory,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = make_server(tls=True, auth=("me", PASSWORD))
    monkeypatch.setattr(logging.getLogger("postcli"), "propagate", True)
    caplog.set_level(logging.DEBUG, logger="postcli")
    session = session_for(server)
    with session:
        send_to(session, "a@example.com")
    assert server.count_by_recipient() == {"a@example.com": 1}
    assert "connected to" in caplog.text  # the session's own log was captured
    assert PASSWORD not in caplog.text + repr(session) + str(vars(session))


def test_username_without_password(make_server: Factory) -> None:
    server = make_server(auth=("me", PASSWORD))
    with pytest.raises(SmtpAuthError, match="no password") as caught:
        session_for(server, password=None).connect()
    assert "POSTCLI_SMTP_PASSWORD" in (caught.value.hint or "")


def test_login_before_starttls_is_refused_with_a_hint(make_server: Factory) -> None:
    server = make_server(starttls=True, auth=("me", PASSWORD))
    with pytest.raises(SmtpAuthError) as caught:
        session_for(server, security="none").connect()
    assert "starttls" in (caught.value.hint or "")


def test_starttls_against_a_server_without_it(plain_server: SmtpTestServer) -> None:
    with pytest.raises(SmtpRefused, match="STARTTLS") as caught:
        session_for(plain_server, security="starttls").connect()
    assert caught.value.exit_code == ExitCode.REFUSED


def test_untrusted_certificate(make_server: Factory) -> None:
    import ssl

    server = make_server(tls=True)
    with pytest.raises(SmtpRefused, match="not trusted"):
        session_for(server, ssl_context=ssl.create_default_context(cafile=None)).connect()


def test_refused_recipient_raises_and_the_session_goes_on(make_server: Factory) -> None:
    server = make_server(refuse={"gone@example.com"})
    with session_for(server) as session:
        send_to(session, "a@example.com")
        with pytest.raises(RecipientRefused) as caught:
            send_to(session, "gone@example.com")
        send_to(session, "b@example.com")
    error = caught.value
    assert error.code == 550 and error.recipient == "gone@example.com"
    assert isinstance(error, ProviderRefused) and "mailbox unavailable" in str(error)
    assert server.count_by_recipient() == {"a@example.com": 1, "b@example.com": 1}
    assert server.connections == 1


def test_421_reconnects_and_retries_that_message(make_server: Factory) -> None:
    server = make_server(fail_421_at=2)
    recipients = [f"r{i}@example.com" for i in range(4)]
    with session_for(server) as session:
        send_to(session, *recipients)
    assert server.count_by_recipient() == dict.fromkeys(recipients, 1)
    assert server.connections == 2 and session.connections == 2


def test_dropped_connection_reconnects_and_retries(make_server: Factory) -> None:
    server = make_server(drop_after={1, 3})
    recipients = [f"r{i}@example.com" for i in range(5)]
    with session_for(server) as session:
        send_to(session, *recipients)
    assert server.count_by_recipient() == dict.fromkeys(recipients, 1)
    assert server.connections == 3
    assert [m.connection for m in server.messages] == [1, 2, 2, 3, 3]


def test_a_lost_reply_resends_the_same_bytes(make_server: Factory) -> None:
    """The one unknowable case: the server kept the message but the 250 never came back. The
    retry sends it again, byte for byte, so its Message-ID lets mail systems collapse the two."""
    server = make_server(drop_before_reply_at=2)
    msg = message("b@example.com")
    msg["Message-ID"] = "<fixed.1@example.com>"
    with session_for(server) as session:
        send_to(session, "a@example.com")
        session.send(msg, sender=SENDER, recipient="b@example.com")
    copies = [m for m in server.messages if m.rcpt_tos == ("b@example.com",)]
    assert len(copies) == 2 and copies[0].raw == copies[1].raw
    assert server.message_ids_by_recipient()["b@example.com"] == ["<fixed.1@example.com>"] * 2


def test_repeated_421_gives_up_as_unavailable(make_server: Factory) -> None:
    server = make_server(fail_421_at={1, 2, 3})
    fake = FakeTime()
    session = session_for(server, max_reconnects=2, retry_backoff=1.0, sleep=fake.sleep)
    with session, pytest.raises(SmtpTemporaryError) as caught:
        send_to(session, "a@example.com")
    assert isinstance(caught.value, ProviderUnavailable)
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert caught.value.recipient == "a@example.com"
    assert server.messages == [] and server.connections == 3
    assert fake.sleeps == [1.0]  # the first reconnect is at once, then backoff


def test_temporary_refusal_is_retried_then_reported(make_server: Factory) -> None:
    server = make_server(tempfail={"grey@example.com"})
    fake = FakeTime()
    with session_for(server, max_reconnects=3, retry_backoff=0.5, sleep=fake.sleep) as session:
        with pytest.raises(SmtpTemporaryError, match="451") as caught:
            send_to(session, "grey@example.com")
        send_to(session, "a@example.com")  # the connection is still good
    assert caught.value.code == 451 and caught.value.exit_code == ExitCode.UNAVAILABLE
    assert fake.sleeps == [0.5, 1.0, 2.0]  # exponential backoff between the retries
    assert server.count_by_recipient() == {"a@example.com": 1}
    assert server.connections == 1


def test_unreachable_server(plain_server: SmtpTestServer) -> None:
    port = plain_server.port
    plain_server.stop()
    fake = FakeTime()
    session = SmtpSession(
        host="127.0.0.1",
        port=port,
        security="none",
        username=None,
        password=None,
        max_reconnects=2,
        retry_backoff=0.25,
        sleep=fake.sleep,
        local_hostname="client.test",
    )
    with pytest.raises(SmtpTemporaryError, match="cannot reach") as caught:
        session.connect()
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert fake.sleeps == [0.25, 0.5]


def test_slow_server_times_out_as_unavailable(make_server: Factory) -> None:
    server = make_server(delay=0.5)
    session = session_for(server, timeout=0.1, max_reconnects=1)
    with session, pytest.raises(SmtpTemporaryError, match="timed out"):
        send_to(session, "a@example.com")
    assert server.connections == 2  # one retry on a fresh connection


def test_rate_cap_spaces_messages(plain_server: SmtpTestServer) -> None:
    fake = FakeTime()
    starts: list[float] = []
    with session_for(plain_server, rate=4, clock=fake.clock, sleep=fake.sleep) as session:
        for i in range(10):
            send_to(session, f"r{i}@example.com")
            starts.append(fake.now)
    assert len(plain_server.messages) == 10
    assert sum(fake.sleeps) == pytest.approx(9 / 4)
    for start in starts:  # no window of one second ever holds more than 4 messages
        assert sum(1 for s in starts if start <= s < start + 1.0) <= 4


def test_rate_cap_does_not_sleep_when_sending_is_slower(plain_server: SmtpTestServer) -> None:
    fake = FakeTime()
    with session_for(plain_server, rate=2, clock=fake.clock, sleep=fake.sleep) as session:
        for i in range(3):
            send_to(session, f"r{i}@example.com")
            fake.now += 5  # as if building each message took five seconds
    assert fake.sleeps == []


def test_no_rate_means_no_sleep(plain_server: SmtpTestServer) -> None:
    fake = FakeTime()
    with session_for(plain_server, clock=fake.clock, sleep=fake.sleep) as session:
        send_to(session, "a@example.com", "b@example.com")
    assert fake.sleeps == []


@pytest.mark.parametrize(
    ("options", "match"),
    [({"security": "ssl"}, "unknown SMTP security"), ({"rate": 0}, "rate must be above 0")],
)
def test_bad_settings(options: dict[str, Any], match: str) -> None:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 25,
        "security": "none",
        "username": None,
        "password": None,
    }
    with pytest.raises(SmtpRefused, match=match):
        SmtpSession(**{**settings, **options})


def test_sends_messages_built_by_postcli_mime(plain_server: SmtpTestServer) -> None:
    from postcli.issues import Variant
    from postcli.mime import build_message, message_id
    from postcli.render import RenderedEmail

    rendered = RenderedEmail(
        "2026-12-01-x", Variant.PREMIUM, "제목", None, "<p>" + "본문 " * 500 + "</p>", "본문", False
    )
    built = build_message(
        rendered,
        sender="브리프 <hello@example.com>",
        to="a@example.com",
        reply_to=None,
        unsubscribe_url="https://example.com/u?email=a@example.com",
        message_id=message_id("2026-12-01-x", "premium", "a@example.com", "example.com"),
    )
    with session_for(plain_server) as session:
        session.send(built, sender="hello@example.com", recipient="a@example.com")
    got = plain_server.messages[0].message
    assert got["Message-ID"] == built["Message-ID"]
    assert got["List-Unsubscribe"] == "<https://example.com/u?email=a@example.com>"
    assert "본문 본문" in list(got.iter_parts())[1].get_content()


def test_message_rejected_after_data_is_a_recipient_refusal(make_server: Factory) -> None:
    server = make_server(reject_data={"spam@example.com"})
    with session_for(server) as session:
        with pytest.raises(RecipientRefused, match="554") as caught:
            send_to(session, "spam@example.com")
        send_to(session, "a@example.com")
    assert caught.value.recipient == "spam@example.com"
    assert server.count_by_recipient() == {"a@example.com": 1}


def test_refused_sender_stops_the_send(make_server: Factory) -> None:
    server = make_server(refuse_sender={SENDER})
    with session_for(server) as session, pytest.raises(SmtpRefused, match="sender") as caught:
        send_to(session, "a@example.com")
    assert not isinstance(caught.value, RecipientRefused)
    assert caught.value.code == 553 and caught.value.exit_code == ExitCode.REFUSED
    assert "from" in (caught.value.hint or "")


def test_non_ascii_addresses_are_refused_cleanly(plain_server: SmtpTestServer) -> None:
    with session_for(plain_server) as session:
        with pytest.raises(RecipientRefused, match="not ASCII"):
            session.send(message("a@example.com"), sender=SENDER, recipient="김@example.com")
        with pytest.raises(SmtpRefused, match="not ASCII"):
            session.send(
                message("a@example.com"), sender="보냄@example.com", recipient="a@example.com"
            )
        send_to(session, "a@example.com")
    assert plain_server.count_by_recipient() == {"a@example.com": 1}


def test_non_ascii_password_is_an_auth_error(make_server: Factory) -> None:
    server = make_server(auth=("me", PASSWORD))
    password = "비밀" + "번호-1234"
    with pytest.raises(SmtpAuthError, match="not ASCII") as caught:
        session_for(server, password=password).connect()
    assert password not in "".join(traceback.format_exception(caught.value))


# The fixtures tests/smtp_server.py offers to other test modules (pytest names them by the
# module attribute they are bound to).
exported_server = exported.smtp_server
exported_factory = exported.smtp_server_factory


def test_the_exported_fixtures(
    exported_server: SmtpTestServer, exported_factory: Callable[..., SmtpTestServer]
) -> None:
    tls = exported_factory(tls=True)
    for server in (exported_server, tls):
        with session_for(server) as session:
            send_to(session, "a@example.com")
        assert server.count_by_recipient() == {"a@example.com": 1}
    assert exported_server.security == "none" and tls.security == "tls"
