"""No secret, in any form it takes on the wire, reaches an output, a log, the ledger or a file.

The forms: the secret itself, its base64 (alone, as AUTH LOGIN sends it, and inside AUTH PLAIN's
"\\0user\\0password" or HTTP Basic's "user:password"), percent-encoded, JSON-escaped, and any
prefix of 8 or more characters (a secret cut short is a leak too). The property test drives every
provider's error path with random secrets: a server (a real local SMTP server, or the HTTP fakes
on 127.0.0.1) that echoes the credentials back in its refusal, padded so that the secret
straddles the point where postcli shortens provider messages.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import sqlite3
import string
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from conftest import copy_sample_workspace
from helpers.send import configure, set_provider, write_issue, write_subscribers
from postcli.errors import ProviderRefused
from postcli.providers._http import DETAIL_CHARS, HttpClient
from postcli.redact import PREFIX, Redactor
from smtp_server import SmtpTestServer

USER = "newsletter-user"
SECRET_ALPHABET = string.ascii_letters + string.digits + "-_.+/=:~!$@%&*"


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def forms_of(secret: str, user: str = USER) -> dict[str, str]:
    """Every shape the secret takes on the wire, by name."""
    return {
        "itself": secret,
        "base64 (AUTH LOGIN)": b64(secret),
        "AUTH PLAIN": b64(f"\0{user}\0{secret}"),
        "HTTP Basic": b64(f"{user}:{secret}"),
        "URL-encoded": quote(secret, safe=""),
        "JSON-escaped": json.dumps(secret)[1:-1],
    }


def leaks(secret: str, text: str, user: str = USER) -> list[str]:
    """The forms of `secret` found in `text`; a prefix of PREFIX characters counts."""
    found = [name for name, form in forms_of(secret, user).items() if form in text]
    if secret[:PREFIX] in text:
        found.append(f"a {PREFIX}-character prefix")
    for name in ("base64 (AUTH LOGIN)", "URL-encoded", "JSON-escaped"):
        form = forms_of(secret, user)[name]
        if form != secret and form[:PREFIX] in text:
            found.append(f"a prefix of its {name} form")
    return found


def echo_of(secret: str, user: str = USER, pad: int = 0) -> str:
    """A careless server's refusal quoting every form of what it was sent, the plain secret
    standing `pad` characters in: with pad near the message limit it straddles the cut."""
    forms = forms_of(secret, user)
    return (
        "k" * pad
        + f"{secret} was refused; as sent: {forms['base64 (AUTH LOGIN)']} "
        + f"{forms['AUTH PLAIN']} {forms['HTTP Basic']} url={forms['URL-encoded']} "
        + f'json="{forms["JSON-escaped"]}"'
    )


def _like_a_key(secret: str) -> bool:
    """Eight different characters, and a start that mixes letters with digits or symbols.

    A real key is random text; one that starts with an English word (`possibly0000`) has a
    PREFIX-character prefix the output holds anyway (`possibly_duplicated` in `status --json`),
    which no redactor can tell from a leak."""
    start = secret[:PREFIX]
    return len(set(secret)) >= 8 and not start.isalpha()


secrets = st.text(SECRET_ALPHABET, min_size=12, max_size=48).filter(_like_a_key)


# --- the redactor itself ------------------------------------------------------------------------


@given(secret=secrets, pad=st.integers(0, 40), user=st.text(string.ascii_lowercase, max_size=12))
def test_every_wire_form_is_redacted(secret: str, pad: int, user: str) -> None:
    redactor = Redactor.of([secret], [(user, secret)])
    text = redactor.redact(echo_of(secret, user, pad))
    assert leaks(secret, text, user) == []
    assert "***" in text


@given(secret=secrets, user=st.text(string.ascii_lowercase, min_size=1, max_size=12))
def test_auth_plain_is_redacted_without_knowing_the_user(secret: str, user: str) -> None:
    """The password's base64 inside AUTH PLAIN depends on its offset, not on the user name."""
    redactor = Redactor.of([secret])  # as the environment's redactor: no user name known
    text = redactor.redact(f"535 5.7.8 bad {b64(f'{chr(0)}{user}{chr(0)}{secret}')}")
    assert b64(f"\0{user}\0{secret}") not in text
    # At most the two or three characters at each end that mix in the user name's bits remain.
    assert text.startswith("535 5.7.8 bad ") and "***" in text


@given(secret=secrets, cut=st.integers(PREFIX, 47))
def test_a_prefix_of_eight_or_more_is_redacted_anywhere(secret: str, cut: int) -> None:
    assume(cut <= len(secret))
    redactor = Redactor.of([secret])
    assert redactor.redact(f"key {secret[:cut]}… is invalid") == "key ***… is invalid"


def test_short_prefixes_and_other_text_are_kept() -> None:
    redactor = Redactor.of(["sk_live_abcdefghijkl"])
    assert redactor.redact("sk_live is a prefix of 7") == "sk_live is a prefix of 7"
    assert redactor.redact("nothing secret here") == "nothing secret here"
    assert repr(redactor) == f"<Redactor of {len(redactor.forms)} forms>"
    assert "sk_live" not in repr(redactor)


@given(secret=secrets, pad=st.integers(0, 60))
def test_cut_redacts_before_it_shortens(secret: str, pad: int) -> None:
    redactor = Redactor.of([secret])
    text = "x" * pad + secret + " tail"
    limit = pad + len(secret) - 1  # the cut falls just before the secret's last character
    shortened = redactor.cut(text, limit)
    assert secret[:PREFIX] not in shortened and len(shortened) <= limit + 1


def test_http_detail_is_redacted_before_it_is_cut() -> None:
    """The key straddles the 300-character limit of a provider's error text."""
    key = "re_live_Zx81kQ2mP0vB7nL4"
    body = {"message": "y" * (DETAIL_CHARS - 10) + key + " is not a valid key"}
    api = HttpClient(
        provider="resend",
        base_url="https://api.resend.test",
        secrets=[key],
        client=httpx.Client(
            transport=httpx.MockTransport(lambda request: httpx.Response(403, json=body))
        ),
        sleep=lambda _: None,
    )
    with pytest.raises(ProviderRefused) as caught:
        api.get("/emails")
    assert leaks(key, str(caught.value)) == [], str(caught.value)
    assert "***" in str(caught.value)


def test_smtp_auth_plain_echo_is_redacted() -> None:
    from postcli.errors import SmtpAuthError
    from postcli.providers.smtp_session import SmtpSession

    password = "pw-Zq8vX3kL9mN2-long"
    with SmtpTestServer(
        auth=("me", "the-right-one"), echo_credentials=True, auth_mechanisms={"PLAIN"}
    ) as server:
        session = SmtpSession(
            host=server.host,
            port=server.port,
            security="none",
            username="me",
            password=password,
            timeout=5.0,
            retry_backoff=0.0,
        )
        with pytest.raises(SmtpAuthError) as caught:
            session.connect()
    assert "535" in str(caught.value)
    assert leaks(password, str(caught.value), "me") == [], str(caught.value)


# --- every provider's error path, end to end --------------------------------------------------

HTTP_PROVIDERS = {
    "buttondown": ("BUTTONDOWN_API_KEY", ""),
    "resend": ("RESEND_API_KEY", ""),
    "mailchimp": ("MAILCHIMP_API_KEY", "-us21"),
    "listmonk": ("LISTMONK_API_TOKEN", ""),
}
ISSUE = "2026-12-22-send-test"


@contextlib.contextmanager
def _captured() -> Iterator[io.StringIO]:
    """stdout, stderr and postcli's log handler (made by the command) into one buffer."""
    buffer = io.StringIO()
    logger = logging.getLogger("postcli")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    environ = dict(os.environ)
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield buffer
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate
        os.environ.clear()
        os.environ.update(environ)


def _run(*args: str) -> tuple[int, str]:
    from postcli.cli import main

    with _captured() as buffer:
        try:
            main(list(args))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        else:
            code = 0
    return code, buffer.getvalue()


def _everything_written(root: Path, before: dict[Path, float]) -> str:
    """Every file the run created or changed, and the ledger's rows as text."""
    out = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or before.get(path) == path.stat().st_mtime:
            continue
        if path.suffix.startswith(".sqlite3"):
            continue
        out.append(path.read_bytes().decode("utf-8", "replace"))
    ledger = root / ".postcli" / "ledger.sqlite3"
    if ledger.exists():
        with contextlib.closing(sqlite3.connect(ledger)) as db:
            out += ["\n".join(db.iterdump())]
    out.append(ledger.read_bytes().decode("latin-1") if ledger.exists() else "")
    return "\n".join(out)


def _workspace() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        root = copy_sample_workspace(Path(folder) / "newsletter")
        write_issue(root)
        yield root


@pytest.mark.parametrize("name", sorted(HTTP_PROVIDERS))
@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secret=secrets, pad=st.integers(DETAIL_CHARS - 60, DETAIL_CHARS + 5))
def test_no_form_of_an_http_key_leaks_from_a_refusal(
    name: str, secret: str, pad: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fakes import FAKES
    from helpers.fake_api import serve
    from test_adapters import SPECS, _configure

    variable, suffix = HTTP_PROVIDERS[name]
    secret += suffix
    fake = FAKES[name]()
    fake.refuse(times=1000, status=401, message=echo_of(secret, USER, pad))
    for root in _workspace():
        with serve(fake) as server:
            _configure(root, name, server.base_url)
            env = {**SPECS[name].env, variable: secret}
            if name == "listmonk":
                env["LISTMONK_API_USER"] = USER
            before = {p: p.stat().st_mtime for p in root.rglob("*") if p.is_file()}
            with monkeypatch.context() as patch:
                for key, value in env.items():
                    patch.setenv(key, value)
                code, output = _run("-C", str(root), "-v", "send", ISSUE, "--yes", "--now")
                _, status = _run("-C", str(root), "status", "--json")
        assert code == 3, output
        assert fake.calls(), "the provider was never asked"
        everything = output + status + _everything_written(root, before)
        assert leaks(secret, everything) == [], everything[-2000:]


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secret=secrets)
def test_no_form_of_the_smtp_password_leaks_from_a_refusal(
    mechanism: str, secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmtpTestServer(
        auth=(USER, "not-" + secret), echo_credentials=True, auth_mechanisms={mechanism}
    ) as server:
        for root in _workspace():
            write_subscribers(root, 3)
            set_provider(root, "smtp")
            configure(
                root,
                "\n".join(
                    [
                        "[providers.smtp]",
                        'host = "127.0.0.1"',
                        f"port = {server.port}",
                        'security = "none"',
                        f'username = "{USER}"',
                        'subscribers = "subscribers.csv"',
                        "rate = 0",
                    ]
                ),
            )
            before = {p: p.stat().st_mtime for p in root.rglob("*") if p.is_file()}
            with monkeypatch.context() as patch:
                patch.setenv("POSTCLI_SMTP_PASSWORD", secret)
                code, output = _run("-C", str(root), "-v", "send", ISSUE, "--yes", "--now")
                _, status = _run("-C", str(root), "status", "--json")
            assert code == 3, output
            assert "535" in output
            everything = output + status + _everything_written(root, before)
            assert leaks(secret, everything) == [], everything[-2000:]
    assert server.auth_failures >= 1


def test_the_property_helpers_find_what_they_look_for() -> None:
    """The checks above could fail: `leaks` sees each form, and a cut prefix."""
    secret = "Zx81kQ2mP0vB7nL4"
    for form in forms_of(secret).values():
        assert leaks(secret, f"... {form} ...")
    assert leaks(secret, f"key {secret[:PREFIX]}")
    assert leaks(secret, "nothing here") == []
