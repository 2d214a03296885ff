"""The `kit` provider against the fake Kit v4 API (tests/fakes/kit.py).

Every request is validated against tests/contracts/kit/; the fake keeps broadcasts (draft,
scheduled, sent) and pages its list with cursors. One broadcast per variant, to the variant's
tag or segment; the premium broadcast is never public. Faults: 429 with Retry-After, 500, 503,
timeouts, a create whose answer was lost. Retry waits are recorded, never slept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes.kit import KitFake
from helpers.fake_api import contract_errors, load_schema, serve
from helpers.workspace import publishable
from postcli.config import Newsletter, Settings
from postcli.errors import ConfigError, InputError, ProviderRefused
from postcli.model import Variant
from postcli.providers._http import RetryPolicy
from postcli.providers.base import Campaign, campaign_name
from postcli.providers.kit import KitProvider
from postcli.render import RenderedEmail

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
KEY = "kit_test_0123456789"
AUDIENCES = {"free": {"tag": 1234}, "premium": {"segment": [5678, 9]}}
TAG = "{{ unsubscribe_url }}"


@pytest.fixture(autouse=True)
def _kit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIT_API_KEY", KEY)


def settings_for(**options: Any) -> Settings:
    return Settings(
        root=Path("."),
        newsletter=Newsletter(name="News", from_="News <hello@example.com>"),
        provider="kit",
        providers={"kit": {"audiences": AUDIENCES, **options}},
    )


class Setup:
    def __init__(self, page_size: int = 20, **options: Any) -> None:
        self.fake = KitFake(now=lambda: NOW, page_size=page_size)
        self.sleeps: list[float] = []
        self.checkpoints: list[str] = []
        client = httpx.Client(transport=httpx.MockTransport(self.fake.handle), timeout=2.0)
        self.provider = KitProvider(
            settings_for(**options),
            client=client,
            retry=RetryPolicy(attempts=4),
            sleep=self.sleeps.append,
            now=lambda: NOW,
        )
        self.provider.validate()

    def campaign(
        self, variant: str = "free", *, send_at: datetime | None = None, body: str = "Hello"
    ) -> Campaign:
        email = RenderedEmail(
            issue_id="2026-12-01-kit",
            variant=Variant(variant),
            subject=f"Issue 7 ({variant})",
            preheader="What it is about",
            html=f'<html><body><p>{body}</p><a href="{TAG}">Unsubscribe</a></body></html>',
            text=f"{body}\n",
            cut=variant == "free",
        )
        return Campaign(
            issue_id="2026-12-01-kit",
            variant=variant,
            name=campaign_name("2026-12-01-kit", variant, f"{abs(hash(body)):016x}"[:16]),
            email=email,
            sender="News <hello@example.com>",
            reply_to=None,
            send_at=send_at,
        )

    def send(self, campaign: Campaign) -> Any:
        return self.provider.send_campaign(campaign, self.checkpoints.append)


@pytest.mark.parametrize("name", ["create_broadcast", "update_broadcast", "list_broadcasts_query"])
def test_each_kit_contract_accepts_its_example_and_refuses_unknown_fields(name: str) -> None:
    example = load_schema("kit", name)["examples"][0]
    assert contract_errors("kit", name, example) == []
    assert contract_errors("kit", name, {**example, "surely_not_a_field": 1})
    assert contract_errors("kit", name, ["not an object"])
    if name == "create_broadcast":
        bad = json.loads(json.dumps(example))
        bad["subscriber_filter"][0]["all"][0]["type"] = "list"
        assert contract_errors("kit", name, bad)
        del bad["subject"]
        assert contract_errors("kit", name, bad)


def test_one_broadcast_per_variant_to_its_tag_or_segment() -> None:
    setup = Setup()
    for variant in ("free", "premium"):
        assert setup.send(setup.campaign(variant)).status == "sent"
    assert [(d.kind, d.audience) for d in setup.fake.sends()] == [
        ("send", (("tag", (1234,)),)),
        ("send", (("segment", (5678, 9)),)),
    ]
    for broadcast in setup.fake.broadcasts.values():
        assert broadcast["description"].startswith("postcli:2026-12-01-kit:")
        assert TAG in broadcast["content"] and broadcast["preview_text"] == "What it is about"
        assert broadcast["public"] is False
    creates = setup.fake.calls("POST")
    assert all(c.body["send_at"] is None for c in creates)  # drafts first
    assert setup.checkpoints == sorted(setup.fake.broadcasts)
    assert setup.fake.violations == []


def test_public_puts_the_free_broadcast_on_the_web_and_never_the_premium_one() -> None:
    setup = Setup(public=True, email_template_id=7)
    setup.send(setup.campaign("free"))
    setup.send(setup.campaign("premium"))
    by_variant = {b["description"].split(":")[2]: b for b in setup.fake.broadcasts.values()}
    assert by_variant["free"]["public"] is True and by_variant["premium"]["public"] is False
    assert by_variant["premium"]["public_url"] is None
    assert all(c.body["email_template_id"] == 7 for c in setup.fake.calls("POST"))


def test_a_future_send_is_scheduled_with_send_at_in_utc() -> None:
    setup = Setup()
    when = NOW + timedelta(days=2)
    assert setup.send(setup.campaign(send_at=when)).status == "scheduled"
    assert [(d.kind, d.at) for d in setup.fake.sends()] == [("schedule", when)]
    assert setup.fake.calls("PUT")[0].body == {"send_at": "2026-11-30T09:00:00+00:00"}


def test_an_earlier_broadcast_is_found_by_listing_across_pages() -> None:
    setup = Setup(page_size=2)
    for body in ("a", "b", "c"):
        setup.send(setup.campaign(body=body))
    before = len(setup.fake.broadcasts)
    again = setup.send(setup.campaign(body="c"))  # on the second page
    assert again.status == "sent" and len(setup.fake.broadcasts) == before
    assert len(setup.fake.sends("send")) == 3
    assert any("after" in r.query for r in setup.fake.calls("GET", r"^/v4/broadcasts$"))


def test_a_create_whose_answer_was_lost_still_makes_exactly_one_broadcast() -> None:
    setup = Setup()
    setup.fake.drop(1, method="POST")
    assert setup.send(setup.campaign()).status == "sent"
    assert len(setup.fake.broadcasts) == 1 and len(setup.fake.sends("send")) == 1


@pytest.mark.parametrize(
    "fault",
    [
        lambda f: f.throttle(2, retry_after=3),
        lambda f: f.fail(2, status=500, method="GET"),
        lambda f: f.fail(2, status=503),
        lambda f: f.fail(1, status=500, method="PUT"),
        lambda f: f.delay(1, seconds=3, method="PUT"),
        lambda f: f.delay(1, seconds=3, method="POST"),
    ],
    ids=["429", "500-get", "503", "500-put", "timeout-put", "timeout-post"],
)
def test_faults_are_retried_and_still_one_broadcast_sent_once(fault: Any) -> None:
    setup = Setup()
    fault(setup.fake)
    assert setup.send(setup.campaign()).status == "sent"
    assert len(setup.fake.broadcasts) == 1 and len(setup.fake.sends("send")) == 1
    assert setup.fake.violations == []


def test_retry_after_is_honoured() -> None:
    setup = Setup()
    setup.fake.throttle(1, retry_after=9)
    setup.send(setup.campaign())
    assert 9.0 in setup.sleeps


def test_a_wrong_key_is_exit_3_with_kits_message_and_no_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    setup = Setup()
    setup.fake.api_key = "kit_another_key"
    with pytest.raises(ProviderRefused) as caught:
        setup.send(setup.campaign())
    assert caught.value.exit_code == 3
    assert "The access token is invalid" in str(caught.value) and KEY not in str(caught.value)
    assert "KIT_API_KEY" in str(caught.value.hint)


def test_a_test_send_is_refused_naming_file_and_smtp() -> None:
    setup = Setup()
    with pytest.raises(InputError) as caught:
        setup.provider.send_test(setup.campaign(), "me@example.org")
    assert caught.value.exit_code == 1 and "smtp" in str(caught.value.hint)
    assert setup.fake.requests == []


def test_a_scheduled_broadcast_is_moved_edited_unscheduled_and_deleted() -> None:
    setup = Setup()
    delivery = setup.send(setup.campaign(send_at=NOW + timedelta(days=2)))
    later = NOW + timedelta(days=3)
    setup.provider.reschedule(delivery.remote_id, setup.campaign(body="Edited"), later)
    broadcast = setup.fake.broadcasts[delivery.remote_id]
    assert "Edited" in broadcast["content"] and [d.at for d in setup.fake.sends()] == [later]
    setup.provider.unschedule(delivery.remote_id)
    assert broadcast["send_at"] is None and setup.fake.sends() == []
    assert setup.provider.fetch(delivery.remote_id).status == "draft"
    setup.provider.unschedule(delivery.remote_id, delete=True)
    assert setup.fake.broadcasts == {}
    assert setup.fake.violations == []


def test_a_sent_broadcast_cannot_be_unscheduled() -> None:
    setup = Setup()
    delivery = setup.send(setup.campaign())
    with pytest.raises(ProviderRefused, match="went out already"):
        setup.provider.unschedule(delivery.remote_id)


@pytest.mark.parametrize(
    ("options", "wanted"),
    [
        ({"audiences": {"free": {"list": 1}}}, "known: tag, segment"),
        ({"audiences": {"free": {"tag": "x"}}}, "an id"),
        ({"audiences": {"free": 3}}, "must be"),
        ({"public": "yes"}, "public"),
        ({"email_template_id": "classic"}, "email_template_id"),
        ({"audiences": {}}, "needs audiences"),
    ],
)
def test_bad_settings_are_config_errors(options: dict[str, Any], wanted: str) -> None:
    with pytest.raises(ConfigError, match=wanted):
        KitProvider(settings_for(**options)).validate()


def test_a_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIT_API_KEY")
    with pytest.raises(ConfigError, match="KIT_API_KEY"):
        KitProvider(settings_for()).validate()


E2E_ISSUE = """---
title: A Kit issue
subtitle: What it is about
---
Hello, free and premium readers alike.

<!-- paywall -->

The premium part: PREMIUMONLYKIT.
"""


def test_postcli_send_end_to_end_through_a_real_server(
    workspace: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = KitFake(page_size=2)
    (workspace / "issues" / "2026-12-01-kit.md").write_text(E2E_ISSUE, encoding="utf-8")
    (workspace / "issues" / "2026-12-02-kit-later.md").write_text(E2E_ISSUE, encoding="utf-8")
    with serve(fake) as server:
        config = workspace / "postcli.toml"
        text = publishable(config.read_text(encoding="utf-8"))
        text = text.replace('name = "file"', 'name = "kit"')
        config.write_text(
            text + f'\n[providers.kit]\nbase_url = "{server.base_url}"\npublic = true\n'
            "audiences = { free = { tag = 1234 }, premium = { segment = 5678 } }\n",
            encoding="utf-8",
        )
        sent = run_cli("-C", workspace, "send", "2026-12-01-kit", "--yes")
        assert sent.exit_code == 0, sent.output
        assert [(d.kind, d.audience) for d in fake.sends()] == [
            ("send", (("tag", (1234,)),)),
            ("send", (("segment", (5678,)),)),
        ]
        for broadcast in fake.broadcasts.values():
            premium = ":premium:" in broadcast["description"]
            assert ("PREMIUMONLYKIT" in broadcast["content"]) == premium
            assert broadcast["public"] is (not premium)
        again = run_cli("-C", workspace, "send", "2026-12-01-kit", "--yes")
        assert again.exit_code == 0 and "nothing to do" in again.output
        later = run_cli("-C", workspace, "send", "2026-12-02-kit-later", "--at", "+48h", "--yes")
        assert later.exit_code == 0, later.output
        assert [d.kind for d in fake.sends()] == ["send", "send", "schedule", "schedule"]
        test = run_cli("-C", workspace, "send", "2026-12-01-kit", "--test", "me@example.org")
        assert test.exit_code == 1 and "smtp" in test.output
    assert KEY not in sent.output + again.output + later.output + test.output
    assert fake.violations == []
