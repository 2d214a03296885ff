"""The pieces the bulk senders share, each on its own: the contracts of tests/contracts/{postmark,
mailgun,sendgrid}/ (valid, their examples pass, closed at every level), `_bulk.Caller` (what a
lost answer, a 503 and throttling mean), `Pacer`, the ledger's batch steps, and the SES, Postmark
and Mailgun adapters over httpx.MockTransport (every request checked by the same fakes)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

from fakes.bulk_server import CONTRACTS, contract_errors, load_schema
from postcli.ledger import Ledger
from postcli.providers._batch import Batch, BulkUnavailable, Letter
from postcli.providers._bulk import Caller, Pacer, RetryRules
from postcli.providers.base import Accepted

PROVIDERS = ("postmark", "mailgun", "sendgrid")
ALL = [(p, f.stem) for p in PROVIDERS for f in sorted((CONTRACTS / p).glob("*.json"))]
BODIES = [(p, n) for p, n in ALL if n != "headers"]


# -- the contracts -------------------------------------------------------------------------------


@pytest.mark.parametrize(("provider", "name"), ALL, ids=[f"{p}/{n}" for p, n in ALL])
def test_each_schema_is_valid_and_its_examples_pass(provider: str, name: str) -> None:
    schema = load_schema(provider, name)
    Draft202012Validator.check_schema(schema)
    assert schema["examples"]
    for example in schema["examples"]:
        assert contract_errors(provider, name, example) == []


def _closed(
    schema: dict[str, Any], root: dict[str, Any], instance: Any, path: tuple[Any, ...]
) -> Iterator[tuple[Any, ...]]:
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    if isinstance(instance, dict):
        if schema.get("additionalProperties") is False:
            yield path
        for key, value in instance.items():
            sub = schema.get("properties", {}).get(key)
            if isinstance(sub, dict):
                yield from _closed(sub, root, value, (*path, key))
    elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
        for number, value in enumerate(instance):
            yield from _closed(schema["items"], root, value, (*path, number))


@pytest.mark.parametrize(("provider", "name"), BODIES, ids=[f"{p}/{n}" for p, n in BODIES])
def test_each_body_schema_refuses_unknown_fields_at_every_level(provider: str, name: str) -> None:
    root = load_schema(provider, name)
    example = root["examples"][0]
    paths = list(_closed(root, root, example, ()))
    assert paths, "the example's objects are closed"
    for path in paths:
        bad = copy.deepcopy(example)
        target = bad
        for step in path:
            target = target[step]
        target["surely_not_a_field"] = ["x"]
        assert contract_errors(provider, name, bad), (name, path)


def test_the_postmark_batch_takes_at_most_500() -> None:
    one = load_schema("postmark", "batch")["examples"][0][0]
    assert contract_errors("postmark", "batch", [one] * 500) == []
    assert contract_errors("postmark", "batch", [one] * 501)
    assert contract_errors("postmark", "batch", [])


def test_the_mailgun_batch_takes_at_most_1000() -> None:
    form = copy.deepcopy(load_schema("mailgun", "messages")["examples"][0])
    form["to"] = [f"r{i}@example.org" for i in range(1000)]
    assert contract_errors("mailgun", "messages", form) == []
    form["to"].append("one-more@example.org")
    assert contract_errors("mailgun", "messages", form)


# -- Caller ------------------------------------------------------------------------------------


def caller(handler: Any, **rules: Any) -> tuple[Caller, list[float]]:
    sleeps: list[float] = []
    made = Caller(
        provider="test",
        client=httpx.Client(transport=httpx.MockTransport(handler)),
        rules=RetryRules(**{"attempts": 3, "patience": 60.0, **rules}),
        sleep=sleeps.append,
        jitter=lambda: 0.0,
        clock=lambda: sum(sleeps),
    )
    return made, sleeps


def answers(*steps: Any) -> Any:
    queue = list(steps)

    def handle(request: httpx.Request) -> httpx.Response:
        step = queue.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    return handle


def test_a_dropped_answer_is_retried_and_flagged_maybe_twice() -> None:
    request = httpx.Request("POST", "http://x.invalid/")
    made, _ = caller(
        answers(httpx.RemoteProtocolError("gone", request=request), httpx.Response(200))
    )
    reply = made.call("POST", "http://x.invalid/", content=b"{}")
    assert reply.response.status_code == 200 and reply.maybe_twice


def test_a_503_or_a_refused_connection_is_retried_as_safe() -> None:
    request = httpx.Request("POST", "http://x.invalid/")
    made, _ = caller(
        answers(
            httpx.ConnectError("refused", request=request),
            httpx.Response(503),
            httpx.Response(200),
        )
    )
    reply = made.call("POST", "http://x.invalid/")
    assert reply.response.status_code == 200 and not reply.maybe_twice


def test_a_500_may_have_gone_through_and_after_the_last_try_says_so() -> None:
    made, _ = caller(answers(*[httpx.Response(500)] * 3))
    with pytest.raises(BulkUnavailable) as down:
        made.call("POST", "http://x.invalid/")
    assert down.value.maybe_delivered and down.value.exit_code == 4


@pytest.mark.parametrize(
    ("response", "wait"),
    [
        (httpx.Response(429, headers={"Retry-After": "7"}), 7.0),
        (httpx.Response(429, headers={"X-RateLimit-Reset": "4"}), 4.0),
        (httpx.Response(429, json={"message": "limit exceeded, try again after 9 seconds"}), 9.0),
    ],
)
def test_throttling_waits_as_the_answer_says_and_uses_no_try(
    response: httpx.Response, wait: float
) -> None:
    made, sleeps = caller(answers(*[response] * 5, httpx.Response(200)))
    reply = made.call("POST", "http://x.invalid/")
    assert reply.response.status_code == 200 and not reply.maybe_twice
    assert sleeps == [wait] * 5  # five throttles, though only 3 tries are allowed


def test_throttling_past_patience_is_run_again_later_not_maybe_delivered() -> None:
    made, _ = caller(answers(*[httpx.Response(429, headers={"Retry-After": "30"})] * 5))
    with pytest.raises(BulkUnavailable) as down:
        made.call("POST", "http://x.invalid/")
    assert not down.value.maybe_delivered and "throttled" in str(down.value)


def test_a_secret_never_reaches_an_error() -> None:
    made, _ = caller(answers(*[httpx.Response(500)] * 3))
    made.add_secret("s3cr3t-token")
    with pytest.raises(BulkUnavailable) as down:
        made.call("POST", "http://x.invalid/s3cr3t-token")
    assert "s3cr3t-token" not in str(down.value) and "***" in str(down.value)


def test_the_pacer_spaces_calls_by_their_recipients() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(10, clock=lambda: now[0], sleep=sleep)
    assert pacer.per_call(500) == 10 and Pacer(None).per_call(500) == 500
    pacer.wait(5)
    pacer.wait(5)
    pacer.wait(1)
    assert slept == [0.5, 0.5]


# -- the ledger's batch steps --------------------------------------------------------------------


def test_batch_steps_report_in_flight_rows_and_flag_them(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger:
        record = ledger.begin("i", "free", "postmark", content_hash="h")
        ledger.add_recipients(record.id, [("a@x.org", "free"), ("b@x.org", "free")])
        assert (
            ledger.mark_sending_many(record.id, [("a@x.org", "<1>"), ("b@x.org", "<2>")]) == set()
        )
        ledger.mark_recipients(record.id, [("a@x.org", "sent", None, False)])
        # b stayed 'sending' (a kill): the next batch holding it says so, and flags it.
        assert ledger.mark_sending_many(record.id, [("b@x.org", "<2>")]) == {"b@x.org"}
        ledger.mark_recipients(record.id, [("b@x.org", "sent", None, False)])
        rows = ledger.recipients(record.id)
        assert (rows["a@x.org"].possibly_duplicate, rows["b@x.org"].possibly_duplicate) == (
            False,
            True,
        )
        assert rows["b@x.org"].attempts == 2 and rows["b@x.org"].message_id == "<2>"
        with pytest.raises(ValueError):
            ledger.mark_recipients(record.id, [("a@x.org", "lost", None, False)])


# -- the adapters over a mock transport ----------------------------------------------------------


def _settings(tmp_path: Path, provider: str, options: dict[str, Any]) -> Any:
    from postcli.config import Newsletter, Settings

    (tmp_path / "subscribers.csv").write_text("email,name,tier\n", encoding="utf-8")
    return Settings(
        root=tmp_path,
        newsletter=Newsletter(
            from_="뉴스 <hello@example.com>",
            unsubscribe_url="https://example.com/u?email={email}",
        ),
        provider=provider,
        providers={provider: {"subscribers": "subscribers.csv", **options}},
    )


def _batch(count: int) -> Batch:
    from postcli.issues import Variant
    from postcli.render import RenderedEmail

    template = "https://example.com/u?email={email}"
    email = RenderedEmail(
        issue_id="i",
        variant=Variant.FREE,
        subject="제목",
        preheader=None,
        html=f'<p>hi</p><a href="{template}">unsubscribe</a>',
        text=f"hi\n{template}\n",
        cut=True,
    )
    letters = [
        Letter(
            f"r{i}@example.org",
            f"R {i}",
            f"<m{i}@example.com>",
            f"https://example.com/u?email=r{i}@example.org",
        )
        for i in range(count)
    ]
    return Batch(
        email, letters, "뉴스 <hello@example.com>", None, template, datetime.now(UTC), "free"
    )


def test_postmark_over_a_mock_transport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fakes.postmark_fake import TOKEN, PostmarkFake
    from postcli.providers.postmark import PostmarkProvider

    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", TOKEN)
    fake = PostmarkFake()
    client = httpx.Client(transport=httpx.MockTransport(fake.handle))
    provider = PostmarkProvider(_settings(tmp_path, "postmark", {}), client=client)
    with provider.open_transport("i") as transport:
        result = transport.deliver_batch(_batch(3))
    assert [o.status for o in result.outcomes] == ["sent"] * 3 and fake.violations == []
    assert [r.path for r in fake.requests] == ["/email/batch"]
    assert str(fake.requests[0].headers).count(TOKEN) == 1


def test_mailgun_over_a_mock_transport(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fakes.mailgun_fake import API_KEY, DOMAIN, MailgunFake
    from postcli.providers.mailgun import MailgunProvider

    monkeypatch.setenv("MAILGUN_API_KEY", API_KEY)
    fake = MailgunFake()
    client = httpx.Client(transport=httpx.MockTransport(fake.handle))
    provider = MailgunProvider(_settings(tmp_path, "mailgun", {"domain": DOMAIN}), client=client)
    with provider.open_transport("i") as transport:
        result = transport.deliver_batch(_batch(4))
    assert [o.status for o in result.outcomes] == ["sent"] * 4 and fake.violations == []
    assert {m.to for m in fake.messages} == {f"r{i}@example.org" for i in range(4)}
    assert all(f"email={m.to}" in m.text for m in fake.messages)


def test_ses_over_a_mock_transport_is_signed_and_checked_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fakes.ses_emulator import ACCESS_KEY, REGION, SECRET_KEY, SesEmulator
    from postcli import mime
    from postcli.providers.ses import SesProvider

    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    fake = SesEmulator()
    client = httpx.Client(transport=httpx.MockTransport(fake.handle))
    options = {"region": REGION, "base_url": fake.base_url}
    provider = SesProvider(_settings(tmp_path, "ses", options), client=client)
    batch = _batch(1)
    message = mime.build_message(
        batch.email,
        sender=batch.sender,
        to="r0@example.org",
        reply_to=None,
        unsubscribe_url=batch.letters[0].unsubscribe_url,
        message_id="<m0@example.com>",
    )
    with provider.open_transport("i") as transport:
        accepted = transport.deliver(
            message, sender="hello@example.com", recipient="r0@example.org"
        )
        assert accepted == Accepted(possibly_twice=False)
    assert fake.violations == [] and len(fake.messages) == 1
    assert [r.path for r in fake.requests] == ["/v2/email/account", "/v2/email/outbound-emails"]


def test_postmarks_fast_body_is_the_plain_encoding_of_each_personalised_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from postcli.providers.postmark import PostmarkProvider

    monkeypatch.setenv("POSTMARK_SERVER_TOKEN", "t0ken-for-this-test")
    provider = PostmarkProvider(_settings(tmp_path, "postmark", {}))
    batch = _batch(5)
    with provider.open_transport("i") as transport:
        fast = json.loads(transport._body(batch))
        slow = [transport._slow(batch, letter) for letter in batch.letters]
    assert fast == slow
    assert all(f"email=r{i}@example.org" in m["TextBody"] for i, m in enumerate(fast))
    assert all(f"email=r{i}@example.org" in m["HtmlBody"] for i, m in enumerate(fast))
