"""The `sendgrid` provider (Single Sends), contract-tested against the fake of
tests/fakes/sendgrid_fake.py: look-up before create, checkpointed ids, send now and schedule
through `PUT .../schedule`, a create whose answer was lost, 429 with X-RateLimit-Reset, test
copies through Mail Send, refusals, and `postcli send` end to end on 127.0.0.1. Retry waits are
recorded, never slept, except end to end."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes.sendgrid_fake import SendgridFake
from helpers.fake_api import serve
from helpers.send import ISSUE_ID, SECRET, configure, set_provider, write_issue
from postcli.config import Newsletter, Settings
from postcli.errors import ConfigError, ProviderRefused
from postcli.issues import Variant
from postcli.providers._http import RetryPolicy
from postcli.providers.base import Campaign, campaign_name
from postcli.providers.sendgrid import SendgridProvider
from postcli.render import RenderedEmail

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
KEY = "SG.test-key.postcli-0123456789"
LISTS = {
    "free": ["11111111-1111-4111-8111-111111111111"],
    "premium": ["22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"],
}
TAG = "{{{unsubscribe}}}"


def settings(**options: Any) -> Settings:
    values = {"audiences": LISTS, "sender_id": 123456, "suppression_group_id": 7890, **options}
    return Settings(
        root=Path("."),
        newsletter=Newsletter(
            name="News",
            from_="News <hello@example.com>",
            reply_to="editor@example.com",
            unsubscribe_url="https://example.com/unsubscribe?email={email}",
        ),
        provider="sendgrid",
        providers={"sendgrid": values},
    )


def campaign(
    variant: str = "premium", *, send_at: datetime | None = None, issue: str = ISSUE_ID
) -> Campaign:
    email = RenderedEmail(
        issue_id=issue,
        variant=Variant(variant),
        subject="Issue 7: agents",
        preheader="What this issue is about",
        html=f'<html><body><p>Hello</p><a href="{TAG}">Unsubscribe</a></body></html>',
        text=f"Hello\n\nUnsubscribe: {TAG}\n",
        cut=variant == "free",
    )
    return Campaign(
        issue_id=issue,
        variant=variant,
        name=campaign_name(issue, variant, "0123456789abcdef"),
        email=email,
        sender="News <hello@example.com>",
        reply_to="editor@example.com",
        send_at=send_at,
    )


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch) -> tuple[SendgridFake, SendgridProvider, list[float]]:
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    fake = SendgridFake(now=lambda: NOW, page_size=2)
    client = httpx.Client(transport=httpx.MockTransport(fake.handle), timeout=2)
    sleeps: list[float] = []
    provider = SendgridProvider(
        settings(), client=client, retry=RetryPolicy(attempts=4), sleep=sleeps.append
    )
    provider.validate()
    return fake, provider, sleeps


def flow(fake: SendgridFake) -> list[str]:
    ids = sorted(fake.objects, key=len, reverse=True)
    out = []
    for record in fake.requests:
        path = record.path
        for object_id in ids:
            path = path.replace(f"/{object_id}", "/ID")
        out.append(f"{record.method} {path}")
    return out


def test_registered_with_its_merge_tag_as_a_campaign_provider() -> None:
    from postcli import providers

    cls = providers.provider_class("sendgrid")
    assert cls is SendgridProvider and cls.unsubscribe_tag == TAG == SendgridFake.unsubscribe_tag
    assert cls.features.native_schedule and cls.features.find_by_name
    assert not cls.features.per_recipient


def test_a_single_send_per_variant_to_its_lists_looked_up_first_and_checkpointed(
    setup: tuple[SendgridFake, SendgridProvider, list[float]],
) -> None:
    fake, provider, sleeps = setup
    checkpoints: list[str] = []
    deliveries = [
        provider.send_campaign(campaign(v), checkpoints.append) for v in ("free", "premium")
    ]
    assert fake.violations == []
    assert [d.status for d in deliveries] == ["sent", "sent"]
    assert [(d.kind, d.audience) for d in fake.sends()] == [
        ("send", tuple(LISTS["free"])),
        ("send", tuple(LISTS["premium"])),
    ]
    assert checkpoints == [d.remote_id for d in deliveries]
    expected = [
        "POST /v3/marketing/singlesends/search",
        "POST /v3/marketing/singlesends",
        "PUT /v3/marketing/singlesends/ID/schedule",
        "GET /v3/marketing/singlesends/ID",
    ]
    assert flow(fake) == expected * 2
    sent = fake.single_sends[deliveries[1].remote_id or ""]
    config = sent["email_config"]
    assert (config["sender_id"], config["suppression_group_id"]) == (123456, 7890)
    assert TAG in config["html_content"] and TAG in config["plain_content"]
    assert sleeps == []
    # Asked again, it is found (triggered) and left alone.
    again = provider.send_campaign(campaign("free"), checkpoints.append)
    assert (again.status, again.remote_id) == ("sent", deliveries[0].remote_id)
    assert len(fake.sends()) == 2 and len(fake.objects) == 2


def test_a_schedule_gives_send_at_in_utc(
    setup: tuple[SendgridFake, SendgridProvider, list[float]],
) -> None:
    fake, provider, _ = setup
    delivery = provider.send_campaign(campaign("free", send_at=LATER), lambda _: None)
    assert fake.violations == []
    assert delivery.status == "scheduled"
    assert [(d.kind, d.at) for d in fake.sends()] == [("schedule", LATER)]
    (put,) = fake.calls("PUT")
    assert put.body == {"send_at": "2026-12-01T00:00:00Z"}


def test_a_create_whose_answer_was_lost_is_found_by_name_not_made_twice(
    setup: tuple[SendgridFake, SendgridProvider, list[float]],
) -> None:
    fake, provider, _ = setup
    for number in range(3):  # other Single Sends, so the look-up pages
        fake.objects[f"00000000-0000-4000-8000-99999999999{number}"] = {
            "id": f"00000000-0000-4000-8000-99999999999{number}",
            "name": f"postcli:other:{number}",
            "status": "triggered",
            "categories": [],
            "send_at": None,
            "created_at": None,
            "updated_at": None,
            "send_to": {"list_ids": []},
            "email_config": {},
            "_number": -number,
        }
    fake.drop(1, method="POST", path=r"^/v3/marketing/singlesends$")
    delivery = provider.send_campaign(campaign("premium"), lambda _: None)
    assert delivery.status == "sent"
    ours = [s for s in fake.objects.values() if s["name"].startswith(f"postcli:{ISSUE_ID}")]
    assert len(ours) == 1 and len(fake.sends("send")) == 1


def test_a_429_waits_as_x_ratelimit_reset_says(
    setup: tuple[SendgridFake, SendgridProvider, list[float]],
) -> None:
    fake, provider, sleeps = setup
    fake.throttle(2, retry_after=3)
    provider.send_campaign(campaign("free"), lambda _: None)
    assert len(sleeps) == 2 and all(2.0 <= s <= 4.5 for s in sleeps)
    assert len(fake.sends("send")) == 1


def test_a_test_copy_goes_through_mail_send_with_the_groups_unsubscribe_link(
    setup: tuple[SendgridFake, SendgridProvider, list[float]],
) -> None:
    fake, provider, _ = setup
    delivery = provider.send_test(campaign("free"), "editor@example.org")
    assert delivery.status == "sent" and fake.violations == []
    assert [(d.kind, d.recipients, d.audience) for d in fake.sends()] == [
        ("test", ("editor@example.org",), {"group_id": 7890})
    ]
    assert fake.objects == {}  # no Single Send made or touched
    (call,) = fake.calls("POST", "/v3/mail/send")
    assert all("<%asm_group_unsubscribe_raw_url%>" in c["value"] for c in call.body["content"])


def test_a_wrong_key_is_refused_with_exit_3_and_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SENDGRID_API_KEY", "SG.wrong")
    fake = SendgridFake(now=lambda: NOW)
    client = httpx.Client(transport=httpx.MockTransport(fake.handle))
    provider = SendgridProvider(settings(), client=client, sleep=lambda _: None)
    with pytest.raises(ProviderRefused) as refused:
        provider.send_campaign(campaign("free"), lambda _: None)
    assert "SENDGRID_API_KEY" in str(refused.value.hint) and "SG.wrong" not in str(refused.value)


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"sender_id": None}, "needs 'sender_id'"),
        ({"suppression_group_id": "x"}, "must be a number"),
        ({"audiences": {"free": []}}, "list of 1 to 50"),
        ({"audiences": {"vip": ["a"]}}, "unknown audience 'vip'"),
    ],
)
def test_settings_are_checked(
    options: dict[str, Any], words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    values = {k: v for k, v in options.items() if v is not None}
    base = settings(**values)
    if options.get("sender_id", 0) is None:
        base.providers["sendgrid"].pop("sender_id")
    with pytest.raises(ConfigError, match=words):
        SendgridProvider(base).validate()


def test_a_long_issue_id_keeps_the_name_within_100_characters(
    setup: tuple[SendgridFake, SendgridProvider, list[float]],
) -> None:
    fake, provider, _ = setup
    long_id = "2026-12-01-" + "a-very-long-issue-slug-" * 5
    provider.send_campaign(campaign("free", issue=long_id), lambda _: None)
    assert fake.violations == []
    (made,) = fake.objects.values()
    assert len(made["name"]) <= 100 and made["name"].endswith("0123456789abcdef")


def test_postcli_send_end_to_end_makes_one_single_send_per_variant_and_a_rerun_nothing(
    workspace: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SENDGRID_API_KEY", KEY)
    write_issue(workspace)
    fake = SendgridFake()
    with serve(fake) as server:
        set_provider(workspace, "sendgrid")
        configure(
            workspace,
            "[providers.sendgrid]\n"
            f'base_url = "{server.base_url}"\n'
            f'audiences = {{ free = ["{LISTS["free"][0]}"], '
            f'premium = ["{LISTS["premium"][0]}"] }}\n'
            "sender_id = 123456\nsuppression_group_id = 7890\n",
        )
        started = time.monotonic()
        fake.throttle(1, retry_after=1)
        result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
        assert result.exit_code == 0, result.output
        assert time.monotonic() - started >= 0.5
        again = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
        status = run_cli("-C", workspace, "status", ISSUE_ID)
    assert fake.violations == []
    assert sorted((d.kind, d.audience) for d in fake.sends()) == [
        ("send", (LISTS["free"][0],)),
        ("send", (LISTS["premium"][0],)),
    ]
    by_list = {s["send_to"]["list_ids"][0]: s for s in fake.objects.values()}
    assert SECRET in by_list[LISTS["premium"][0]]["email_config"]["html_content"]
    assert SECRET not in by_list[LISTS["free"][0]]["email_config"]["html_content"]
    assert TAG in by_list[LISTS["free"][0]]["email_config"]["plain_content"]
    assert again.exit_code == 0 and "already sent" in again.output
    assert status.exit_code == 0 and "sent" in status.output
    assert KEY not in result.output + again.output + status.output
