"""The `ghost` provider against the fake Ghost Admin API (tests/fakes/ghost.py).

Every request is validated against tests/contracts/ghost/ and signed tokens are verified with
the key; what free and paid members would read is computed from the post as the fake stores it,
by Ghost's own rules (the members-only card cuts paid posts; card visibility by segment).
Faults: 429 with Retry-After, 500, 503, timeouts, a create whose answer was lost, a stale
`updated_at`. Retry waits are recorded, never slept.
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

from fakes.ghost import GHOST_KEY, GHOST_SECRET, GhostFake, text_of
from helpers.fake_api import contract_errors, load_schema, serve
from helpers.workspace import publishable
from postcli import build, config, providers
from postcli.errors import ConfigError, InputError, ProviderRefused, ProviderUnavailable
from postcli.model import Variant
from postcli.providers._http import RetryPolicy
from postcli.providers.base import Campaign, campaign_name, content_hash
from postcli.providers.ghost import GhostProvider, GhostToken, lexical_document
from postcli.render import render_issue
from postcli.render.gated import gated_post

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ISSUE_ID = "2026-12-01-ghost"
SCHEMAS = ["create_post", "update_post", "update_post_query", "browse_posts_query", "lexical"]

PAYWALLED = """Hello, free and paid members: FREETEXT.

<!-- paywall -->

The paid part: PREMIUMBELOW.
"""

BLOCKS = """Hello, everyone: FREETEXT.

::: premium
A premium passage: PREMIUMBLOCK.
:::

::: free
A pitch for free readers: FREEPITCH.
:::

| a | b |
|---|---|
| 1 | 2 |

<!-- paywall -->

Below the paywall: PREMIUMBELOW.
"""


@pytest.fixture(autouse=True)
def _ghost_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GHOST_ADMIN_API_KEY", GHOST_KEY)


def configure(root: Path, base_url: str = "https://example.ghost.io", **options: Any) -> None:
    path = root / "postcli.toml"
    text = publishable(path.read_text(encoding="utf-8")).replace('name = "file"', 'name = "ghost"')
    text = text.split("\n[providers.ghost]")[0]  # configured again: the new table replaces it
    values = {"base_url": base_url, "newsletter": "default-newsletter", **options}
    lines = ["[providers.ghost]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path.write_text(text + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def write_issue(root: Path, body: str, issue_id: str = ISSUE_ID, front: str = "") -> None:
    (root / "issues" / f"{issue_id}.md").write_text(
        f"---\ntitle: A Ghost issue\nsubtitle: What it is about\n{front}---\n{body}",
        encoding="utf-8",
    )


class Setup:
    def __init__(self, root: Path, fake: GhostFake, **options: Any) -> None:
        configure(root, **options)
        self.root = root
        self.fake = fake
        self.sleeps: list[float] = []
        self.checkpoints: list[str] = []
        self.settings = config.load(root)
        client = httpx.Client(transport=httpx.MockTransport(fake.handle), timeout=2.0)
        self.provider = GhostProvider(
            self.settings,
            client=client,
            retry=RetryPolicy(attempts=4),
            sleep=self.sleeps.append,
            now=lambda: NOW,
        )
        self.provider.validate()

    def campaign(
        self, body: str = PAYWALLED, *, send_at: datetime | None = None, variant: str = "all"
    ) -> Campaign:
        write_issue(self.root, body)
        issue = build.load(self.settings, ISSUE_ID)
        wanted = (Variant.FREE, Variant.PREMIUM) if variant == "all" else (Variant(variant),)
        emails = render_issue(
            issue, self.settings, variants=wanted, unsubscribe_url=GhostProvider.unsubscribe_tag
        )
        main = emails[Variant.PREMIUM if variant in ("all", "premium") else Variant.FREE]
        return Campaign(
            issue_id=ISSUE_ID,
            variant=variant,
            name=campaign_name(ISSUE_ID, variant, content_hash(main)),
            email=main,
            sender="News <hello@example.com>",
            reply_to=None,
            send_at=send_at,
            post=gated_post(issue, self.settings, wanted),
        )

    def send(self, campaign: Campaign) -> Any:
        return self.provider.send_campaign(campaign, self.checkpoints.append)


@pytest.fixture
def ghost(workspace: Path) -> Callable[..., Setup]:
    def make(**options: Any) -> Setup:
        fake_options = {k: options.pop(k) for k in ("email_status",) if k in options}
        return Setup(workspace, GhostFake(now=lambda: NOW, **fake_options), **options)

    return make


def only_post(fake: GhostFake) -> dict[str, Any]:
    assert len(fake.posts) == 1, list(fake.posts)
    return next(iter(fake.posts.values()))


# --- the contracts -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*SCHEMAS, "headers", "create_post_query", "read_post_query"])
def test_each_ghost_contract_accepts_its_example_and_refuses_what_ghost_does_not_know(
    name: str,
) -> None:
    schema = load_schema("ghost", name)
    example = schema["examples"][0]
    assert contract_errors("ghost", name, example) == []
    assert contract_errors("ghost", name, ["not an object"])
    if name != "headers":
        assert contract_errors("ghost", name, {**example, "surely_not_a_field": 1})
    if name in ("create_post", "update_post"):
        bad = json.loads(json.dumps(example))
        bad["posts"][0]["surely_not_a_field"] = 1
        assert contract_errors("ghost", name, bad)
    if name == "update_post":
        assert contract_errors("ghost", name, {"posts": [{"status": "published"}]})
    if name == "update_post_query":
        assert contract_errors("ghost", name, {"newsletter": "x", "email_segment": "status:paid"})
    if name == "lexical":
        card = example["root"]["children"][1]
        card["visibility"]["web"]["memberSegment"] = "status:paid"
        assert contract_errors("ghost", name, example)


# --- what members get --------------------------------------------------------------------------


def test_a_paywalled_issue_is_one_html_post_cut_by_the_members_only_card(ghost: Any) -> None:
    setup = ghost()
    delivery = setup.send(setup.campaign(PAYWALLED))
    assert delivery.status == "sent"
    post = only_post(setup.fake)
    assert post["visibility"] == "paid" and post["status"] == "published"
    assert post["slug"] == ISSUE_ID and {"name": "#postcli"} in post["tags"]
    assert "<!--members-only-->" in post["_html"]
    create = setup.fake.calls("POST", r"^/posts/$")[0]
    assert create.query == {"source": ["html"]}
    publish = setup.fake.calls("PUT")[-1]
    assert publish.query == {"newsletter": ["default-newsletter"], "email_segment": ["all"]}
    assert [(d.kind, d.audience) for d in setup.fake.sends()] == [("send", "all")]
    for reader in ("anonymous", "free"):
        seen = text_of(setup.fake.view(post["id"], reader))  # type: ignore[arg-type]
        assert "FREETEXT" in seen and "PREMIUMBELOW" not in seen
    assert "PREMIUMBELOW" in text_of(setup.fake.view(post["id"], "paid"))
    assert "PREMIUMBELOW" not in text_of(setup.fake.view(post["id"], "free", "email"))
    # Ghost would make the excerpt from the text; postcli gives it the issue's preheader.
    assert post["custom_excerpt"] == "What it is about"
    assert setup.checkpoints == [post["id"]]
    assert setup.fake.violations == []


def test_blocks_become_lexical_cards_whose_web_and_email_visibility_exclude_the_other_tier(
    ghost: Any,
) -> None:
    setup = ghost()
    setup.send(setup.campaign(BLOCKS))
    post = only_post(setup.fake)
    assert "_html" not in post
    cards = json.loads(post["lexical"])["root"]["children"]
    assert [c["type"] for c in cards].count("paywall") == 1
    premium = next(c for c in cards if "PREMIUMBLOCK" in c.get("html", ""))
    assert premium["visibility"] == {
        "web": {"nonMember": False, "memberSegment": "status:-free"},
        "email": {"memberSegment": "status:-free"},
    }
    pitch = next(c for c in cards if "FREEPITCH" in c.get("html", ""))
    assert pitch["visibility"]["email"] == {"memberSegment": "status:free"}
    for reader, target in (("anonymous", "web"), ("free", "web"), ("free", "email")):
        seen = text_of(setup.fake.view(post["id"], reader, target))  # type: ignore[arg-type]
        assert "FREETEXT" in seen and "FREEPITCH" in seen, (reader, target)
        assert "PREMIUMBLOCK" not in seen and "PREMIUMBELOW" not in seen, (reader, target)
    for target in ("web", "email"):
        seen = text_of(setup.fake.view(post["id"], "paid", target))  # type: ignore[arg-type]
        assert "PREMIUMBLOCK" in seen and "PREMIUMBELOW" in seen and "FREETEXT" in seen
        assert "FREEPITCH" not in seen
    assert setup.fake.violations == []


def test_members_visibility_leaves_below_the_paywall_to_all_members_but_blocks_to_paid(
    ghost: Any,
) -> None:
    setup = ghost(visibility="members")
    setup.send(setup.campaign(BLOCKS))
    post = only_post(setup.fake)
    assert post["visibility"] == "members"
    free = text_of(setup.fake.view(post["id"], "free"))
    assert "PREMIUMBELOW" in free and "PREMIUMBLOCK" not in free
    assert "PREMIUMBELOW" not in text_of(setup.fake.view(post["id"], "anonymous"))


def test_tiers_visibility_names_the_tiers(ghost: Any) -> None:
    setup = ghost(visibility="tiers", tiers=["gold"])
    setup.send(setup.campaign(PAYWALLED))
    assert only_post(setup.fake)["tiers"] == [{"slug": "gold"}]
    assert setup.fake.violations == []


def test_premium_and_free_only_issues_are_whole_posts_for_one_segment(ghost: Any) -> None:
    setup = ghost()
    setup.send(setup.campaign("All premium: PREMIUMALL.\n", variant="premium"))
    post = only_post(setup.fake)
    assert post["visibility"] == "paid"
    assert setup.fake.sends()[-1].audience == "status:-free"
    assert "PREMIUMALL" not in text_of(setup.fake.view(post["id"], "free"))
    assert "PREMIUMALL" in text_of(setup.fake.view(post["id"], "paid"))


PIECES = st.sampled_from(
    [
        "Shared words {n}.",
        "::: premium\nPremium words P{n}X.\n:::",
        "::: free\nFree words {n}.\n:::",
        "- a list item {n}\n- another",
        "> quoted {n}",
        "| h |\n|---|\n| cell {n} |",
        "A reference [link{n}][r{n}].",
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
def test_generated_issues_never_show_premium_text_to_free_members(
    workspace: Path, before: list[str], after: list[int], paywall: bool
) -> None:
    parts = [piece.format(n=i) for i, piece in enumerate(before)]
    if paywall:
        parts.append("<!-- paywall -->")
        parts += [f"Paid words P{100 + n}X.\n\n[r{n}]: https://p{n}.example/P{n}X" for n in after]
    fake = GhostFake(now=lambda: NOW)
    setup = Setup(workspace, fake)
    campaign = setup.campaign("\n\n".join(parts) + "\n")
    setup.send(campaign)
    post = only_post(fake)
    visible_premium = {f"P{i}X" for i, piece in enumerate(before) if "premium" in piece}
    if paywall:
        visible_premium |= {f"P{100 + n}X" for n in after}
    targets = {f"P{n}X" for n in after} if paywall else set()  # premium link targets
    for reader, target in (("anonymous", "web"), ("free", "web"), ("free", "email")):
        stored = fake.view(post["id"], reader, target)  # type: ignore[arg-type]
        leaked = [w for w in visible_premium | targets if w in stored]
        assert not leaked, (reader, target, stored)
    paid = fake.view(post["id"], "paid", "email")
    assert all(w in paid for w in visible_premium), paid
    assert fake.violations == []


# --- schedule, publish, idempotency ------------------------------------------------------------


def test_a_future_send_is_scheduled_with_the_newsletter_and_published_at(ghost: Any) -> None:
    setup = ghost()
    when = NOW + timedelta(days=2)
    delivery = setup.send(setup.campaign(send_at=when))
    assert delivery.status == "scheduled"
    post = only_post(setup.fake)
    assert post["status"] == "scheduled"
    assert post["_schedule"] == {"newsletter": "default-newsletter", "segment": "all"}
    assert [(d.kind, d.at) for d in setup.fake.sends()] == [("schedule", when)]


def test_a_schedule_sooner_than_two_minutes_is_moved_to_what_ghost_allows(ghost: Any) -> None:
    setup = ghost()
    delivery = setup.send(setup.campaign(send_at=NOW + timedelta(seconds=70)))
    assert delivery.status == "scheduled"
    assert delivery.scheduled_for >= NOW + timedelta(minutes=2)
    assert setup.fake.violations == []


def test_a_published_post_is_never_published_again(ghost: Any) -> None:
    setup = ghost()
    campaign = setup.campaign()
    setup.send(campaign)
    before = len(setup.fake.calls("PUT"))
    again = setup.send(campaign)
    assert again.status == "sent" and len(setup.fake.calls("PUT")) == before
    assert len(setup.fake.sends("send")) == 1 and len(setup.fake.posts) == 1


def test_an_earlier_draft_is_reused_with_the_current_text(ghost: Any) -> None:
    setup = ghost()
    setup.fake.refuse(1, status=422, message="no", method="PUT")
    with pytest.raises(ProviderRefused):
        setup.send(setup.campaign("Old text.\n"))
    assert only_post(setup.fake)["status"] == "draft"
    setup.send(setup.campaign("New text: NEWTEXT.\n"))
    post = only_post(setup.fake)
    assert post["status"] == "published" and "NEWTEXT" in post["_html"]


def test_a_post_with_the_slug_that_postcli_did_not_make_is_left_alone(ghost: Any) -> None:
    setup = ghost()
    setup.fake.posts["ff"] = {
        "id": "ff", "slug": ISSUE_ID, "status": "published", "tags": [], "title": "Mine",
        "created_at": "2026-01-01T00:00:00.000Z", "updated_at": "x", "_email": None,
    }  # fmt: skip
    with pytest.raises(ProviderRefused, match="did not make"):
        setup.send(setup.campaign())
    assert setup.fake.calls("POST") == []


# --- faults ----------------------------------------------------------------------------------


def test_a_create_whose_answer_was_lost_still_makes_exactly_one_post(ghost: Any) -> None:
    setup = ghost()
    setup.fake.drop(1, method="POST")
    delivery = setup.send(setup.campaign())
    assert delivery.status == "sent" and len(setup.fake.posts) == 1
    assert len(setup.fake.calls("POST")) == 1
    assert len(setup.fake.sends("send")) == 1


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
def test_faults_are_retried_and_still_one_post_one_email(ghost: Any, fault: Any) -> None:
    setup = ghost()
    fault(setup.fake)
    assert setup.send(setup.campaign()).status == "sent"
    assert len(setup.fake.posts) == 1 and len(setup.fake.sends("send")) == 1
    assert setup.fake.violations == []


def test_retry_after_is_waited_out(ghost: Any) -> None:
    setup = ghost()
    setup.fake.throttle(1, retry_after=7)
    setup.send(setup.campaign())
    assert 7.0 in setup.sleeps


def test_a_stale_updated_at_is_read_again_and_tried_once_more(ghost: Any) -> None:
    setup = ghost()
    campaign = setup.campaign()
    setup.fake.refuse(1, status=409, message="Saving failed!", method="PUT")
    assert setup.send(campaign).status == "sent"
    assert [r.status for r in setup.fake.calls("PUT")] == [409, 200]


def test_a_401_is_exit_3_with_ghosts_message_and_no_key_or_token(ghost: Any) -> None:
    setup = ghost()
    setup.fake.secret = bytes(32)  # Ghost knows another secret: every signature is wrong
    with pytest.raises(ProviderRefused) as caught:
        setup.send(setup.campaign())
    message = str(caught.value) + str(caught.value.hint)
    assert caught.value.exit_code == 3
    assert "Invalid token" in message and "GHOST_ADMIN_API_KEY" in message
    assert GHOST_SECRET not in message and "eyJ" not in message


def test_a_failed_email_is_exit_4_and_a_rerun_does_not_publish_again(ghost: Any) -> None:
    setup = ghost(email_status="failed")
    campaign = setup.campaign()
    with pytest.raises(ProviderUnavailable, match="email failed") as caught:
        setup.send(campaign)
    assert caught.value.exit_code == 4
    with pytest.raises(ProviderUnavailable, match="email failed"):
        setup.send(campaign)
    assert len(setup.fake.sends("send")) == 1


@pytest.mark.parametrize(
    ("answers", "said"),
    [
        ({"GET": {"posts": {"id": "1"}}}, "not a list of posts"),
        ({"GET": ["not", "ghost"]}, "not a list of posts"),
        ({"GET": {"posts": []}, "POST": {"posts": []}}, "holds no post"),
    ],
)
def test_an_answer_not_shaped_like_ghosts_is_exit_3_never_a_traceback(
    ghost: Any, answers: dict[str, Any], said: str
) -> None:
    """A 200 whose JSON is not Ghost's `{"posts": [...]}` (another server at base_url, a
    proxy) is a refusal naming the request, never a KeyError."""
    setup = ghost()
    campaign = setup.campaign()

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers[request.method])

    setup.provider._client = httpx.Client(transport=httpx.MockTransport(answer))
    with pytest.raises(ProviderRefused, match=said) as caught:
        setup.send(campaign)
    assert caught.value.exit_code == 3 and "base_url" in str(caught.value.hint)


def test_an_unknown_newsletter_is_exit_3(ghost: Any) -> None:
    setup = ghost(newsletter="weekly")
    with pytest.raises(ProviderRefused, match="doesn't match any active newsletter"):
        setup.send(setup.campaign())


# --- tokens and secrets --------------------------------------------------------------------------


def test_tokens_are_hs256_with_kid_and_admin_audience_for_five_minutes_and_redacted() -> None:
    import time

    import jwt

    clock = [time.time()]
    auth = GhostToken(GHOST_KEY, clock=lambda: clock[0])
    token = auth.token()
    header = jwt.get_unverified_header(token)
    payload = jwt.decode(
        token, bytes.fromhex(GHOST_SECRET), algorithms=["HS256"], audience="/admin/"
    )
    assert header["kid"] == GHOST_KEY.split(":")[0] and header["alg"] == "HS256"
    assert payload["exp"] - payload["iat"] == 300
    assert auth.token() == token
    clock[0] += 241
    assert auth.token() != token
    assert config.redact(f"a {token} b") == "a *** b"


def test_the_secret_half_of_the_key_is_redacted_too(ghost: Any) -> None:
    ghost()
    assert GHOST_SECRET not in config.redact(f"secret={GHOST_SECRET}")


@pytest.mark.parametrize(
    ("value", "wanted"),
    [("nocolon", "id:secret"), ("abc:xyz", "hexadecimal"), (":abcd", "id:secret")],
)
def test_a_malformed_key_is_a_config_error_that_does_not_show_it(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, value: str, wanted: str
) -> None:
    configure(workspace)
    monkeypatch.setenv("GHOST_ADMIN_API_KEY", value)
    provider = GhostProvider(config.load(workspace))
    with pytest.raises(ConfigError, match=wanted) as caught:
        provider.validate()
    assert value not in str(caught.value) or value == ":abcd"


@pytest.mark.parametrize(
    ("options", "wanted"),
    [
        ({"visibility": "public"}, "visibility"),
        ({"visibility": "tiers"}, "tiers"),
        ({"tiers": ["gold"]}, "only with visibility"),
        ({"email_only": "yes"}, "email_only"),
        ({"newsletter": ""}, "newsletter"),
    ],
)
def test_bad_settings_are_config_errors(
    workspace: Path, options: dict[str, Any], wanted: str
) -> None:
    configure(workspace, **options)
    with pytest.raises(ConfigError, match=wanted):
        GhostProvider(config.load(workspace)).validate()


def test_a_test_send_is_refused_naming_file_and_smtp(ghost: Any) -> None:
    setup = ghost()
    with pytest.raises(InputError) as caught:
        setup.provider.send_test(setup.campaign(), "me@example.org")
    assert caught.value.exit_code == 1
    assert "file" in str(caught.value.hint) and "smtp" in str(caught.value.hint)
    assert setup.fake.requests == []


# --- after scheduling: move, edit, cancel -------------------------------------------------------


def test_a_scheduled_post_is_moved_edited_and_taken_back_to_a_draft(ghost: Any) -> None:
    setup = ghost()
    delivery = setup.send(setup.campaign(send_at=NOW + timedelta(days=2)))
    later = NOW + timedelta(days=3)
    setup.provider.reschedule(delivery.remote_id, setup.campaign("Edited: EDITED.\n"), later)
    post = only_post(setup.fake)
    assert post["status"] == "scheduled" and "EDITED" in post["_html"]
    assert [d.at for d in setup.fake.sends("schedule")] == [later]
    setup.provider.unschedule(delivery.remote_id)
    assert only_post(setup.fake)["status"] == "draft" and setup.fake.sends() == []
    setup.provider.unschedule(delivery.remote_id)  # twice is fine
    assert setup.fake.violations == []


def test_a_published_post_cannot_be_unscheduled(ghost: Any) -> None:
    setup = ghost()
    delivery = setup.send(setup.campaign())
    with pytest.raises(ProviderRefused, match="went out already"):
        setup.provider.unschedule(delivery.remote_id)


# --- end to end ------------------------------------------------------------------------------


def test_lexical_document_validates_against_the_contract(workspace: Path) -> None:
    configure(workspace)
    write_issue(workspace, BLOCKS)
    settings_ = config.load(workspace)
    post = gated_post(build.load(settings_, ISSUE_ID), settings_, (Variant.FREE, Variant.PREMIUM))
    document = json.loads(lexical_document(post, guard_below=True))
    assert contract_errors("ghost", "lexical", document) == []


def test_postcli_send_end_to_end_through_a_real_server(
    workspace: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from postcli.providers._campaigns import HttpCampaignProvider

    monkeypatch.setitem(HttpCampaignProvider.__init__.__kwdefaults__, "sleep", lambda s: None)
    fake = GhostFake()
    write_issue(workspace, BLOCKS)
    write_issue(workspace, PAYWALLED, issue_id="2026-12-02-later")
    with serve(fake) as server:
        configure(workspace, base_url=server.origin)
        sent = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
        assert sent.exit_code == 0, sent.output
        post = only_post(fake)
        assert post["status"] == "published"
        assert [(d.kind, d.audience) for d in fake.sends()] == [("send", "all")]
        status = json.loads(run_cli("-C", workspace, "status", ISSUE_ID, "--json").stdout)
        assert [(r["variant"], r["state"], r["remote_id"]) for r in status["sends"]] == [
            ("all", "sent", post["id"])
        ]
        again = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
        assert again.exit_code == 0 and "nothing to do" in again.output
        later = run_cli("-C", workspace, "send", "2026-12-02-later", "--at", "+48h", "--yes")
        assert later.exit_code == 0, later.output
        assert [d.kind for d in fake.sends()] == ["send", "schedule"]
        test = run_cli("-C", workspace, "send", ISSUE_ID, "--test", "me@example.org")
        assert test.exit_code == 1 and "smtp" in test.output
        fake.email_status = "failed"
        write_issue(workspace, PAYWALLED, issue_id="2026-12-09-failed")
        failed = run_cli("-C", workspace, "send", "2026-12-09-failed", "--yes")
        assert failed.exit_code == 4 and "email failed" in failed.output
        assert "Traceback" not in failed.output
    outputs = sent.output + again.output + later.output + test.output + failed.output
    assert GHOST_SECRET not in outputs and GHOST_KEY not in outputs and "eyJ" not in outputs
    ledger = (workspace / ".postcli" / "ledger.sqlite3").read_bytes()
    assert GHOST_SECRET.encode() not in ledger and b"eyJ" not in ledger
    assert fake.violations == []


def test_registered_as_a_self_gated_provider() -> None:
    cls = providers.provider_class("ghost")
    assert cls is GhostProvider and cls.features.self_gated and not cls.features.test_sends


def test_send_due_sends_one_gated_post_and_leaves_a_ghost_schedule_alone(
    workspace: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from postcli.providers._campaigns import HttpCampaignProvider

    monkeypatch.setitem(HttpCampaignProvider.__init__.__kwdefaults__, "sleep", lambda s: None)
    fake = GhostFake()
    for sample in (workspace / "issues").glob("*.md"):
        sample.unlink()  # only this test's issues are due
    with serve(fake) as server:
        configure(workspace, base_url=server.origin)
        tz = config.load(workspace).newsletter.tz
        past = (datetime.now(tz) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
        future = (datetime.now(tz) + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
        write_issue(workspace, PAYWALLED, "2026-12-01-due", front=f'send_at: "{past}"\n')
        write_issue(workspace, PAYWALLED, "2026-12-02-ahead", front=f'send_at: "{future}"\n')
        ahead = run_cli("-C", workspace, "send", "2026-12-02-ahead", "--yes")
        assert ahead.exit_code == 0, ahead.output
        due = run_cli("-C", workspace, "send", "--due")
        assert due.exit_code == 0, due.output
        # One post per issue: the due one published, the other still scheduled on Ghost.
        by_slug = {p["slug"]: p for p in fake.posts.values()}
        assert set(by_slug) == {"2026-12-01-due", "2026-12-02-ahead"}
        assert by_slug["2026-12-01-due"]["status"] == "published"
        assert by_slug["2026-12-02-ahead"]["status"] == "scheduled"
        assert sorted((d.kind, d.audience) for d in fake.sends()) == [
            ("schedule", "all"),
            ("send", "all"),
        ]
        again = run_cli("-C", workspace, "send", "--due")
        assert again.exit_code == 0 and len(fake.posts) == 2 and len(fake.sends("send")) == 1
    assert fake.violations == []
