"""The `beehiiv` provider against the fake beehiiv API v2 (tests/fakes/beehiiv.py).

Every request is validated against tests/contracts/beehiiv/, blocks included; what free and paid
subscribers would read is computed from the blocks as the fake stores them, by beehiiv's rules
(the paywall break cuts non-paying readers; block visibility per kind of reader). Faults: 429
with RateLimit-Reset, 500, 503, timeouts, a create whose answer was lost; the plan without the
API. Retry waits are recorded, never slept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fakes.beehiiv import BeehiivFake
from helpers.fake_api import contract_errors, load_schema, serve
from helpers.workspace import publishable
from postcli import build, config
from postcli.errors import ConfigError, InputError, ProviderRefused
from postcli.model import Variant
from postcli.providers._http import RetryPolicy
from postcli.providers.base import Campaign, campaign_name, content_hash
from postcli.providers.beehiiv import BeehiivProvider
from postcli.render import render_issue
from postcli.render.gated import gated_post

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ISSUE_ID = "2026-12-01-beehiiv"
KEY = "bh_test_0123456789"
PUBLICATION = "pub_00000000-0000-0000-0000-000000000001"

RICH = """Hello, **everyone**: FREETEXT with [a link](https://example.org/free).

## A heading

![A chart](https://cdn.example.org/chart.png "Image credit: us")

- one
- two

| a | b |
|---|---|
| 1 | 2 |

> A quote.

```python
print("code")
```

::: premium
A premium passage: PREMIUMBLOCK.
:::

::: free
A pitch for free readers: FREEPITCH.
:::

<!-- paywall -->

Below the paywall: PREMIUMBELOW.
"""


@pytest.fixture(autouse=True)
def _beehiiv_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEEHIIV_API_KEY", KEY)


def configure(root: Path, base_url: str | None = None, **options: Any) -> None:
    path = root / "postcli.toml"
    text = publishable(path.read_text(encoding="utf-8")).replace(
        'name = "file"', 'name = "beehiiv"'
    )
    text = text.split("\n[providers.beehiiv]")[0]
    values: dict[str, Any] = {"publication_id": PUBLICATION, "paywall_id": "paywall_123"}
    if base_url:
        values["base_url"] = base_url
    values.update(options)
    lines = ["[providers.beehiiv]"]
    for key, value in values.items():
        if isinstance(value, dict):
            inner = ", ".join(f"{k} = {json.dumps(v)}" for k, v in value.items())
            lines.append(f"{key} = {{ {inner} }}")
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    path.write_text(text + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def write_issue(root: Path, body: str, issue_id: str = ISSUE_ID) -> None:
    (root / "issues" / f"{issue_id}.md").write_text(
        f"---\ntitle: A beehiiv issue\nsubtitle: What it is about\ntags: [ai]\n---\n{body}",
        encoding="utf-8",
    )


class Setup:
    def __init__(self, root: Path, fake: BeehiivFake, **options: Any) -> None:
        configure(root, **options)
        self.root = root
        self.fake = fake
        self.sleeps: list[float] = []
        self.checkpoints: list[str] = []
        self.settings = config.load(root)
        client = httpx.Client(transport=httpx.MockTransport(fake.handle), timeout=2.0)
        self.provider = BeehiivProvider(
            self.settings,
            client=client,
            retry=RetryPolicy(attempts=4),
            sleep=self.sleeps.append,
            now=lambda: NOW,
        )
        self.provider.validate()

    def campaign(self, body: str = RICH, *, send_at: datetime | None = None) -> Campaign:
        write_issue(self.root, body)
        issue = build.load(self.settings, ISSUE_ID)
        both = (Variant.FREE, Variant.PREMIUM)
        emails = render_issue(issue, self.settings, unsubscribe_url="{{unsubscribe_url}}")
        return Campaign(
            issue_id=ISSUE_ID,
            variant="all",
            name=campaign_name(ISSUE_ID, "all", content_hash(emails[Variant.PREMIUM])),
            email=emails[Variant.PREMIUM],
            sender="News <hello@example.com>",
            reply_to=None,
            send_at=send_at,
            post=gated_post(issue, self.settings, both),
        )

    def send(self, campaign: Campaign) -> Any:
        return self.provider.send_campaign(campaign, self.checkpoints.append)


@pytest.fixture
def beehiiv(workspace: Path) -> Callable[..., Setup]:
    def make(**options: Any) -> Setup:
        fake_options = {k: options.pop(k) for k in ("enterprise",) if k in options}
        return Setup(workspace, BeehiivFake(now=lambda: NOW, **fake_options), **options)

    return make


def only_post(fake: BeehiivFake) -> dict[str, Any]:
    assert len(fake.posts) == 1, list(fake.posts)
    return next(iter(fake.posts.values()))


@pytest.mark.parametrize("name", ["create_post", "update_post", "list_posts_query", "headers"])
def test_each_beehiiv_contract_accepts_its_example_and_refuses_what_beehiiv_does_not_know(
    name: str,
) -> None:
    example = load_schema("beehiiv", name)["examples"][0]
    assert contract_errors("beehiiv", name, example) == []
    assert contract_errors("beehiiv", name, ["not an object"])
    if name == "headers":
        assert contract_errors("beehiiv", name, {"authorization": "Token x"})
        return
    assert contract_errors("beehiiv", name, {**example, "surely_not_a_field": 1})
    if name == "create_post":
        for mutate in (
            lambda b: b["blocks"][0].update(surely_not_a_field=1),
            lambda b: b["blocks"].append({"type": "code", "code": "x"}),
            lambda b: b["blocks"][2].pop("paywall_id"),
            lambda b: b.update(body_content="<p>both</p>"),
            lambda b: b["blocks"][1]["visibility_settings"].update(show_to_everyone=True),
        ):
            bad = json.loads(json.dumps(example))
            mutate(bad)
            assert contract_errors("beehiiv", name, bad)
    if name == "update_post":
        assert contract_errors("beehiiv", name, {"status": "draft"})


def test_an_issue_is_one_confirmed_post_of_blocks_gated_by_beehiiv(beehiiv: Any) -> None:
    setup = beehiiv()
    delivery = setup.send(setup.campaign())
    assert delivery.status == "sent"
    post = only_post(setup.fake)
    assert post["status"] == "confirmed" and post["slug"] == ISSUE_ID
    assert post["content_tags"] == ["ai"] and post["subject_line"] == "A beehiiv issue"
    assert post["_body_content"] is None
    kinds = [b["type"] for b in post["_blocks"]]
    for kind in (
        "paragraph",
        "heading",
        "image",
        "list",
        "table",
        "quote",
        "html",
        "paywall_break",
    ):
        assert kind in kinds, kinds
    image = next(b for b in post["_blocks"] if b["type"] == "image")
    assert image["caption"] == "Image credit: us" and image["alt_text"] == "A chart"
    first = post["_blocks"][0]["formattedText"]
    assert {"text": "everyone", "styling": ["bold"]} in first
    assert any(s.get("link") == {"href": "https://example.org/free"} for s in first)
    code = next(b for b in post["_blocks"] if b["type"] == "html" and "print" in b["html"])
    assert "<pre>" in code["html"]
    assert post["_recipients"] == {
        "email": {"tier_ids": ["free", "premium"]},
        "web": {"tier_ids": ["free", "premium"]},
    }
    assert post["_web_settings"]["paywall_id"] == "paywall_123"
    for reader, target in (("anonymous", "web"), ("free", "web"), ("free", "email")):
        seen = setup.fake.view(post["id"], reader, target)  # type: ignore[arg-type]
        assert "FREETEXT" in seen and "FREEPITCH" in seen, (reader, target)
        assert "PREMIUMBLOCK" not in seen and "PREMIUMBELOW" not in seen, (reader, target)
    paid = setup.fake.view(post["id"], "paid", "email")
    assert "PREMIUMBLOCK" in paid and "PREMIUMBELOW" in paid and "FREEPITCH" not in paid
    assert setup.checkpoints == [post["id"]]
    assert setup.fake.violations == []


PIECES = st.sampled_from(
    [
        "Shared words {n}.",
        "::: premium\nPremium words P{n}X.\n:::",
        "::: free\nFree words {n}.\n:::",
        "- item {n}\n- P{n}Y nested?",
        "> quoted {n}",
        "## Heading {n}",
        "A reference [link{n}][r{n}].",
        "::: premium\n| h |\n|---|\n| P{n}X |\n:::",
    ]
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    before=st.lists(PIECES, min_size=1, max_size=5),
    after=st.lists(st.integers(0, 9), max_size=3),
    paywall=st.booleans(),
)
def test_generated_issues_never_show_premium_text_to_free_subscribers(
    workspace: Path, before: list[str], after: list[int], paywall: bool
) -> None:
    parts = [piece.format(n=i) for i, piece in enumerate(before)]
    if paywall:
        parts.append("<!-- paywall -->")
        parts += [f"Paid words P{100 + n}X.\n\n[r{n}]: https://p{n}.example/P{n}Z" for n in after]
    fake = BeehiivFake(now=lambda: NOW)
    setup = Setup(workspace, fake)
    setup.send(setup.campaign("\n\n".join(parts) + "\n"))
    post = only_post(fake)
    premium = {f"P{i}X" for i, piece in enumerate(before) if "P{n}X" in piece}
    if paywall:
        premium |= {f"P{100 + n}X" for n in after} | {f"P{n}Z" for n in after}
    for reader, target in (("anonymous", "web"), ("free", "web"), ("free", "email")):
        seen = fake.view(post["id"], reader, target)  # type: ignore[arg-type]
        assert not [w for w in premium if w in seen], (reader, target, seen)
    paid = fake.view(post["id"], "paid", "email")
    assert all(w in paid for w in premium if w.endswith("X")), paid
    assert fake.violations == []


def test_a_future_send_is_created_with_scheduled_at(beehiiv: Any) -> None:
    setup = beehiiv()
    when = NOW + timedelta(days=2)
    assert setup.send(setup.campaign(send_at=when)).status == "scheduled"
    assert setup.fake.calls("POST")[0].body["scheduled_at"] == "2026-11-30T09:00:00+00:00"
    assert [(d.kind, d.at) for d in setup.fake.sends()] == [("schedule", when)]


def test_a_second_run_finds_the_post_by_slug_and_creates_nothing(beehiiv: Any) -> None:
    setup = beehiiv()
    campaign = setup.campaign()
    setup.send(campaign)
    again = setup.send(campaign)
    assert again.status == "sent" and len(setup.fake.calls("POST")) == 1
    assert len(setup.fake.sends("send")) == 1


def test_a_create_whose_answer_was_lost_still_makes_exactly_one_post(beehiiv: Any) -> None:
    setup = beehiiv()
    setup.fake.drop(1, method="POST")
    assert setup.send(setup.campaign()).status == "sent"
    assert len(setup.fake.posts) == 1 and len(setup.fake.sends("send")) == 1


@pytest.mark.parametrize(
    "fault",
    [
        lambda f: f.throttle(2, retry_after=3),
        lambda f: f.throttle_reset(2, seconds=2),
        lambda f: f.fail(2, status=500, method="GET"),
        lambda f: f.fail(2, status=503),
        lambda f: f.fail(1, status=500, method="POST"),
        lambda f: f.delay(1, seconds=3, method="POST"),
    ],
    ids=["429-retry-after", "429-ratelimit-reset", "500-get", "503", "500-post", "timeout-post"],
)
def test_faults_are_retried_and_still_one_post(beehiiv: Any, fault: Any) -> None:
    setup = beehiiv()
    fault(setup.fake)
    assert setup.send(setup.campaign()).status == "sent"
    assert len(setup.fake.posts) == 1 and len(setup.fake.sends("send")) == 1
    assert setup.fake.violations == []


def test_ratelimit_reset_is_waited_out(beehiiv: Any) -> None:
    setup = beehiiv()
    setup.fake.throttle_reset(1, seconds=30)
    setup.send(setup.campaign())
    assert any(25 <= s <= 31 for s in setup.sleeps), setup.sleeps


def test_a_plan_without_the_api_is_one_clear_line(beehiiv: Any) -> None:
    setup = beehiiv(enterprise=False)
    with pytest.raises(ProviderRefused) as caught:
        setup.send(setup.campaign())
    assert "plan does not include this API" in str(caught.value)
    assert "Enterprise" in str(caught.value.hint)
    assert caught.value.exit_code == 3 and setup.fake.posts == {}


def test_a_wrong_key_is_exit_3_without_the_key(beehiiv: Any) -> None:
    setup = beehiiv()
    setup.fake.api_key = "bh_other"
    with pytest.raises(ProviderRefused) as caught:
        setup.send(setup.campaign())
    assert "401" in str(caught.value) and KEY not in str(caught.value)


def test_a_paywall_without_paywall_id_is_a_config_error(beehiiv: Any) -> None:
    setup = beehiiv()
    setup.provider.paywall_id = None  # as if [providers.beehiiv] had no paywall_id
    with pytest.raises(ConfigError, match="paywall_id"):
        setup.send(setup.campaign())
    assert setup.fake.requests == []


def test_tiers_from_the_settings_go_to_email_and_web(beehiiv: Any) -> None:
    setup = beehiiv(tiers={"free": ["tier_free"], "premium": ["tier_gold", "tier_silver"]})
    setup.send(setup.campaign())
    wanted = ["tier_free", "tier_gold", "tier_silver"]
    assert only_post(setup.fake)["_recipients"]["email"]["tier_ids"] == wanted


def test_a_test_send_is_refused_naming_file_and_smtp(beehiiv: Any) -> None:
    setup = beehiiv()
    with pytest.raises(InputError) as caught:
        setup.provider.send_test(setup.campaign(), "me@example.org")
    assert caught.value.exit_code == 1 and "smtp" in str(caught.value.hint)


def test_a_scheduled_post_is_moved_edited_and_archived(beehiiv: Any) -> None:
    setup = beehiiv()
    delivery = setup.send(setup.campaign(send_at=NOW + timedelta(days=2)))
    later = NOW + timedelta(days=3)
    setup.provider.reschedule(delivery.remote_id, setup.campaign("Edited: EDITED.\n"), later)
    post = only_post(setup.fake)
    assert [d.at for d in setup.fake.sends()] == [later]
    assert "EDITED" in setup.fake.view(post["id"], "paid")
    setup.provider.unschedule(delivery.remote_id)
    assert post["status"] == "archived" and setup.fake.sends() == []
    assert setup.provider.fetch(delivery.remote_id) is None
    # Sent again after unscheduling: a new post, since the archived one is gone for postcli.
    assert setup.send(setup.campaign(send_at=later)).status == "scheduled"
    assert len(setup.fake.posts) == 2
    assert setup.fake.violations == []


def test_a_published_post_cannot_be_unscheduled(beehiiv: Any) -> None:
    setup = beehiiv()
    delivery = setup.send(setup.campaign())
    with pytest.raises(ProviderRefused, match="went out already"):
        setup.provider.unschedule(delivery.remote_id)


@pytest.mark.parametrize(
    ("options", "wanted"),
    [
        ({"publication_id": ""}, "publication_id"),
        ({"tiers": {"gold": ["x"]}}, "tiers"),
        ({"tiers": {"free": "free"}}, "list of tier ids"),
    ],
)
def test_bad_settings_are_config_errors(
    workspace: Path, options: dict[str, Any], wanted: str
) -> None:
    configure(workspace, **options)
    with pytest.raises(ConfigError, match=wanted):
        BeehiivProvider(config.load(workspace)).validate()


def test_postcli_send_end_to_end_through_a_real_server(
    workspace: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = BeehiivFake()
    write_issue(workspace, RICH)
    write_issue(workspace, "Later.\n\n<!-- paywall -->\n\nPaid later.\n", "2026-12-02-later")
    with serve(fake) as server:
        configure(workspace, base_url=server.base_url)
        sent = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
        assert sent.exit_code == 0, sent.output
        post = only_post(fake)
        assert "PREMIUMBELOW" not in fake.view(post["id"], "free", "email")
        again = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
        assert again.exit_code == 0 and "nothing to do" in again.output
        later = run_cli("-C", workspace, "send", "2026-12-02-later", "--at", "+48h", "--yes")
        assert later.exit_code == 0, later.output
        assert [d.kind for d in fake.sends()] == ["send", "schedule"]
        test = run_cli("-C", workspace, "send", ISSUE_ID, "--test", "me@example.org")
        assert test.exit_code == 1 and "smtp" in test.output
    assert KEY not in sent.output + again.output + later.output + test.output
    assert fake.violations == []
