"""providers/_http.py: retries, Retry-After, timeouts, dropped connections, errors and redaction,
all against httpx.MockTransport (no network)."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest

from postcli.errors import ExitCode, ProviderRefused, ProviderUnavailable
from postcli.providers._http import HttpClient, RetryPolicy

KEY = "re_live_SECRETKEY_1234567890"


def make(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    attempts: int = 4,
    sleeps: list[float] | None = None,
    **kwargs: object,
) -> HttpClient:
    waits = sleeps if sleeps is not None else []
    return HttpClient(
        provider="testesp",
        base_url="https://api.test.invalid/v1/",
        headers={"Authorization": f"Bearer {KEY}"},
        secrets=[KEY],
        client=httpx.Client(transport=httpx.MockTransport(handler)),
        retry=RetryPolicy(attempts=attempts, backoff=0.5, max_delay=4.0, max_retry_after=60.0),
        sleep=waits.append,
        jitter=lambda: 1.0,
        hint="check TESTESP_API_KEY",
        **kwargs,  # type: ignore[arg-type]
    )


def sequence(
    *steps: object,
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    """A handler answering with each step in turn: a Response, or an exception to raise."""
    seen: list[httpx.Request] = []
    queue = list(steps)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        step = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(step, Exception):
            raise step
        assert isinstance(step, httpx.Response)
        return step

    return handler, seen


def test_success_joins_base_url_and_sends_headers() -> None:
    handler, seen = sequence(httpx.Response(200, json={"id": "c1"}))
    api = make(handler)
    assert api.get("/campaigns", params={"q": "x"}).json() == {"id": "c1"}
    assert str(seen[0].url) == "https://api.test.invalid/v1/campaigns?q=x"
    assert seen[0].headers["Authorization"] == f"Bearer {KEY}"
    assert seen[0].headers["User-Agent"].startswith("postcli/")
    assert KEY not in repr(api)


def test_429_waits_what_retry_after_says_then_succeeds() -> None:
    sleeps: list[float] = []
    handler, seen = sequence(
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(201, json={"ok": True})
    )
    response = make(handler, sleeps=sleeps).post("/emails", json={"a": 1})
    assert response.status_code == 201
    assert len(seen) == 2
    assert sleeps == [7.0]


def test_retry_after_as_http_date_is_understood() -> None:
    sleeps: list[float] = []
    handler, _ = sequence(
        httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
        httpx.Response(200),
    )
    make(handler, sleeps=sleeps).get("/x")
    assert sleeps == [0.0]  # a date in the past: go again at once


def test_5xx_backs_off_exponentially_then_gives_up_with_exit_4() -> None:
    sleeps: list[float] = []
    handler, seen = sequence(httpx.Response(500, json={"message": "boom"}))
    with pytest.raises(ProviderUnavailable) as caught:
        make(handler, sleeps=sleeps, attempts=4).get("/campaigns")
    assert len(seen) == 4
    assert sleeps == [0.5, 1.0, 2.0]  # jitter pinned at its top: the full ceiling each time
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert "500" in str(caught.value) and "boom" in str(caught.value)
    assert "tried 4 times" in (caught.value.hint or "")


def test_backoff_is_capped_and_jittered() -> None:
    sleeps: list[float] = []
    handler, _ = sequence(httpx.Response(502))
    api = make(handler, sleeps=sleeps, attempts=7)
    api._jitter = lambda: 0.0  # the bottom of the jitter range: half the ceiling
    with pytest.raises(ProviderUnavailable):
        api.get("/x")
    assert sleeps == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]


def test_retry_after_longer_than_allowed_gives_up_at_once() -> None:
    sleeps: list[float] = []
    handler, seen = sequence(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(ProviderUnavailable) as caught:
        make(handler, sleeps=sleeps).get("/x")
    assert len(seen) == 1 and sleeps == []
    assert "3600" in (caught.value.hint or "")


def test_timeouts_and_dropped_connections_are_retried_for_get() -> None:
    sleeps: list[float] = []
    handler, seen = sequence(
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.Response(200, json=[]),
    )
    assert make(handler, sleeps=sleeps).get("/lists").json() == []
    assert len(seen) == 3 and len(sleeps) == 2


def test_a_post_is_not_repeated_when_the_server_may_have_acted() -> None:
    handler, seen = sequence(httpx.ReadTimeout("timed out"), httpx.Response(200))
    with pytest.raises(ProviderUnavailable):
        make(handler).post("/campaigns", json={})
    assert len(seen) == 1
    handler, seen = sequence(httpx.Response(500), httpx.Response(200))
    with pytest.raises(ProviderUnavailable):
        make(handler).post("/campaigns", json={})
    assert len(seen) == 1


def test_a_post_is_repeated_when_it_never_left_or_carries_an_idempotency_key() -> None:
    handler, seen = sequence(httpx.ConnectError("refused"), httpx.Response(201))
    assert make(handler).post("/campaigns", json={}).status_code == 201
    assert len(seen) == 2
    handler, seen = sequence(httpx.ReadTimeout("timed out"), httpx.Response(201))
    assert (
        make(handler).post("/emails", json={}, idempotency_key="postcli:x:free:abc").status_code
        == 201
    )
    assert [r.headers["Idempotency-Key"] for r in seen] == ["postcli:x:free:abc"] * 2


def test_4xx_is_refused_with_exit_3_and_the_providers_message() -> None:
    handler, seen = sequence(httpx.Response(422, json={"message": "from address not verified"}))
    with pytest.raises(ProviderRefused) as caught:
        make(handler).post("/emails", json={})
    assert len(seen) == 1
    assert caught.value.exit_code == ExitCode.REFUSED
    assert "422" in str(caught.value) and "from address not verified" in str(caught.value)


def test_401_hints_at_the_key_and_allow_returns_the_response() -> None:
    handler, _ = sequence(httpx.Response(401, text="bad key"))
    with pytest.raises(ProviderRefused) as caught:
        make(handler).get("/me")
    assert caught.value.hint == "check TESTESP_API_KEY"
    handler, _ = sequence(httpx.Response(404))
    assert make(handler).get("/campaigns/x", allow=(404,)).status_code == 404


def test_the_key_never_appears_in_errors_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    import base64

    echo = f"invalid key {KEY} (basic {base64.b64encode(KEY.encode()).decode()})"
    handler, _ = sequence(
        httpx.ConnectError(f"cannot connect with {KEY}"),
        httpx.Response(403, json={"error": echo}),
    )
    caplog.set_level(logging.DEBUG, logger="postcli")
    with pytest.raises(ProviderRefused) as caught:
        make(handler).get(f"/lists?apikey={KEY}")
    everything = str(caught.value) + (caught.value.hint or "") + caplog.text
    assert "invalid key ***" in str(caught.value)
    assert KEY not in everything
    assert base64.b64encode(KEY.encode()).decode() not in everything
    assert "apikey=***" in caplog.text


def test_basic_auth_password_is_redacted() -> None:
    handler, seen = sequence(httpx.Response(400, text="user:tokentoken1234 rejected"))
    api = HttpClient(
        provider="listmonk",
        base_url="https://lists.test.invalid",
        auth=("user", "tokentoken1234"),
        client=httpx.Client(transport=httpx.MockTransport(handler)),
        sleep=lambda _: None,
    )
    with pytest.raises(ProviderRefused) as caught:
        api.get("/api/lists")
    assert seen[0].headers["Authorization"].startswith("Basic ")
    assert "tokentoken1234" not in str(caught.value)


def test_a_client_made_here_is_closed_and_a_passed_in_one_is_not() -> None:
    passed = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    with HttpClient(provider="x", base_url="https://x.invalid", client=passed) as api:
        api.get("/")
    assert not passed.is_closed
    own = HttpClient(
        provider="x",
        base_url="https://x.invalid",
        transport=httpx.MockTransport(lambda r: httpx.Response(200)),
    )
    own.get("/")
    own.close()
    assert own._client.is_closed
