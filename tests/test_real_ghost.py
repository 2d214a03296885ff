"""The `ghost` provider against a real Ghost 5 server: `pytest -m real_ghost`.

Runs only when GHOST_URL and GHOST_ADMIN_API_KEY name a Ghost site on this machine (a custom
integration's Admin API key); GHOST_CONTENT_API_KEY, when set, adds the Content API's view of a
post for an anonymous visitor. Skipped otherwise: the default test run never needs a Ghost. See
docs/testing.md for starting one.

Each test uses issue ids of its own, so the suite can run again against the same site. What it
checks is what Ghost itself stores and shows: the post's Lexical and HTML, the anonymous web page
(no premium text), the email record (Ghost without a bulk mailer marks it `failed`: exit 4), a
second run that publishes nothing, schedule, move and cancel, and Ghost's own refusals.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from postcli import build, config
from postcli.errors import ProviderRefused
from postcli.model import Variant
from postcli.providers.base import Campaign, campaign_name, content_hash
from postcli.providers.ghost import GhostProvider
from postcli.render import render_issue
from postcli.render.gated import gated_post

GHOST_URL = os.environ.get("GHOST_URL", "")
GHOST_KEY = os.environ.get("GHOST_ADMIN_API_KEY", "")
CONTENT_KEY = os.environ.get("GHOST_CONTENT_API_KEY", "")
NEWSLETTER = os.environ.get("GHOST_NEWSLETTER", "default-newsletter")

pytestmark = [
    pytest.mark.real_ghost,
    pytest.mark.skipif(
        not (GHOST_URL and GHOST_KEY),
        reason="set GHOST_URL and GHOST_ADMIN_API_KEY to run against a real Ghost",
    ),
    pytest.mark.skipif(
        bool(GHOST_URL) and urlsplit(GHOST_URL).hostname not in ("127.0.0.1", "localhost"),
        reason="the real-Ghost suite only talks to a Ghost on this machine",
    ),
]

BLOCKS = """Hello, everyone: FREETEXT{tag}.

::: premium
A premium passage: PREMIUMBLOCK{tag}.
:::

::: free
A pitch for free readers: FREEPITCH{tag}.
:::

<!-- paywall -->

Below the paywall: PREMIUMBELOW{tag}.
"""

PLAIN = """Hello, everyone: FREETEXT{tag}, with a note[^1].

| a | b |
|---|---|
| 1 | 2 |

![A chart](https://news.test/chart.png "Image credit: postcli")

[^1]: A note for everyone.

<!-- paywall -->

Below the paywall: PREMIUMBELOW{tag}.
"""


def unique() -> str:
    return uuid.uuid4().hex[:8]


def configure(root: Path, **options: Any) -> None:
    path = root / "postcli.toml"
    text = path.read_text(encoding="utf-8").replace('name = "file"', 'name = "ghost"')
    text = text.split("\n[providers.ghost]")[0]
    values = {"base_url": GHOST_URL, "newsletter": NEWSLETTER, **options}
    lines = ["[providers.ghost]"] + [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    path.write_text(text + "\n" + "\n".join(lines) + "\n", encoding="utf-8")


def write_issue(root: Path, issue_id: str, body: str) -> None:
    (root / "issues" / f"{issue_id}.md").write_text(
        f"---\ntitle: Real Ghost {issue_id}\nsubtitle: postcli against a real Ghost\n---\n{body}",
        encoding="utf-8",
    )


@pytest.fixture
def ghost(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GhostProvider]:
    monkeypatch.setenv("GHOST_ADMIN_API_KEY", GHOST_KEY)
    configure(workspace)
    with httpx.Client(timeout=30) as client:
        provider = GhostProvider(config.load(workspace), client=client)
        provider.validate()
        yield provider


def post_by_slug(ghost: GhostProvider, slug: str) -> dict[str, Any] | None:
    found = ghost.call(
        "GET",
        "/posts/",
        params={"filter": f"slug:{slug}", "include": "tags,email", "formats": "html,lexical"},
    )
    posts = found.get("posts") or []
    return posts[0] if posts else None


def anonymous_views(slug: str) -> list[str]:
    """What a visitor who is not signed in gets: the site's page and the Content API's post."""
    views = [httpx.get(f"{GHOST_URL.rstrip('/')}/{slug}/", timeout=30).text]
    if CONTENT_KEY:
        answer = httpx.get(
            f"{GHOST_URL.rstrip('/')}/ghost/api/content/posts/slug/{slug}/",
            params={"key": CONTENT_KEY, "formats": "html,plaintext"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        views.append(json.dumps(answer.json(), ensure_ascii=False))
    return views


def ensure_a_member(ghost: GhostProvider) -> None:
    """At least one member, so that Ghost makes an email batch when a post is published."""
    if not (ghost.call("GET", "/members/", params={"limit": "1"}).get("members") or []):
        ghost.call(
            "POST",
            "/members/",
            json={"members": [{"email": f"free-{unique()}@example.test", "name": "Free"}]},
        )


def test_blocks_are_gated_by_the_real_ghost_and_its_email_read_back(
    workspace: Path, ghost: GhostProvider, run_cli: Callable[..., Any]
) -> None:
    tag = unique()
    issue_id = f"2026-12-01-real-blocks-{tag}"
    write_issue(workspace, issue_id, BLOCKS.format(tag=tag))
    ensure_a_member(ghost)
    sent = run_cli("-C", workspace, "send", issue_id, "--yes")
    post = post_by_slug(ghost, issue_id)
    assert post is not None, sent.output
    assert post["status"] == "published" and post["visibility"] == "paid"
    email = post.get("email") or {}
    # Without a bulk mailer Ghost marks the email failed; postcli says so (exit 4), never "sent".
    if email.get("status") == "failed":
        assert sent.exit_code == 4 and "email failed" in sent.output, sent.output
    else:
        assert sent.exit_code == 0, sent.output
    cards = json.loads(post["lexical"])["root"]["children"]
    premium = next(c for c in cards if f"PREMIUMBLOCK{tag}" in c.get("html", ""))
    assert premium["visibility"]["web"] == {"nonMember": False, "memberSegment": "status:-free"}
    assert premium["visibility"]["email"] == {"memberSegment": "status:-free"}
    assert any(c["type"] == "paywall" for c in cards)
    for view in anonymous_views(issue_id):
        assert f"FREETEXT{tag}" in view and f"FREEPITCH{tag}" in view
        assert f"PREMIUMBLOCK{tag}" not in view and f"PREMIUMBELOW{tag}" not in view
    # Run again: nothing is published or emailed a second time.
    again = run_cli("-C", workspace, "send", issue_id, "--yes")
    assert again.exit_code == sent.exit_code
    after = post_by_slug(ghost, issue_id)
    assert after is not None and after["updated_at"] == post["updated_at"]
    assert (after.get("email") or {}).get("id") == email.get("id")
    assert GHOST_KEY not in sent.output + again.output
    assert GHOST_KEY.split(":")[1] not in sent.output + again.output


def test_a_plain_issue_goes_through_ghosts_html_import_with_the_members_only_card(
    workspace: Path, ghost: GhostProvider, run_cli: Callable[..., Any]
) -> None:
    tag = unique()
    issue_id = f"2026-12-02-real-plain-{tag}"
    write_issue(workspace, issue_id, PLAIN.format(tag=tag))
    sent = run_cli("-C", workspace, "send", issue_id, "--yes")
    assert sent.exit_code in (0, 4), sent.output
    post = post_by_slug(ghost, issue_id)
    assert post is not None
    cards = json.loads(post["lexical"])["root"]["children"]
    types = [c["type"] for c in cards]
    assert "paywall" in types and "html" in types  # the table and the figure kept as cards
    assert "paragraph" in types  # plain paragraphs became Ghost's own, editable nodes
    assert "Image credit: postcli" in post["html"] and "<table>" in post["html"]
    for view in anonymous_views(issue_id):
        assert f"FREETEXT{tag}" in view and f"PREMIUMBELOW{tag}" not in view


def test_schedule_move_and_cancel_on_the_real_ghost(workspace: Path, ghost: GhostProvider) -> None:
    tag = unique()
    issue_id = f"2026-12-03-real-schedule-{tag}"
    write_issue(workspace, issue_id, BLOCKS.format(tag=tag))
    settings = config.load(workspace)
    issue = build.load(settings, issue_id)
    both = (Variant.FREE, Variant.PREMIUM)
    emails = render_issue(issue, settings, unsubscribe_url=GhostProvider.unsubscribe_tag)
    when = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    campaign = Campaign(
        issue_id=issue_id,
        variant="all",
        name=campaign_name(issue_id, "all", content_hash(emails[Variant.PREMIUM])),
        email=emails[Variant.PREMIUM],
        sender=settings.newsletter.from_,
        reply_to=None,
        send_at=when,
        post=gated_post(issue, settings, both),
    )
    checkpoints: list[str] = []
    delivery = ghost.send_campaign(campaign, checkpoints.append)
    assert delivery.status == "scheduled" and checkpoints == [delivery.remote_id]
    post = post_by_slug(ghost, issue_id)
    assert post is not None and post["status"] == "scheduled"
    assert datetime.fromisoformat(post["published_at"].replace("Z", "+00:00")) == when
    moved = when + timedelta(hours=1)
    ghost.reschedule(delivery.remote_id, campaign, moved)
    post = post_by_slug(ghost, issue_id)
    assert post is not None and post["status"] == "scheduled"
    assert datetime.fromisoformat(post["published_at"].replace("Z", "+00:00")) == moved
    ghost.unschedule(delivery.remote_id)
    post = post_by_slug(ghost, issue_id)
    assert post is not None and post["status"] == "draft" and not post.get("email")


def test_a_stale_updated_at_is_409_and_postcli_reads_again(
    workspace: Path, ghost: GhostProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = ghost.call(
        "POST", "/posts/", json={"posts": [{"title": f"Collision {unique()}", "status": "draft"}]}
    )["posts"][0]
    stale = created["updated_at"]
    time.sleep(1.1)  # Ghost's updated_at has whole seconds
    ghost.call(
        "PUT",
        f"/posts/{created['id']}/",
        json={"posts": [{"custom_excerpt": "changed elsewhere", "updated_at": stale}]},
    )
    with pytest.raises(ProviderRefused) as caught:
        ghost.call(
            "PUT",
            f"/posts/{created['id']}/",
            json={"posts": [{"custom_excerpt": "stale", "updated_at": stale}]},
        )
    assert getattr(caught.value, "status", None) == 409
    assert getattr(caught.value, "code", "") == "UPDATE_COLLISION"
    # update() reads the post first and, on a 409, once more: it goes through.
    reads = {"n": 0}
    real_read = ghost._read

    def stale_first(post_id: str) -> dict[str, Any] | None:
        reads["n"] += 1
        post = real_read(post_id)
        if post is not None and reads["n"] == 1:
            post = {**post, "updated_at": stale}
        return post

    monkeypatch.setattr(ghost, "_read", stale_first)
    updated = ghost.update(created["id"], {"custom_excerpt": "third"})
    assert updated["custom_excerpt"] == "third" and reads["n"] == 2
    ghost.call("DELETE", f"/posts/{created['id']}/")


def test_a_wrong_secret_is_exit_3_with_ghosts_message_and_no_secret(
    workspace: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    key_id = GHOST_KEY.split(":")[0]
    wrong = f"{key_id}:{'ab' * 32}"
    monkeypatch.setenv("GHOST_ADMIN_API_KEY", wrong)
    configure(workspace)
    issue_id = f"2026-12-04-real-refused-{unique()}"
    write_issue(workspace, issue_id, "Hello.\n")
    refused = run_cli("-C", workspace, "send", issue_id, "--yes")
    assert refused.exit_code == 3, refused.output
    assert "Ghost refused" in refused.output and "401" in refused.output
    assert "ab" * 32 not in refused.output and "Traceback" not in refused.output


def test_an_integration_key_cannot_read_emails_or_send_tests(
    workspace: Path, ghost: GhostProvider, run_cli: Callable[..., Any]
) -> None:
    with pytest.raises(ProviderRefused) as caught:
        ghost.call("GET", "/emails/")
    assert getattr(caught.value, "status", None) == 501
    issue_id = f"2026-12-05-real-test-{unique()}"
    write_issue(workspace, issue_id, "Hello.\n")
    test = run_cli("-C", workspace, "send", issue_id, "--test", "me@example.test")
    assert test.exit_code == 1 and "smtp" in test.output
    assert post_by_slug(ghost, issue_id) is None


def test_an_unknown_newsletter_is_refused_by_ghost(
    workspace: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GHOST_ADMIN_API_KEY", GHOST_KEY)
    configure(workspace, newsletter=f"no-such-{unique()}")
    issue_id = f"2026-12-06-real-newsletter-{unique()}"
    write_issue(workspace, issue_id, "Hello.\n")
    refused = run_cli("-C", workspace, "send", issue_id, "--yes")
    assert refused.exit_code == 3
    assert re.search(r"newsletter parameter doesn't match", refused.output), refused.output


def test_email_only_posts_end_as_sent_and_stay_off_the_site(
    workspace: Path, run_cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GHOST_ADMIN_API_KEY", GHOST_KEY)
    configure(workspace, email_only=True)
    tag = unique()
    issue_id = f"2026-12-07-real-email-only-{tag}"
    write_issue(workspace, issue_id, PLAIN.format(tag=tag))
    sent = run_cli("-C", workspace, "send", issue_id, "--yes")
    assert sent.exit_code in (0, 4), sent.output
    with httpx.Client(timeout=30) as client:
        provider = GhostProvider(config.load(workspace), client=client)
        post = post_by_slug(provider, issue_id)
    assert post is not None and post["status"] == "sent"
    page = httpx.get(f"{GHOST_URL.rstrip('/')}/{issue_id}/", timeout=30)
    assert page.status_code == 404  # Ghost serves no page for an email-only post
