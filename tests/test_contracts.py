"""The provider contracts (tests/contracts/) and the fake provider servers built on them.

The schemas are checked against themselves: each one's own example passes, and an unknown field,
a missing required field or a wrong type fails. The fakes are checked through the request
shapes the adapters use (the `Driver` classes below spell them out), over httpx.MockTransport
and over a real server on 127.0.0.1: state, look-up with each provider's pagination, auth, and
every fault knob.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from jsonschema import Draft202012Validator

from fakes import FAKES, ButtondownFake, ListmonkFake, MailchimpFake, ResendFake
from helpers.fake_api import (
    CONTRACTS,
    PROVIDERS,
    FakeProvider,
    contract_errors,
    load_schema,
    schema_names,
    serve,
)

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # on a quarter hour, in the future
ALL_SCHEMAS = [(p, n) for p in PROVIDERS for n in schema_names(p)]
BODY_SCHEMAS = [(p, n) for p, n in ALL_SCHEMAS if n != "headers"]


def _ids(pairs: list[tuple[str, str]]) -> list[str]:
    return [f"{p}/{n}" for p, n in pairs]


# --- the schemas ----------------------------------------------------------------------------


def _example(provider: str, name: str) -> Any:
    return copy.deepcopy(load_schema(provider, name)["examples"][0])


Closed = tuple[tuple[Any, ...], dict[str, Any], dict[str, Any]]


def _walk(provider: str, name: str) -> list[Closed]:
    """Every (path, object, its schema) in the example whose schema closes it to unknown fields."""
    root = load_schema(provider, name)

    def resolve(schema: dict[str, Any]) -> dict[str, Any]:
        ref = schema.get("$ref")
        return root["$defs"][ref.rsplit("/", 1)[1]] if ref else schema

    def walk(schema: dict[str, Any], instance: Any, path: tuple[Any, ...]) -> Iterator[Closed]:
        schema = resolve(schema)
        if isinstance(instance, dict):
            if schema.get("additionalProperties") is False:
                yield path, instance, schema
            for key, value in instance.items():
                sub = schema.get("properties", {}).get(key)
                if isinstance(sub, dict):
                    yield from walk(sub, value, (*path, key))
        elif isinstance(instance, list) and isinstance(schema.get("items"), dict):
            for index, value in enumerate(instance):
                yield from walk(schema["items"], value, (*path, index))

    return list(walk(root, _example(provider, name), ()))


def _at(instance: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        instance = instance[step]
    return instance


def _wrong_type(value: Any) -> Any:
    """A value of another JSON type: a number for text, lists and objects, text for the rest."""
    if isinstance(value, str | list | dict) or value is None:
        return 12345
    return "not the right type"


@pytest.mark.parametrize(("provider", "name"), ALL_SCHEMAS, ids=_ids(ALL_SCHEMAS))
def test_schema_is_valid_and_its_example_passes(provider: str, name: str) -> None:
    schema = load_schema(provider, name)
    Draft202012Validator.check_schema(schema)
    assert schema["examples"], "every contract carries a valid example"
    for example in schema["examples"]:
        assert contract_errors(provider, name, example) == []


@pytest.mark.parametrize(("provider", "name"), BODY_SCHEMAS, ids=_ids(BODY_SCHEMAS))
def test_schema_rejects_unknown_fields_at_every_level(provider: str, name: str) -> None:
    assert load_schema(provider, name)["additionalProperties"] is False
    closed = _walk(provider, name)
    assert closed, "the example has at least its top-level object"
    for path, _, _ in closed:
        bad = _example(provider, name)
        _at(bad, path)["surely_not_a_field"] = "x"
        assert contract_errors(provider, name, bad), f"unknown field accepted at {path}"


@pytest.mark.parametrize(("provider", "name"), ALL_SCHEMAS, ids=_ids(ALL_SCHEMAS))
def test_schema_rejects_a_missing_required_field(provider: str, name: str) -> None:
    schema = load_schema(provider, name)
    required = [
        (path, key)
        for path, obj, sub in _walk(provider, name)
        for key in sub.get("required", [])
        if key in obj
    ]
    if name == "headers":
        required = [((), "authorization")]
    alternatives = [r["required"] for r in schema.get("anyOf", []) if "required" in r]
    if not required and not alternatives:
        assert schema.get("required", []) == []
        # Nothing is required: the contract still refuses a body of the wrong kind.
        assert contract_errors(provider, name, ["a list"])
        return
    for path, key in required:
        bad = _example(provider, name)
        del _at(bad, path)[key]
        assert contract_errors(provider, name, bad), f"{key} at {path} is not required"
    if alternatives:  # one of several fields is required: without any of them it fails
        bad = _example(provider, name)
        for names in alternatives:
            for key in names:
                bad.pop(key, None)
        assert contract_errors(provider, name, bad)


@pytest.mark.parametrize(("provider", "name"), ALL_SCHEMAS, ids=_ids(ALL_SCHEMAS))
def test_schema_rejects_a_wrong_type_for_every_field(provider: str, name: str) -> None:
    example = _example(provider, name)
    assert contract_errors(provider, name, ["not", "an", "object"])
    assert contract_errors(provider, name, "not an object")
    for key, value in example.items():
        bad = _example(provider, name)
        bad[key] = _wrong_type(value)
        assert contract_errors(provider, name, bad), f"{key} accepts {bad[key]!r}"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_header_contract_wants_the_providers_auth_scheme(provider: str) -> None:
    good = _example(provider, "headers")
    assert contract_errors(provider, "headers", {**good, "user-agent": "x"}) == []
    assert contract_errors(provider, "headers", {**good, "authorization": "Nope abc"})
    assert contract_errors(provider, "headers", {})


def test_the_index_names_every_contract_with_endpoint_and_spec_version() -> None:
    index = (CONTRACTS / "README.md").read_text(encoding="utf-8")
    for provider, name in ALL_SCHEMAS:
        assert f"{provider}/{name}.json" in index
    for version in ("1.0.0", "1.5.0", "3.0.55", "listmonk"):
        assert version in index


# --- drivers: the request shapes an adapter sends --------------------------------------------


class Driver:
    """How an adapter talks to one provider: the calls the docs and the report describe."""

    fake_class: ClassVar[type[FakeProvider]]
    audience: ClassVar[Any]
    create_path: ClassVar[str]

    def __init__(self, fake: FakeProvider) -> None:
        self.fake = fake

    def auth(self) -> dict[str, str]:
        raise NotImplementedError

    def create(self, client: httpx.Client, name: str, body: str | None = None) -> str:
        raise NotImplementedError

    def lookup(self, client: httpx.Client, name: str) -> list[str]:
        raise NotImplementedError

    def schedule(self, client: httpx.Client, object_id: str, when: datetime) -> httpx.Response:
        raise NotImplementedError

    def send_now(self, client: httpx.Client, object_id: str) -> httpx.Response:
        raise NotImplementedError

    def test_send(self, client: httpx.Client, object_id: str, address: str) -> httpx.Response:
        raise NotImplementedError

    def html(self) -> str:
        return f'<html><body><p>Hi</p><a href="{self.fake.unsubscribe_tag}">Unsubscribe</a>'


class ButtondownDriver(Driver):
    fake_class = ButtondownFake
    audience = "premium"
    create_path = r"^/emails$"

    def auth(self) -> dict[str, str]:
        return {"Authorization": "Token test-buttondown-key"}

    def create(self, client: httpx.Client, name: str, body: str | None = None) -> str:
        answer = client.post(
            "/emails",
            headers={"X-Idempotency-Key": f"create-{name}"},
            json={
                "subject": f"Issue {name}",
                "body": body or self.html(),
                "description": "pre",
                "status": "draft",
                "email_type": "premium",
                "metadata": {"postcli_issue": name, "postcli_variant": "premium"},
            },
        )
        answer.raise_for_status()
        return str(answer.json()["id"])

    def lookup(self, client: httpx.Client, name: str) -> list[str]:
        found: list[str] = []
        url: str | None = "/emails"
        params: dict[str, Any] | None = {"subject": name, "ordering": "-creation_date"}
        while url:
            page = client.get(url, params=params).raise_for_status().json()
            found += [
                e["id"] for e in page["results"] if e["metadata"].get("postcli_issue") == name
            ]
            url, params = page["next"], None
        return found

    def schedule(self, client: httpx.Client, object_id: str, when: datetime) -> httpx.Response:
        return client.post(f"/emails/{object_id}/publish", json={"publish_date": when.isoformat()})

    def send_now(self, client: httpx.Client, object_id: str) -> httpx.Response:
        return client.post(f"/emails/{object_id}/publish", json={})

    def test_send(self, client: httpx.Client, object_id: str, address: str) -> httpx.Response:
        return client.post(f"/emails/{object_id}/send-draft", json={"recipients": [address]})


class ResendDriver(Driver):
    fake_class = ResendFake
    audience = "seg-premium"
    create_path = r"^/broadcasts$"

    def auth(self) -> dict[str, str]:
        return {"Authorization": "Bearer re_test_key"}

    def create(self, client: httpx.Client, name: str, body: str | None = None) -> str:
        answer = client.post(
            "/broadcasts",
            json={
                "name": name,
                "segment_id": "seg-premium",
                "from": "News <hello@example.com>",
                "subject": f"Issue {name}",
                "reply_to": ["editor@example.com"],
                "preview_text": "pre",
                "html": body or self.html(),
                "text": "Hi",
            },
        )
        answer.raise_for_status()
        return str(answer.json()["id"])

    def lookup(self, client: httpx.Client, name: str) -> list[str]:
        found: list[str] = []
        params: dict[str, str] = {"limit": "100"}
        while True:
            page = client.get("/broadcasts", params=params).raise_for_status().json()
            found += [b["id"] for b in page["data"] if b["name"] == name]
            if not page["has_more"]:
                return found
            params = {"limit": "100", "after": page["data"][-1]["id"]}

    def schedule(self, client: httpx.Client, object_id: str, when: datetime) -> httpx.Response:
        return client.post(f"/broadcasts/{object_id}/send", json={"scheduled_at": when.isoformat()})

    def send_now(self, client: httpx.Client, object_id: str) -> httpx.Response:
        return client.post(f"/broadcasts/{object_id}/send", json={})

    def test_send(self, client: httpx.Client, object_id: str, address: str) -> httpx.Response:
        return client.post(
            "/emails",
            headers={"Idempotency-Key": f"test-{object_id}-{address}"},
            json={
                "from": "News <hello@example.com>",
                "to": [address],
                "subject": "[TEST] Issue",
                "html": self.html(),
                "text": "Hi",
            },
        )


class MailchimpDriver(Driver):
    fake_class = MailchimpFake
    audience = ("list1", 48433)
    create_path = r"^/campaigns$"

    def auth(self) -> dict[str, str]:
        token = base64.b64encode(b"postcli:0123456789abcdef0123456789abcdef-us21").decode()
        return {"Authorization": f"Basic {token}"}

    def create(self, client: httpx.Client, name: str, body: str | None = None) -> str:
        answer = client.post(
            "/campaigns",
            json={
                "type": "regular",
                "recipients": {"list_id": "list1", "segment_opts": {"saved_segment_id": 48433}},
                "settings": {
                    "subject_line": f"Issue {name}",
                    "preview_text": "pre",
                    "title": name,
                    "from_name": "News",
                    "reply_to": "editor@example.com",
                },
            },
        )
        answer.raise_for_status()
        campaign_id = str(answer.json()["id"])
        client.put(
            f"/campaigns/{campaign_id}/content",
            json={"html": body or self.html(), "plain_text": "Hi"},
        ).raise_for_status()
        return campaign_id

    def lookup(self, client: httpx.Client, name: str) -> list[str]:
        found: list[str] = []
        offset = 0
        while True:
            page = (
                client.get(
                    "/campaigns",
                    params={
                        "list_id": "list1",
                        "count": "2",
                        "offset": str(offset),
                        "sort_field": "create_time",
                        "sort_dir": "DESC",
                    },
                )
                .raise_for_status()
                .json()
            )
            found += [c["id"] for c in page["campaigns"] if c["settings"]["title"] == name]
            offset += len(page["campaigns"])
            if not page["campaigns"] or offset >= page["total_items"]:
                return found

    def schedule(self, client: httpx.Client, object_id: str, when: datetime) -> httpx.Response:
        return client.post(
            f"/campaigns/{object_id}/actions/schedule",
            json={"schedule_time": when.astimezone(UTC).isoformat()},
        )

    def send_now(self, client: httpx.Client, object_id: str) -> httpx.Response:
        return client.post(f"/campaigns/{object_id}/actions/send")

    def test_send(self, client: httpx.Client, object_id: str, address: str) -> httpx.Response:
        return client.post(
            f"/campaigns/{object_id}/actions/test",
            json={"test_emails": [address], "send_type": "html"},
        )


class ListmonkDriver(Driver):
    fake_class = ListmonkFake
    audience = (4,)
    create_path = r"^/api/campaigns$"

    def auth(self) -> dict[str, str]:
        return {"Authorization": "token postcli:test-listmonk-token"}

    def fields(self, name: str, body: str | None = None) -> dict[str, Any]:
        return {
            "name": name,
            "subject": f"Issue {name}",
            "lists": [4],
            "from_email": "News <hello@example.com>",
            "type": "regular",
            "content_type": "html",
            "body": body or self.html(),
            "altbody": "Hi",
            "messenger": "email",
            "tags": ["postcli", _issue_tag(name)],
        }

    def create(self, client: httpx.Client, name: str, body: str | None = None) -> str:
        answer = client.post("/api/campaigns", json=self.fields(name, body))
        answer.raise_for_status()
        return str(answer.json()["data"]["id"])

    def lookup(self, client: httpx.Client, name: str) -> list[str]:
        found: list[str] = []
        page = 1
        while True:
            data = (
                client.get(
                    "/api/campaigns",
                    params={
                        "tag": _issue_tag(name),
                        "no_body": "true",
                        "page": str(page),
                        "per_page": "2",
                    },
                )
                .raise_for_status()
                .json()["data"]
            )
            found += [str(c["id"]) for c in data["results"] if c["name"] == name]
            if page * max(data["per_page"], 1) >= data["total"]:
                return found
            page += 1

    def schedule(self, client: httpx.Client, object_id: str, when: datetime) -> httpx.Response:
        # listmonk's update handler needs `lists` in every PUT ("invalid list IDs" otherwise).
        dated = client.put(
            f"/api/campaigns/{object_id}", json={"send_at": when.isoformat(), "lists": [4]}
        )
        if dated.is_error:
            return dated
        return client.put(f"/api/campaigns/{object_id}/status", json={"status": "scheduled"})

    def send_now(self, client: httpx.Client, object_id: str) -> httpx.Response:
        return client.put(f"/api/campaigns/{object_id}/status", json={"status": "running"})

    def test_send(self, client: httpx.Client, object_id: str, address: str) -> httpx.Response:
        return client.post(
            f"/api/campaigns/{object_id}/test",
            json={**self.fields("test"), "subscribers": [address]},
        )


def _issue_tag(name: str) -> str:
    """The issue id in a campaign name postcli:<issue-id>:<variant>:<hash>, else the name."""
    return name.split(":")[1] if name.count(":") == 3 else name


DRIVERS: dict[str, type[Driver]] = {
    "buttondown": ButtondownDriver,
    "resend": ResendDriver,
    "mailchimp": MailchimpDriver,
    "listmonk": ListmonkDriver,
}


@pytest.fixture(params=PROVIDERS)
def driver(request: pytest.FixtureRequest) -> Driver:
    fake = FAKES[request.param](now=lambda: NOW, page_size=2)
    return DRIVERS[request.param](fake)


@pytest.fixture
def client(driver: Driver) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=driver.fake.base_url,
        headers=driver.auth(),
        transport=httpx.MockTransport(driver.fake.handle),
        timeout=0.5,
    ) as client:
        yield client


# --- the fakes: every provider ---------------------------------------------------------------


def test_fakes_cover_every_provider_with_a_contract() -> None:
    from fakes import PLATFORM_FAKES, PLATFORMS  # Ghost, Kit, beehiiv

    # The bulk senders' fakes live in tests/fakes/ (postmark_fake, mailgun_fake, sendgrid_fake).
    bulk = {"postmark", "mailgun", "sendgrid"}
    assert all((Path(__file__).parent / "fakes" / f"{name}_fake.py").is_file() for name in bulk)
    assert set(FAKES) == set(PROVIDERS) and set(PLATFORM_FAKES) == set(PLATFORMS)
    assert {p.name for p in CONTRACTS.iterdir() if p.is_dir()} == {*PROVIDERS, *PLATFORMS, *bulk}


def test_the_drivers_requests_all_keep_the_contract(driver: Driver, client: httpx.Client) -> None:
    first = driver.create(client, "2026-12-01-a")
    second = driver.create(client, "2026-12-01-b")
    assert driver.schedule(client, first, LATER).status_code < 300
    assert driver.send_now(client, second).status_code < 300
    assert driver.test_send(client, first, "editor@example.com").status_code < 300
    assert driver.lookup(client, "2026-12-01-a") == [first]
    assert driver.fake.violations == []
    kinds = sorted((d.kind, d.object_id) for d in driver.fake.deliveries if d.kind != "test")
    assert kinds == sorted([("schedule", first), ("send", second)])
    assert [d.recipients for d in driver.fake.sends("test")] == [("editor@example.com",)]
    scheduled = driver.fake.sends("schedule")[0]
    assert scheduled.at == LATER
    assert scheduled.audience == driver.audience


def test_every_request_is_recorded(driver: Driver, client: httpx.Client) -> None:
    driver.create(client, "issue")
    client.get("/nowhere")
    recorded = driver.fake.calls()
    assert [r.method for r in recorded][-1] == "GET"
    assert recorded[0].method == "POST"
    assert recorded[0].headers["authorization"] == driver.auth()["Authorization"]
    assert recorded[0].body is not None
    assert recorded[-1].status == 404
    assert driver.fake.calls("POST", driver.create_path)[0].status in (200, 201)


def test_lookup_pages_through_many_objects(driver: Driver, client: httpx.Client) -> None:
    made = [driver.create(client, f"issue-{n}") for n in range(5)]
    assert driver.lookup(client, "issue-3") == [made[3]]
    assert driver.lookup(client, "issue-9") == []
    assert len(driver.fake.objects) == 5


def test_unknown_field_is_refused_and_changes_nothing(driver: Driver, client: httpx.Client) -> None:
    body = _example(driver.fake.name, _create_contract(driver))
    body["surely_not_a_field"] = 1
    answer = client.post(_create_url(driver), json=body)
    assert answer.status_code in (400, 422)
    assert driver.fake.objects == {}
    assert any("surely_not_a_field" in v for v in driver.fake.violations)


def test_missing_required_field_is_refused(driver: Driver, client: httpx.Client) -> None:
    body = _example(driver.fake.name, _create_contract(driver))
    del body["subject" if "subject" in body else "type"]
    answer = client.post(_create_url(driver), json=body)
    assert answer.status_code in (400, 422)
    assert driver.fake.violations


def _create_contract(driver: Driver) -> str:
    return (
        "create_broadcast"
        if driver.fake.name == "resend"
        else ("create_email" if driver.fake.name == "buttondown" else "create_campaign")
    )


def _create_url(driver: Driver) -> str:
    return driver.create_path.strip("^$")


def test_wrong_or_missing_key_is_refused(driver: Driver) -> None:
    fake = driver.fake
    for headers in (
        {"Authorization": "Token wrong"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic d3Jvbmc6d3Jvbmc="},
        {},
    ):
        with httpx.Client(
            base_url=fake.base_url, headers=headers, transport=httpx.MockTransport(fake.handle)
        ) as client:
            answer = client.get(_create_url(driver))
        assert answer.status_code in (401, 403), headers
        assert answer.json(), "the provider's own error body"
    assert fake.objects == {}


def test_throttle_answers_429_with_retry_after_then_recovers(
    driver: Driver, client: httpx.Client
) -> None:
    driver.fake.throttle(2, retry_after=7)
    for _ in range(2):
        answer = client.post(_create_url(driver), json={})
        assert answer.status_code == 429
        assert answer.headers["Retry-After"] == "7"
        assert answer.json()
    assert driver.fake.objects == {}
    driver.create(client, "after-the-storm")
    assert len(driver.fake.objects) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors(driver: Driver, client: httpx.Client, status: int) -> None:
    driver.fake.fail(1, status=status, method="POST", path=driver.create_path)
    assert client.get(_create_url(driver)).status_code == 200  # not a POST: untouched
    answer = client.post(_create_url(driver), json={})
    assert answer.status_code == status
    assert answer.json()
    driver.create(client, "second-try")
    assert len(driver.fake.objects) == 1


@pytest.mark.parametrize("status", [401, 422])
def test_refusals_use_the_providers_error_shape(
    driver: Driver, client: httpx.Client, status: int
) -> None:
    driver.fake.refuse(status=status, message="nope, said the provider")
    answer = client.get(_create_url(driver))
    assert answer.status_code == status
    body = answer.json()
    shape = {
        "buttondown": {"detail"},
        "resend": {"statusCode", "name", "message"},
        "mailchimp": {"type", "title", "status", "detail", "instance"},
        "listmonk": {"message"},
    }[driver.fake.name]
    assert shape <= set(body)
    assert "nope, said the provider" in str(body)


def test_dropped_create_keeps_the_object_for_lookup(driver: Driver, client: httpx.Client) -> None:
    driver.fake.drop(1, path=driver.create_path)
    with pytest.raises(httpx.RemoteProtocolError):
        driver.create(client, "lost-answer")
    assert driver.fake.calls("POST", driver.create_path)[0].outcome == "dropped"
    found = driver.lookup(client, "lost-answer")
    assert len(found) == 1 and found[0] in {str(k) for k in driver.fake.objects}


def test_late_answer_times_out_but_takes_effect(driver: Driver, client: httpx.Client) -> None:
    driver.fake.delay(1, seconds=5.0, path=driver.create_path)  # the client waits 0.5 s
    with pytest.raises(httpx.ReadTimeout):
        driver.create(client, "slow")
    assert len(driver.lookup(client, "slow")) == 1


def test_unsubscribe_merge_tag_is_required_to_send(driver: Driver, client: httpx.Client) -> None:
    object_id = driver.create(client, "no-footer", body="<html><body>Hi</body></html>")
    answer = driver.send_now(client, object_id)
    assert answer.status_code in (400, 422)
    assert driver.fake.unsubscribe_tag in answer.text
    assert driver.fake.sends("send") == []


def test_sending_twice_is_refused(driver: Driver, client: httpx.Client) -> None:
    object_id = driver.create(client, "once")
    assert driver.send_now(client, object_id).status_code < 300
    again = driver.send_now(client, object_id)
    assert again.status_code in (400, 422)
    assert len(driver.fake.sends("send")) == 1


def test_scheduling_in_the_past_is_refused(driver: Driver, client: httpx.Client) -> None:
    object_id = driver.create(client, "late")
    answer = driver.schedule(client, object_id, NOW - timedelta(days=1))
    assert answer.status_code in (400, 422)
    assert driver.fake.sends("schedule") == []


# --- over a real server ---------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
def test_end_to_end_through_a_real_server(provider: str) -> None:
    fake = FAKES[provider](now=lambda: NOW, page_size=2)
    driver = DRIVERS[provider](fake)
    with serve(fake) as server:
        assert fake.base_url == server.base_url
        assert server.base_url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=server.base_url, headers=driver.auth(), timeout=0.5) as client:
            first = driver.create(client, "real")
            assert driver.schedule(client, first, LATER).status_code < 300
            fake.drop(1, path=driver.create_path)
            with pytest.raises(httpx.RemoteProtocolError):
                driver.create(client, "dropped")
            assert len(driver.lookup(client, "dropped")) == 1
            fake.delay(1, seconds=2.0, path=driver.create_path)
            with pytest.raises(httpx.ReadTimeout):
                driver.create(client, "slow")
            fake.throttle(1, retry_after=2)
            answer = client.get(_create_url(driver))
            assert (answer.status_code, answer.headers["retry-after"]) == (429, "2")
            assert driver.lookup(client, "slow") != []
    assert fake.base_url == fake.default_base_url
    assert fake.violations == []
    assert len(fake.objects) == 3


# --- provider by provider -------------------------------------------------------------------


def _client(fake: FakeProvider, headers: dict[str, str]) -> httpx.Client:
    return httpx.Client(
        base_url=fake.base_url, headers=headers, transport=httpx.MockTransport(fake.handle)
    )


def test_buttondown_idempotency_key_replays_the_first_answer() -> None:
    fake = ButtondownFake(now=lambda: NOW)
    body = _example("buttondown", "create_email")
    with _client(fake, ButtondownDriver(fake).auth()) as client:
        first = client.post("/emails", json=body, headers={"X-Idempotency-Key": "k"})
        again = client.post("/emails", json=body, headers={"X-Idempotency-Key": "k"})
        other = client.post(
            "/emails", json={**body, "subject": "Another"}, headers={"X-Idempotency-Key": "k"}
        )
    assert first.json()["id"] == again.json()["id"]
    assert len(fake.emails) == 1
    assert other.status_code == 409


def test_buttondown_pagination_links_and_status_filter() -> None:
    fake = ButtondownFake(now=lambda: NOW, page_size=2)
    driver = ButtondownDriver(fake)
    with _client(fake, driver.auth()) as client:
        ids = [driver.create(client, f"n{i}") for i in range(3)]
        driver.send_now(client, ids[0])
        page = client.get("/emails", params={"status": ["draft"]}).json()
        assert page["count"] == 2 and page["previous"] is None and page["next"] is None
        first = client.get("/emails").json()
        assert first["count"] == 3 and len(first["results"]) == 2
        second = client.get(first["next"]).json()
        assert [e["id"] for e in second["results"]] == [ids[2]]
        assert second["previous"] is not None
        assert client.get("/emails", params={"page": "9"}).status_code == 404
    assert fake.emails[ids[0]]["status"] == "about_to_send"


def test_buttondown_creating_without_status_sends_at_once() -> None:
    fake = ButtondownFake(now=lambda: NOW)
    with _client(fake, ButtondownDriver(fake).auth()) as client:
        answer = client.post(
            "/emails", json={"subject": "Hi", "body": "{{ unsubscribe_url }}", "email_type": "free"}
        )
    assert answer.json()["status"] == "about_to_send"
    assert [(d.kind, d.audience) for d in fake.deliveries] == [("send", "free")]


def test_resend_missing_and_invalid_keys_differ() -> None:
    fake = ResendFake()
    with _client(fake, {}) as client:
        missing = client.get("/broadcasts")
    with _client(fake, {"Authorization": "Bearer re_wrong"}) as client:
        invalid = client.get("/broadcasts")
    assert (missing.status_code, missing.json()["name"]) == (401, "missing_api_key")
    assert (invalid.status_code, invalid.json()["name"]) == (403, "invalid_api_key")


def test_resend_unknown_segment_and_update_of_a_sent_broadcast() -> None:
    fake = ResendFake(now=lambda: NOW, segments={"seg-premium"})
    driver = ResendDriver(fake)
    with _client(fake, driver.auth()) as client:
        body = {**_example("resend", "create_broadcast"), "segment_id": "seg-unknown"}
        assert client.post("/broadcasts", json=body).status_code == 404
        broadcast = driver.create(client, "b")
        assert client.patch(f"/broadcasts/{broadcast}", json={"subject": "New"}).status_code == 200
        driver.send_now(client, broadcast)
        refused = client.patch(f"/broadcasts/{broadcast}", json={"subject": "Newer"})
        assert refused.status_code == 422
        got = client.get(f"/broadcasts/{broadcast}").json()
    assert (got["subject"], got["status"]) == ("New", "queued")


def test_resend_test_email_is_idempotent() -> None:
    fake = ResendFake(now=lambda: NOW)
    driver = ResendDriver(fake)
    with _client(fake, driver.auth()) as client:
        one = driver.test_send(client, "b1", "editor@example.com")
        two = driver.test_send(client, "b1", "editor@example.com")
    assert one.json() == two.json()
    assert len(fake.sends("test")) == 1


def test_resend_before_cursor() -> None:
    fake = ResendFake(now=lambda: NOW)
    driver = ResendDriver(fake)
    with _client(fake, driver.auth()) as client:
        ids = [driver.create(client, f"b{i}") for i in range(4)]
        newest_first = client.get("/broadcasts", params={"limit": "4"}).json()["data"]
        assert [b["id"] for b in newest_first] == ids[::-1]
        before = client.get("/broadcasts", params={"limit": "1", "before": ids[1]}).json()
        assert [b["id"] for b in before["data"]] == [ids[2]] and before["has_more"]
        both = client.get("/broadcasts", params={"after": ids[0], "before": ids[1]})
        assert both.status_code == 422


def test_mailchimp_schedule_wants_a_quarter_hour_in_utc() -> None:
    fake = MailchimpFake(now=lambda: NOW)
    driver = MailchimpDriver(fake)
    with _client(fake, driver.auth()) as client:
        campaign = driver.create(client, "c")
        off = driver.schedule(client, campaign, LATER + timedelta(minutes=7))
        assert off.status_code == 400
        assert "quarter-hour" in off.json()["errors"][0]["message"]
        assert off.headers["content-type"] == "application/problem+json"
        local = client.post(
            f"/campaigns/{campaign}/actions/schedule",
            json={"schedule_time": "2026-12-01T09:00:00+09:00"},
        )
        assert local.status_code == 400  # the contract wants UTC
        assert driver.schedule(client, campaign, LATER).status_code == 204
        assert client.get(f"/campaigns/{campaign}").json()["status"] == "schedule"
        assert client.post(f"/campaigns/{campaign}/actions/unschedule").status_code == 204
    assert fake.sends("schedule") == []


def test_mailchimp_needs_content_before_sending_and_search_finds_titles() -> None:
    fake = MailchimpFake(now=lambda: NOW)
    driver = MailchimpDriver(fake)
    with _client(fake, driver.auth()) as client:
        body = _example("mailchimp", "create_campaign")
        campaign = client.post("/campaigns", json=body).json()["id"]
        assert client.post(f"/campaigns/{campaign}/actions/send").status_code == 400
        found = client.get("/search-campaigns", params={"query": "china-ai"}).json()
        assert [r["campaign"]["id"] for r in found["results"]] == [campaign]
        settings = {"subject_line": "S", "from_name": "F", "reply_to": "r@example.com"}
        assert (
            client.patch(f"/campaigns/{campaign}", json={"settings": settings}).status_code == 200
        )
        assert (
            client.patch(
                f"/campaigns/{campaign}", json={"settings": {"subject_line": "S"}}
            ).status_code
            == 400
        )
    assert fake.campaigns[campaign]["settings"]["subject_line"] == "S"


def test_mailchimp_basic_auth_takes_any_user_name() -> None:
    fake = MailchimpFake()
    token = base64.b64encode(b"anyone:0123456789abcdef0123456789abcdef-us21").decode()
    with _client(fake, {"Authorization": f"Basic {token}"}) as client:
        assert client.get("/campaigns").json() == {"campaigns": [], "total_items": 0, "_links": []}


def test_listmonk_status_rules() -> None:
    fake = ListmonkFake(now=lambda: NOW)
    driver = ListmonkDriver(fake)
    with _client(fake, driver.auth()) as client:
        campaign = driver.create(client, "c")
        status = f"/api/campaigns/{campaign}/status"
        no_date = client.put(status, json={"status": "scheduled"})
        assert no_date.status_code == 400 and "send_at" in no_date.json()["message"]
        assert driver.schedule(client, campaign, LATER).status_code == 200
        assert client.put(status, json={"status": "draft"}).status_code == 200
        assert client.put(status, json={"status": "paused"}).status_code == 400
        assert client.put(status, json={"status": "running"}).status_code == 200
        edit = client.put(f"/api/campaigns/{campaign}", json={"subject": "Changed"})
        assert edit.status_code == 400
        assert client.put(status, json={"status": "bogus"}).status_code == 400
    assert [d.kind for d in fake.deliveries] == ["send"]


def test_listmonk_query_matches_name_and_subject_and_basic_auth_works() -> None:
    fake = ListmonkFake(now=lambda: NOW, lists={4: "Premium"})
    driver = ListmonkDriver(fake)
    token = base64.b64encode(b"postcli:test-listmonk-token").decode()
    with _client(fake, {"Authorization": f"Basic {token}"}) as client:
        driver.create(client, "alpha")
        driver.create(client, "beta")
        bad_list = client.post("/api/campaigns", json={**driver.fields("x"), "lists": [99]})
        assert bad_list.status_code == 400
        data = client.get("/api/campaigns", params={"query": "ISSUE ALPHA"}).json()["data"]
        assert [c["name"] for c in data["results"]] == ["alpha"]
        assert data["results"][0]["lists"] == [{"id": 4, "name": "Premium"}]
        every = client.get("/api/campaigns", params={"per_page": "all", "no_body": "true"})
        assert [c["body"] for c in every.json()["data"]["results"]] == ["", ""]
        none = client.get("/api/campaigns", params={"query": "gamma"}).json()["data"]
        assert none == {"results": [], "query": "", "total": 0, "per_page": 0, "page": 0}


def test_listmonk_test_send_only_reaches_known_subscribers() -> None:
    fake = ListmonkFake(now=lambda: NOW, subscribers={"editor@example.com"})
    driver = ListmonkDriver(fake)
    with _client(fake, driver.auth()) as client:
        campaign = driver.create(client, "c")
        assert driver.test_send(client, campaign, "Editor@Example.com").status_code == 200
        assert driver.test_send(client, campaign, "stranger@example.com").status_code == 404
    assert [d.recipients for d in fake.sends("test")] == [("editor@example.com",)]


def test_an_impossible_date_is_refused_not_crashed_on() -> None:
    fake = ResendFake(now=lambda: NOW)
    driver = ResendDriver(fake)
    with _client(fake, driver.auth()) as client:
        broadcast = driver.create(client, "b")
        answer = client.post(
            f"/broadcasts/{broadcast}/send", json={"scheduled_at": "2026-13-45T99:00:00Z"}
        )
    assert answer.status_code == 422
    assert fake.broadcasts[broadcast]["status"] == "draft"


def test_resend_after_cursor_pages_to_the_end() -> None:
    fake = ResendFake(now=lambda: NOW)
    driver = ResendDriver(fake)
    with _client(fake, driver.auth()) as client:
        ids = [driver.create(client, f"b{i}") for i in range(5)]
        seen: list[str] = []
        params = {"limit": "2"}
        while True:
            page = client.get("/broadcasts", params=params).json()
            seen += [b["id"] for b in page["data"]]
            if not page["has_more"]:
                break
            params = {"limit": "2", "after": page["data"][-1]["id"]}
        assert client.get("/broadcasts", params={"limit": "101"}).status_code == 422
    assert seen == ids[::-1]


def test_mailchimp_offset_pagination_and_filters() -> None:
    fake = MailchimpFake(now=lambda: NOW)
    driver = MailchimpDriver(fake)
    with _client(fake, driver.auth()) as client:
        ids = [driver.create(client, f"c{i}") for i in range(3)]
        driver.send_now(client, ids[1])
        page = client.get("/campaigns", params={"count": "2", "offset": "2"}).json()
        assert (page["total_items"], [c["id"] for c in page["campaigns"]]) == (3, [ids[2]])
        sent = client.get("/campaigns", params={"status": "sending"}).json()
        assert [c["id"] for c in sent["campaigns"]] == [ids[1]]
        other_list = client.get("/campaigns", params={"list_id": "elsewhere"}).json()
        assert other_list["total_items"] == 0
        bad = client.get("/campaigns", params={"status": "bogus"})
        assert bad.status_code == 400 and bad.json()["errors"]


def test_header_rules_beyond_auth() -> None:
    fake = ButtondownFake(now=lambda: NOW)
    body = _example("buttondown", "create_email")
    with _client(fake, ButtondownDriver(fake).auth()) as client:
        long_key = client.post("/emails", json=body, headers={"X-Idempotency-Key": "k" * 201})
        as_text = client.post(
            "/emails", content=b'{"subject": "x"}', headers={"Content-Type": "text/plain"}
        )
        not_json = client.post(
            "/emails", content=b"{", headers={"Content-Type": "application/json"}
        )
    assert [r.status_code for r in (long_key, as_text, not_json)] == [422, 422, 422]
    assert fake.emails == {}
    assert len(fake.violations) == 3


def test_an_endpoint_without_a_body_refuses_one_and_unknown_methods_get_405() -> None:
    fake = MailchimpFake(now=lambda: NOW)
    driver = MailchimpDriver(fake)
    with _client(fake, driver.auth()) as client:
        campaign = driver.create(client, "c")
        with_body = client.post(f"/campaigns/{campaign}/actions/send", json={"now": True})
        assert with_body.status_code == 400
        assert client.delete(f"/campaigns/{campaign}/content").status_code == 405
        assert client.get(f"/campaigns/{campaign}", params={"x": "1"}).status_code == 400
    assert fake.sends() == []
