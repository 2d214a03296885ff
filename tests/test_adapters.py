"""The four HTTP provider adapters (Buttondown, Resend, Mailchimp, listmonk), contract-tested.

Every request an adapter makes goes to the fake provider of tests/fakes/<provider>.py, which
validates it against tests/contracts/ and keeps state: create, schedule, send now, test sends,
look-ups and resumes; faults injected through the transport (429 with Retry-After, 500, 503,
timeouts, a connection dropped after the provider acted); the provider's refusals and outages
as exit codes 3 and 4; and `postcli send` end to end against each fake served on 127.0.0.1.
Retry waits are recorded, never slept.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes import FAKES
from helpers.fake_api import FakeProvider, serve
from helpers.workspace import publishable
from postcli import providers
from postcli.config import Newsletter, Settings
from postcli.errors import ConfigError, ExitCode, ProviderRefused, ProviderUnavailable
from postcli.issues import Variant
from postcli.providers._http import RetryPolicy
from postcli.providers.base import Campaign, Delivery, campaign_name
from postcli.providers.mailchimp import quarter_hour, title_for
from postcli.render import RenderedEmail

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # a quarter hour, in the future
ISSUE_ID = "2026-12-01-adapters"
ADDRESS = "editor@example.org"
NAMES = ("buttondown", "resend", "mailchimp", "listmonk")


@dataclass(frozen=True)
class Spec:
    """One provider as the tests set it up: its environment, settings and audiences."""

    env: dict[str, str]
    options: dict[str, Any]
    audience: dict[str, Any]  # variant -> the fake's Delivery.audience
    create_path: str
    merge_tag: str
    secret: str
    needs_base_url: bool = False
    flow: dict[str, list[str]] = field(default_factory=dict)


SPECS: dict[str, Spec] = {
    "buttondown": Spec(
        env={"BUTTONDOWN_API_KEY": "test-buttondown-key"},
        options={},
        audience={"free": "free", "premium": "premium"},
        create_path=r"^/emails$",
        merge_tag="{{ unsubscribe_url }}",
        secret="test-buttondown-key",
        flow={
            "send": ["GET /emails", "POST /emails", "POST /emails/ID/publish", "GET /emails/ID"],
            "schedule": [
                "GET /emails",
                "POST /emails",
                "POST /emails/ID/publish",
                "GET /emails/ID",
            ],
            "test": ["GET /emails", "POST /emails", "POST /emails/ID/send-draft"],
        },
    ),
    "resend": Spec(
        env={"RESEND_API_KEY": "re_test_key"},
        options={"audiences": {"free": "seg-free", "premium": "seg-premium"}},
        audience={"free": "seg-free", "premium": "seg-premium"},
        create_path=r"^/broadcasts$",
        merge_tag="{{{RESEND_UNSUBSCRIBE_URL}}}",
        secret="re_test_key",
        flow={
            "send": [
                "GET /broadcasts",
                "POST /broadcasts",
                "POST /broadcasts/ID/send",
                "GET /broadcasts/ID",
            ],
            "schedule": [
                "GET /broadcasts",
                "POST /broadcasts",
                "POST /broadcasts/ID/send",
                "GET /broadcasts/ID",
            ],
            "test": ["POST /emails"],
        },
    ),
    "mailchimp": Spec(
        env={"MAILCHIMP_API_KEY": "0123456789abcdef0123456789abcdef-us21"},
        options={"list_id": "list1", "audiences": {"free": "101", "premium": 202}},
        audience={"free": ("list1", 101), "premium": ("list1", 202)},
        create_path=r"^/campaigns$",
        merge_tag="*|UNSUB|*",
        secret="0123456789abcdef0123456789abcdef-us21",
        flow={
            "send": [
                "GET /campaigns",
                "POST /campaigns",
                "PUT /campaigns/ID/content",
                "POST /campaigns/ID/actions/send",
                "GET /campaigns/ID",
            ],
            "schedule": [
                "GET /campaigns",
                "POST /campaigns",
                "PUT /campaigns/ID/content",
                "POST /campaigns/ID/actions/schedule",
                "GET /campaigns/ID",
            ],
            "test": [
                "GET /campaigns",
                "POST /campaigns",
                "PUT /campaigns/ID/content",
                "POST /campaigns/ID/actions/test",
            ],
        },
    ),
    "listmonk": Spec(
        env={"LISTMONK_API_USER": "postcli", "LISTMONK_API_TOKEN": "test-listmonk-token"},
        options={"audiences": {"free": [3], "premium": [4]}},
        audience={"free": (3,), "premium": (4,)},
        create_path=r"^/api/campaigns$",
        merge_tag="{{ UnsubscribeURL }}",
        secret="test-listmonk-token",
        needs_base_url=True,
        flow={
            "send": [
                "GET /api/campaigns",
                "POST /api/campaigns",
                "PUT /api/campaigns/ID/status",
                "GET /api/campaigns/ID",
            ],
            "schedule": [
                "GET /api/campaigns",
                "POST /api/campaigns",
                "PUT /api/campaigns/ID",
                "PUT /api/campaigns/ID/status",
                "GET /api/campaigns/ID",
            ],
            "test": [
                "GET /api/campaigns",
                "POST /api/campaigns",
                "POST /api/campaigns/ID/test",
            ],
        },
    ),
}


# --- helpers --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_provider_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key from the developer's own environment leaks into a test."""
    for spec in SPECS.values():
        for variable in spec.env:
            monkeypatch.delenv(variable, raising=False)


def settings_for(name: str, base_url: str | None = None, **options: Any) -> Settings:
    values = {**SPECS[name].options, **options}
    if base_url is not None:
        values["base_url"] = base_url
    return Settings(
        root=Path("."),
        newsletter=Newsletter(
            name="News",
            from_="News <hello@example.com>",
            reply_to="editor@example.com",
            timezone="Asia/Seoul",
            unsubscribe_url="https://example.com/unsubscribe?email={email}",
        ),
        provider=name,
        providers={name: values},
    )


@dataclass
class Setup:
    name: str
    fake: FakeProvider
    provider: Any
    sleeps: list[float]
    checkpoints: list[str]

    def campaign(
        self,
        variant: str = "premium",
        *,
        send_at: datetime | None = None,
        remote_id: str | None = None,
        subject: str = "Issue 7: agents",
        body: str = "Hello",
    ) -> Campaign:
        tag = SPECS[self.name].merge_tag
        email = RenderedEmail(
            issue_id=ISSUE_ID,
            variant=Variant(variant),
            subject=subject,
            preheader="What this issue is about",
            html=f'<html><body><p>{body}</p><a href="{tag}">Unsubscribe</a></body></html>',
            text=f"{body}\n\nUnsubscribe: {tag}\n",
            cut=variant == "free",
        )
        return Campaign(
            issue_id=ISSUE_ID,
            variant=variant,
            name=campaign_name(ISSUE_ID, variant, f"{abs(hash((subject, body))):016x}"[:16]),
            email=email,
            sender="News <hello@example.com>",
            reply_to="editor@example.com",
            send_at=send_at,
            remote_id=remote_id,
        )

    def send(self, campaign: Campaign) -> Delivery:
        return self.provider.send_campaign(campaign, self.checkpoints.append)

    def flow(self) -> list[str]:
        """The recorded requests as 'METHOD /path', remote ids replaced by ID."""
        ids = sorted(self.fake.objects, key=len, reverse=True)
        out = []
        for record in self.fake.requests:
            path = record.path
            for object_id in ids:
                path = path.replace(f"/{object_id}", "/ID")
            out.append(f"{record.method} {path}")
        return out


def make(
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    *,
    page_size: int = 20,
    timeout: float = 5.0,
    attempts: int = 4,
    **fake_options: Any,
) -> Setup:
    for variable, value in SPECS[name].env.items():
        monkeypatch.setenv(variable, value)
    fake = FAKES[name](now=lambda: NOW, page_size=page_size, **fake_options)
    base_url = fake.base_url if SPECS[name].needs_base_url else None
    client = httpx.Client(transport=httpx.MockTransport(fake.handle), timeout=timeout)
    sleeps: list[float] = []
    cls = providers.provider_class(name)
    provider = cls(
        settings_for(name, base_url),
        client=client,
        retry=RetryPolicy(attempts=attempts),
        sleep=sleeps.append,
    )
    provider.validate()
    return Setup(name, fake, provider, sleeps, [])


# --- the registry and the basics ---------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_each_adapter_is_registered_with_its_merge_tag_and_features(name: str) -> None:
    assert name in providers.names()
    cls = providers.provider_class(name)
    assert cls.name == name
    assert cls.unsubscribe_tag == SPECS[name].merge_tag == FAKES[name].unsubscribe_tag
    assert cls.features.native_schedule and cls.features.find_by_name
    assert not cls.features.per_recipient


# --- contract tests: every request of every scenario -------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_create_and_send_now_reaches_each_variants_audience(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make(name, monkeypatch)
    deliveries = [setup.send(setup.campaign(v)) for v in ("free", "premium")]
    fake = setup.fake
    assert fake.violations == []
    assert [d.status for d in deliveries] == ["sent", "sent"]
    assert [(d.kind, d.audience) for d in fake.sends()] == [
        ("send", SPECS[name].audience["free"]),
        ("send", SPECS[name].audience["premium"]),
    ]
    assert setup.checkpoints == [d.remote_id for d in deliveries]
    assert len(fake.objects) == 2
    assert setup.flow() == SPECS[name].flow["send"] * 2
    assert setup.sleeps == []


@pytest.mark.parametrize("name", NAMES)
def test_schedule_hands_the_provider_the_time_in_utc(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make(name, monkeypatch)
    delivery = setup.send(setup.campaign("free", send_at=LATER))
    assert setup.fake.violations == []
    assert delivery.status == "scheduled" and delivery.remote_id == setup.checkpoints[0]
    assert [(d.kind, d.audience, d.at) for d in setup.fake.sends()] == [
        ("schedule", SPECS[name].audience["free"], LATER)
    ]
    assert setup.flow() == SPECS[name].flow["schedule"]
    # Asked again, it is found scheduled and left alone.
    again = setup.send(setup.campaign("free", send_at=LATER))
    assert (again.status, again.remote_id) == ("scheduled", delivery.remote_id)
    assert len(setup.fake.sends()) == 1 and len(setup.fake.objects) == 1


@pytest.mark.parametrize("name", NAMES)
def test_a_test_send_reaches_one_address_and_never_the_real_campaign(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make(name, monkeypatch)
    campaign = setup.campaign("free", subject="[TEST] Issue 7")
    delivery = setup.provider.send_test(campaign, ADDRESS)
    fake = setup.fake
    assert fake.violations == []
    assert delivery.status == "sent"
    assert [(d.kind, d.recipients) for d in fake.sends()] == [("test", (ADDRESS,))]
    assert setup.flow() == SPECS[name].flow["test"]
    assert setup.provider.find_campaign(campaign.name) is None  # the real one is not made
    posted = [json.dumps(r.body) for r in fake.requests if r.method == "POST" and r.body]
    assert any("[TEST] Issue 7" in body for body in posted)
    # A second test reuses the test draft.
    setup.provider.send_test(campaign, ADDRESS)
    assert len(fake.sends("test")) == 2
    assert len(fake.objects) == (0 if name == "resend" else 1)


def test_resend_test_copy_links_to_the_newsletters_own_unsubscribe_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup = make("resend", monkeypatch)
    setup.provider.send_test(setup.campaign("free", subject="[TEST] x"), "a+b@example.org")
    (request,) = setup.fake.calls("POST", r"^/emails$")
    assert "RESEND_UNSUBSCRIBE_URL" not in request.body["html"] + request.body["text"]
    assert "https://example.com/unsubscribe?email=a%2Bb@example.org" in request.body["text"]
    assert request.headers["idempotency-key"]


@pytest.mark.parametrize("name", NAMES)
def test_look_up_finds_a_campaign_by_name_across_pages_with_its_status(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if name in ("resend", "mailchimp"):
        monkeypatch.setattr(f"postcli.providers.{name}.PAGE", 2)
    setup = make(name, monkeypatch, page_size=2)
    provider = setup.provider
    oldest = setup.campaign("free", body="oldest")
    provider.send_campaign(oldest, setup.checkpoints.append)
    scheduled = setup.campaign("premium", body="later", send_at=LATER)
    provider.send_campaign(scheduled, setup.checkpoints.append)
    for i in range(5):  # newer campaigns push the first ones to later pages
        provider.send_campaign(setup.campaign("free", body=f"pad {i}", send_at=LATER), print)
    if name != "resend":
        provider.send_test(setup.campaign("free", body="draft 0"), ADDRESS)
    found = provider.find_campaign(oldest.name)
    assert found is not None and (found.remote_id, found.status) == (setup.checkpoints[0], "sent")
    later = provider.find_campaign(scheduled.name)
    assert later is not None and later.status == "scheduled"
    assert provider.find_campaign(campaign_name(ISSUE_ID, "free", "0" * 16)) is None
    if name != "resend":
        draft = provider.find_campaign(setup.campaign("free", body="draft 0").name + ":test")
        assert draft is not None and draft.status == "draft"
    assert setup.fake.violations == []


@pytest.mark.parametrize("name", NAMES)
def test_a_draft_left_by_an_earlier_run_is_finished_not_made_again(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make(name, monkeypatch)
    campaign = setup.campaign("premium")
    remote_id = setup.provider._create(campaign, campaign.name)  # a run that died after this
    if name == "mailchimp":
        setup.provider.prepare(remote_id, campaign)
    creates = len(setup.fake.calls("POST", SPECS[name].create_path))
    by_id = setup.send(setup.campaign("premium", remote_id=remote_id))
    assert by_id.remote_id == remote_id and by_id.status == "sent"
    assert len(setup.fake.calls("POST", SPECS[name].create_path)) == creates
    assert setup.checkpoints == []  # the ledger had the id already
    # Without the id (the ledger never got it), the name finds it; sent, it is left alone.
    again = setup.send(campaign)
    assert (again.status, again.remote_id) == ("sent", remote_id)
    assert len(setup.fake.objects) == 1 and len(setup.fake.sends("send")) == 1
    assert setup.fake.violations == []


@pytest.mark.parametrize("name", NAMES)
def test_a_draft_of_an_earlier_version_is_not_sent_in_place_of_this_one(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make(name, monkeypatch)
    old = setup.campaign("premium", body="first version")
    old_id = setup.provider._create(old, old.name)  # a run that died, then the issue changed
    new = setup.campaign("premium", body="second version", remote_id=old_id)
    delivery = setup.send(new)
    assert delivery.status == "sent" and delivery.remote_id != old_id
    assert setup.checkpoints == [delivery.remote_id]
    assert [d.object_id for d in setup.fake.sends("send")] == [delivery.remote_id]
    old_state = setup.provider.fetch(old_id)
    assert old_state is not None and old_state.status == "draft"


def test_mailchimp_rounds_up_to_the_quarter_hour_and_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    setup = make("mailchimp", monkeypatch)
    logger = logging.getLogger("postcli")
    logger.addHandler(caplog.handler)  # a CLI run earlier in this process stops propagation
    try:
        delivery = setup.send(setup.campaign("free", send_at=LATER + timedelta(minutes=7)))
    finally:
        logger.removeHandler(caplog.handler)
    assert delivery.status == "scheduled"
    assert [d.at for d in setup.fake.sends("schedule")] == [LATER + timedelta(minutes=15)]
    assert "rounded up" in caplog.text and "09:07 KST" in caplog.text and "09:15 KST" in caplog.text
    body = setup.fake.calls("POST", r"/actions/schedule$")[0].body
    assert body == {"schedule_time": "2026-12-01T00:15:00+00:00"}
    assert setup.fake.violations == []


def test_quarter_hours_and_long_titles() -> None:
    at = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    assert quarter_hour(at) == at
    assert quarter_hour(at + timedelta(seconds=1)) == at + timedelta(minutes=15)
    assert quarter_hour(at + timedelta(minutes=59)) == at + timedelta(hours=1)
    long_name = campaign_name("2026-12-01-" + "x" * 120, "premium", "0123456789abcdef")
    title = title_for(long_name)
    assert len(title) == 100 and title.endswith("premium:0123456789abcdef")
    assert title_for(long_name + ":test") != title


@pytest.mark.parametrize("name", NAMES)
def test_every_request_carries_the_providers_auth_and_buttondown_its_idempotency_key(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make(name, monkeypatch)
    setup.send(setup.campaign("free"))
    for record in setup.fake.requests:
        assert "authorization" in record.headers
        if name == "buttondown" and record.method == "POST":
            assert record.headers["x-idempotency-key"]
            assert "idempotency-key" not in record.headers
    assert setup.fake.violations == []


# --- fault injection ------------------------------------------------------------------------


FAULTS = ["throttle", "fail500", "fail503", "timeout", "drop"]


def inject(fake: FakeProvider, fault: str, path: str, method: str | None) -> None:
    if fault == "throttle":
        fake.throttle(2, retry_after=3, path=path, method=method)
    elif fault == "fail500":
        fake.fail(1, status=500, path=path, method=method)
    elif fault == "fail503":
        fake.fail(2, status=503, path=path, method=method)
    elif fault == "timeout":
        fake.delay(1, seconds=1.0, path=path, method=method)
    else:
        fake.drop(1, path=path, method=method)


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("name", NAMES)
def test_a_fault_on_create_never_makes_a_second_campaign(
    name: str, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make(name, monkeypatch, timeout=0.5)
    inject(setup.fake, fault, SPECS[name].create_path, "POST")
    delivery = setup.send(setup.campaign("premium"))
    fake = setup.fake
    assert delivery.status == "sent"
    assert len(fake.objects) == 1, "exactly one campaign exists"
    assert [(d.kind, d.audience) for d in fake.sends()] == [
        ("send", SPECS[name].audience["premium"])
    ]
    assert setup.checkpoints == [delivery.remote_id]
    assert fake.violations == []
    creates = len(fake.calls("POST", SPECS[name].create_path))
    if fault == "throttle":
        assert setup.sleeps[:2] == [3.0, 3.0]  # Retry-After is honoured
    elif fault.startswith("fail"):
        assert setup.sleeps, "a retry waited first"
    elif name == "buttondown":  # the same X-Idempotency-Key gets the first answer back
        assert creates == 2
    else:  # the look-up by name found what the lost create made
        assert creates == 1


def _action_path(name: str) -> str:
    return {
        "buttondown": r"/publish$",
        "resend": r"/send$",
        "mailchimp": r"/actions/send$",
        "listmonk": r"/status$",
    }[name]


@pytest.mark.parametrize("fault", ["fail500", "timeout", "drop"])
@pytest.mark.parametrize("name", NAMES)
def test_a_lost_answer_to_the_send_call_never_sends_twice(
    name: str, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make(name, monkeypatch, timeout=0.5)
    inject(setup.fake, fault, _action_path(name), None)
    delivery = setup.send(setup.campaign("free"))
    assert delivery.status == "sent"
    assert len(setup.fake.sends("send")) == 1
    assert len(setup.fake.objects) == 1
    assert setup.fake.violations == []


@pytest.mark.parametrize("name", NAMES)
def test_unavailable_after_retries_is_exit_4_and_a_later_run_finishes(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make(name, monkeypatch, attempts=3)
    setup.fake.fail(100, status=503, path=_action_path(name))
    with pytest.raises(ProviderUnavailable) as caught:
        setup.send(setup.campaign("free"))
    assert caught.value.exit_code == ExitCode.UNAVAILABLE
    assert "503" in str(caught.value) and "run again later" in str(caught.value)
    assert setup.fake.sends() == [] and len(setup.checkpoints) == 1
    setup.fake.faults.clear()
    delivery = setup.send(setup.campaign("free", remote_id=setup.checkpoints[0]))
    assert delivery.status == "sent" and len(setup.fake.objects) == 1
    assert len(setup.fake.sends("send")) == 1


@pytest.mark.parametrize("status", [401, 403, 422])
@pytest.mark.parametrize("name", NAMES)
def test_refusals_are_exit_3_with_the_providers_own_message_and_no_key(
    name: str, status: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make(name, monkeypatch)
    message = f"refused for a reason {status}"
    setup.fake.refuse(
        100, status=status, message=message, path=SPECS[name].create_path, method="POST"
    )
    with pytest.raises(ProviderRefused) as caught:
        setup.send(setup.campaign("free"))
    text = str(caught.value)
    assert caught.value.exit_code == ExitCode.REFUSED
    assert str(status) in text and message in text
    assert SPECS[name].secret not in text
    assert len(setup.fake.calls("POST", SPECS[name].create_path)) == 1  # never retried
    if status in (401, 403):
        assert all(v in text for v in SPECS[name].env if "USER" not in v)


@pytest.mark.parametrize("name", NAMES)
def test_a_wrong_key_is_refused_by_the_provider_itself(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make(name, monkeypatch)
    variable = next(v for v in SPECS[name].env if "USER" not in v)
    wrong = SPECS[name].env[variable] + "-wrong" if name != "mailchimp" else "f" * 32 + "-us21"
    monkeypatch.setenv(variable, wrong)
    setup.provider.close()
    with pytest.raises(ProviderRefused) as caught:
        setup.send(setup.campaign("free"))
    assert wrong not in str(caught.value)
    assert setup.fake.objects == {}


# --- settings and secrets -----------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_key_is_a_config_error_naming_the_variable(name: str) -> None:
    provider = providers.provider_class(name)(
        settings_for(name, "https://lists.example.com"), client=None
    )
    with pytest.raises(ConfigError) as caught:
        provider.validate()
    assert caught.value.exit_code == ExitCode.INPUT
    assert next(iter(SPECS[name].env)) in str(caught.value)


def test_listmonk_needs_base_url_and_mailchimp_a_key_with_its_data_centre(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable, value in {**SPECS["listmonk"].env, "MAILCHIMP_API_KEY": "nodatacentre"}.items():
        monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match="base_url"):
        providers.provider_class("listmonk")(settings_for("listmonk")).validate()
    with pytest.raises(ConfigError, match="data centre"):
        providers.provider_class("mailchimp")(settings_for("mailchimp")).validate()
    monkeypatch.setenv("MAILCHIMP_API_KEY", "abc-us7")
    mailchimp = providers.provider_class("mailchimp")(settings_for("mailchimp"))
    mailchimp.validate()
    assert mailchimp.base_url == "https://us7.api.mailchimp.com/3.0"


@pytest.mark.parametrize(
    ("name", "options", "wanted"),
    [
        ("resend", {"audiences": {"free": 3}}, "segment id"),
        ("resend", {"audiences": {"gold": "x"}}, "unknown audience 'gold'"),
        ("mailchimp", {"audiences": {"free": "abc"}}, "a number"),
        ("listmonk", {"audiences": {"free": ["3"]}}, "list ids"),
        ("buttondown", {"audiences": {"free": "x"}}, "unknown key 'audiences'"),
        ("resend", {"base_url": "api.resend.com"}, "http(s) URL"),
    ],
)
def test_bad_settings_are_config_errors(name: str, options: dict[str, Any], wanted: str) -> None:
    with pytest.raises(ConfigError) as caught:
        providers.provider_class(name)(settings_for(name, **options))
    assert wanted in str(caught.value)


@pytest.mark.parametrize("name", ["resend", "mailchimp", "listmonk"])
def test_a_variant_without_an_audience_is_refused_before_anything_is_made(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = make(name, monkeypatch)
    audiences = dict(setup.provider.audiences)
    del audiences["free"]
    monkeypatch.setattr(setup.provider, "audiences", audiences)
    with pytest.raises(ConfigError, match="audiences has no 'free'"):
        setup.send(setup.campaign("free"))
    assert setup.fake.objects == {}


# --- end to end: `postcli send` against each fake on 127.0.0.1 ------------------------------------


E2E_ISSUE = """---
title: "Issue of {name}"
subtitle: An issue for the {name} adapter
preheader: What the {name} issue is about
---
Hello, free and premium readers alike.

<!-- paywall -->

The premium part: PREMIUMONLY{name}.
"""


def _configure(root: Path, name: str, base_url: str) -> None:
    config = root / "postcli.toml"
    text = config.read_text(encoding="utf-8").replace('name = "file"', f'name = "{name}"')
    text = publishable(text)
    options = {**SPECS[name].options, "base_url": base_url}
    lines = [f"[providers.{name}]"]
    for key, value in options.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}")
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    config.write_text(text + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_postcli_send_end_to_end_through_a_real_server(
    name: str,
    workspace: Path,
    run_cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = SPECS[name]
    for variable, value in spec.env.items():
        monkeypatch.setenv(variable, value)
    fake = FAKES[name](page_size=2)
    now_id, later_id = "2026-12-01-now", "2026-12-02-later"
    for issue_id in (now_id, later_id):
        (workspace / "issues" / f"{issue_id}.md").write_text(
            E2E_ISSUE.format(name=name), encoding="utf-8"
        )
    with serve(fake) as server:
        _configure(workspace, name, server.base_url)
        sent = run_cli("-C", workspace, "-v", "send", now_id, "--yes")  # debug logs too
        assert sent.exit_code == 0, sent.output
        assert [(d.kind, d.audience) for d in fake.sends()] == [
            ("send", spec.audience["free"]),
            ("send", spec.audience["premium"]),
        ]
        for made in fake.objects.values():  # premium-only text only in the premium campaign
            text = json.dumps(made, ensure_ascii=False)
            assert (f"PREMIUMONLY{name}" in text) == (":premium:" in text)
        status = run_cli("-C", workspace, "status", now_id, "--json")
        rows = {r["variant"]: r for r in json.loads(status.stdout)["sends"]}
        assert {v: r["state"] for v, r in rows.items()} == {"free": "sent", "premium": "sent"}
        assert {r["remote_id"] for r in rows.values()} == set(fake.objects)

        before = len(fake.requests)
        again = run_cli("-C", workspace, "send", now_id, "--yes")
        assert again.exit_code == 0 and "nothing to do" in again.output
        assert len(fake.requests) == before  # the ledger knew: the provider was not asked

        later = run_cli("-C", workspace, "send", later_id, "--at", "+48h", "--yes")
        assert later.exit_code == 0, later.output
        scheduled = fake.sends("schedule")
        assert [d.audience for d in scheduled] == [spec.audience["free"], spec.audience["premium"]]
        assert all(
            d.at is not None and d.at > datetime.now(UTC) + timedelta(days=1) for d in scheduled
        )
        if name == "mailchimp":
            assert "rounded up" in later.output
        status = run_cli("-C", workspace, "status", later_id, "--json")
        rows = json.loads(status.stdout)["sends"]
        states = {r["variant"]: r["state"] for r in rows}
        assert states == {"free": "scheduled", "premium": "scheduled"}
        # The ledger holds the time the provider took (Mailchimp's quarter hour), not the one
        # asked for, so status says when the issue really goes out.
        recorded = sorted(datetime.fromisoformat(r["scheduled_for"]) for r in rows)
        assert recorded == sorted(d.at for d in scheduled)
        if name == "mailchimp":
            assert all(moment.minute % 15 == 0 and moment.second == 0 for moment in recorded)

        test = run_cli("-C", workspace, "send", now_id, "--test", ADDRESS, "--variant", "free")
        assert test.exit_code == 0, test.output
        assert fake.sends("test")[-1].recipients == (ADDRESS,)
    outputs = sent.output + again.output + later.output + status.output + test.output
    for secret in spec.env.values():
        if secret != "postcli":
            assert secret not in outputs
    assert fake.violations == []
    assert len(fake.sends("send")) == 2 and len(fake.sends("schedule")) == 2


@pytest.mark.parametrize("name", ["resend", "listmonk"])
def test_postcli_send_maps_refusal_to_exit_3_and_outage_to_exit_4(
    name: str,
    workspace: Path,
    run_cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for variable, value in SPECS[name].env.items():
        monkeypatch.setenv(variable, value)
    fake = FAKES[name]()
    issue_id = "2026-12-01-now"
    (workspace / "issues" / f"{issue_id}.md").write_text(
        E2E_ISSUE.format(name=name), encoding="utf-8"
    )
    with serve(fake) as server:
        _configure(workspace, name, server.base_url)
        fake.refuse(
            1,
            status=422,
            message="the from domain is not verified",
            path=SPECS[name].create_path,
            method="POST",
        )
        refused = run_cli("-C", workspace, "send", issue_id, "--yes")
        assert refused.exit_code == 3
        assert "the from domain is not verified" in refused.stderr
        assert "Traceback" not in refused.output
        ok = run_cli("-C", workspace, "send", issue_id, "--yes")
        assert ok.exit_code == 0, ok.output
    assert len(fake.sends("send")) == 2 and fake.violations == []
    # The server gone: a new issue cannot be sent; exit 4, run again later.
    from postcli.providers._campaigns import HttpCampaignProvider

    defaults = HttpCampaignProvider.__init__.__kwdefaults__
    monkeypatch.setitem(defaults, "sleep", lambda seconds: None)
    other = "2026-12-09-other"
    (workspace / "issues" / f"{other}.md").write_text(E2E_ISSUE.format(name=name), encoding="utf-8")
    gone = run_cli("-C", workspace, "send", other, "--yes")
    assert gone.exit_code == 4, gone.output
    assert "Traceback" not in gone.output


def test_buttondown_takes_only_the_page_number_from_next_so_the_key_stays_home(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BUTTONDOWN_API_KEY", "test-buttondown-key")
    fake = FAKES["buttondown"](now=lambda: NOW, page_size=2)
    hosts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        hosts.append(request.url.host)
        return fake.handle(request)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    provider = providers.provider_class("buttondown")(settings_for("buttondown"), client=client)
    setup = Setup("buttondown", fake, provider, [], [])
    first = setup.campaign("free", body="first")
    provider._create(first, first.name)
    for i in range(4):
        provider._create(setup.campaign("free", body=f"b{i}"), f"other-{i}")
    fake.base_url = "https://elsewhere.example/v1"  # what `next` links point at now
    found = provider.find_campaign(first.name)
    assert found is not None and found.status == "draft"
    assert set(hosts) == {"api.buttondown.com"}
    assert len(fake.calls("GET", r"^/emails$")) == 3  # three pages of two


def test_listmonk_takes_one_list_id_or_several() -> None:
    provider = providers.provider_class("listmonk")(
        settings_for(
            "listmonk", "https://lists.example.com", audiences={"free": 3, "premium": [4, 5]}
        )
    )
    assert provider.audiences == {"free": [3], "premium": [4, 5]}
