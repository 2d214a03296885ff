"""Ghost, beehiiv, Kit and SendGrid follow the file after scheduling, like the other HTTP
providers: they are MovableProviders (`features.movable`), so an edit after `postcli send` moves
the post, broadcast or Single Send the provider holds (in place), `postcli unschedule` cancels it
(Ghost: back to a draft; beehiiv: DELETE, archived; Kit: `send_at: null`; SendGrid: DELETE of
its schedule), and `postcli status` shows each state.
Faults on the move (429 with Retry-After, 500, a timeout) are retried; when they persist, the
command exits 4 with one clear line and the ledger says what the provider still holds.

Against the fakes of tests/fakes/, served on 127.0.0.1, every request validated against
tests/contracts/<provider>/ (`fake.violations`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fakes.beehiiv import BeehiivFake
from fakes.ghost import GHOST_KEY, GhostFake
from fakes.kit import KitFake
from fakes.sendgrid_fake import SendgridFake
from helpers.fake_api import FakeProvider, serve
from helpers.moving import ISSUE_ID, days_ahead, live_schedules, write_moving
from helpers.workspace import publishable

ISSUE = """---
title: "움직이는 호"
subtitle: An issue whose schedule moves
send_at: {send_at}
---
Everyone reads this: {marker}.

<!-- paywall -->

Premium readers read this too: PAIDPART.
"""


@dataclass(frozen=True)
class Spec:
    name: str
    env: dict[str, str]
    fake: Callable[[], FakeProvider]
    table: Callable[[str], str]  # base URL -> the [providers.NAME] table
    url: Callable[[Any], str]  # the served fake -> the base URL to configure
    move: tuple[str, str]  # (method, path) of the request that moves a schedule
    audiences: int  # schedules per issue: one gated post, or one broadcast per variant
    cancel: str  # the path of the cancelling request(s), for faults

    def text(self, fake: Any, object_id: str) -> str:
        """What paid readers get from the stored post or broadcast."""
        if self.name == "kit":
            return str(fake.broadcasts[object_id]["content"])
        if self.name == "sendgrid":
            return str(fake.single_sends[object_id]["email_config"]["html_content"])
        return str(fake.view(object_id, "paid"))


def _ghost_table(url: str) -> str:
    return f'[providers.ghost]\nbase_url = "{url}"\nnewsletter = "default-newsletter"\n'


def _beehiiv_table(url: str) -> str:
    return (
        f'[providers.beehiiv]\nbase_url = "{url}"\n'
        'publication_id = "pub_00000000-0000-0000-0000-000000000001"\n'
        'paywall_id = "paywall_123"\n'
    )


def _sendgrid_table(url: str) -> str:
    return (
        f'[providers.sendgrid]\nbase_url = "{url}"\n'
        'audiences = { free = ["11111111-1111-4111-8111-111111111111"], '
        'premium = ["22222222-2222-4222-8222-222222222222"] }\n'
        "sender_id = 123456\nsuppression_group_id = 7890\n"
    )


def _kit_table(url: str) -> str:
    return (
        f'[providers.kit]\nbase_url = "{url}"\n'
        "audiences = { free = { tag = 1234 }, premium = { segment = 5678 } }\n"
    )


SPECS = {
    "ghost": Spec(
        "ghost",
        {"GHOST_ADMIN_API_KEY": GHOST_KEY},
        GhostFake,
        _ghost_table,
        lambda server: server.origin,
        ("PUT", r"^/posts/[^/]+/$"),
        1,
        r"^/posts/[^/]+/$",
    ),
    "beehiiv": Spec(
        "beehiiv",
        {"BEEHIIV_API_KEY": "bh_test_0123456789"},
        BeehiivFake,
        _beehiiv_table,
        lambda server: server.base_url,
        ("PATCH", r"/posts/[^/]+$"),
        1,
        r"/posts/[^/]+$",
    ),
    "kit": Spec(
        "kit",
        {"KIT_API_KEY": "kit_test_0123456789"},
        KitFake,
        _kit_table,
        lambda server: server.base_url,
        ("PUT", r"^/v4/broadcasts/[^/]+$"),
        2,
        r"^/v4/broadcasts/[^/]+$",
    ),
    # SendGrid changes drafts only: a move cancels the schedule, updates, schedules again.
    "sendgrid": Spec(
        "sendgrid",
        {"SENDGRID_API_KEY": "SG.test-key.postcli-0123456789"},
        SendgridFake,
        _sendgrid_table,
        lambda server: server.base_url,
        ("DELETE", r"/schedule$"),
        2,
        r"/schedule$",
    ),
}
NAMES = tuple(SPECS)


def _shown(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M KST")


def _write(root: Path, when: datetime, marker: str) -> None:
    write_moving(root, ISSUE, when, marker)


def _scheduled_then_edited(
    run_cli: Callable[..., Any], root: Path, days: int = 3
) -> tuple[datetime, datetime]:
    """The issue sent for two days ahead with "old words", then edited to `days` ahead with
    "new words" (not sent again): the two times."""
    first, second = days_ahead(2), days_ahead(days)
    _write(root, first, "old words")
    assert run_cli("-C", root, "send", ISSUE_ID, "--yes").exit_code == 0
    _write(root, second, "new words")
    return first, second


@pytest.fixture
def provider(
    request: pytest.FixtureRequest, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Spec, Any, Path]]:
    """(spec, fake, workspace) with the fake served and the workspace configured for it."""
    from postcli.providers._campaigns import HttpCampaignProvider

    spec = SPECS[request.param]
    for variable, value in spec.env.items():
        monkeypatch.setenv(variable, value)
    # Retry waits (Retry-After, backoff) are the HTTP client's; the test does not sit them out.
    monkeypatch.setitem(HttpCampaignProvider.__init__.__kwdefaults__, "sleep", lambda s: None)
    fake = spec.fake()
    with serve(fake) as server:
        config = workspace / "postcli.toml"
        text = publishable(config.read_text(encoding="utf-8"))
        text = text.replace('name = "file"', f'name = "{spec.name}"')
        config.write_text(text + "\n" + spec.table(spec.url(server)), encoding="utf-8")
        yield spec, fake, workspace
    assert fake.violations == []


def _states(run_cli: Callable[..., Any], root: Path) -> list[tuple[str, str | None]]:
    result = run_cli("-C", root, "status", ISSUE_ID, "--json")
    rows = json.loads(result.stdout)["sends"]
    return [(r["state"], r["local_time"]) for r in rows]


def _assert_holds(spec: Spec, fake: Any, when: datetime, marker: str) -> None:
    live = live_schedules(fake)
    assert len(live) == spec.audiences, live
    assert {d.at for d in live} == {when}
    paid = 0
    for delivery in live:
        text = spec.text(fake, delivery.object_id)
        assert marker in text, delivery
        paid += "PAIDPART" in text
    assert paid == 1  # the gated post, or Kit's premium broadcast (never the free one)


@pytest.mark.parametrize("provider", NAMES, indirect=True)
def test_an_edit_moves_the_scheduled_post_in_place_and_unschedule_cancels_it(
    provider: tuple[Spec, Any, Path], run_cli: Callable[..., Any]
) -> None:
    spec, fake, root = provider
    first, second = days_ahead(2), days_ahead(3)
    _write(root, first, "old words")
    scheduled = run_cli("-C", root, "send", ISSUE_ID, "--yes")
    assert scheduled.exit_code == 0, scheduled.output
    _assert_holds(spec, fake, first, "old words")
    assert {s for s, _ in _states(run_cli, root)} == {"scheduled"}
    made = {d.object_id for d in live_schedules(fake)}

    _write(root, second, "new words")
    due = run_cli("-C", root, "send", "--due")
    assert due.exit_code == 1 and "changed" in due.stdout, due.output  # cron says so, sends none
    assert fake.sends("send") == [] and {d.at for d in live_schedules(fake)} == {first}

    moved = run_cli("-C", root, "send", ISSUE_ID, "--yes")
    assert moved.exit_code == 0, moved.output
    assert f"moved from {_shown(first)} to {_shown(second)}" in moved.stdout
    assert "updated in place" in moved.stdout
    _assert_holds(spec, fake, second, "new words")
    assert {d.object_id for d in live_schedules(fake)} == made  # the same posts: nothing made anew
    assert all("old words" not in spec.text(fake, i) for i in made)
    assert _states(run_cli, root) == [("scheduled", second.strftime("%Y-%m-%d %H:%M"))] * len(made)
    assert "nothing to do" in run_cli("-C", root, "send", ISSUE_ID, "--yes").output

    held = run_cli("-C", root, "unschedule", ISSUE_ID)
    assert held.exit_code == 0, held.output
    assert "cancelled" in held.stdout and live_schedules(fake) == []
    _assert_cancel_request(spec, fake, made)
    assert {s for s, _ in _states(run_cli, root)} == {"held"}
    assert run_cli("-C", root, "send", "--due").exit_code == 0
    assert live_schedules(fake) == [] and fake.sends("send") == []
    again = run_cli("-C", root, "unschedule", ISSUE_ID)
    assert again.exit_code == 1 and "held already" in again.stderr

    back = run_cli("-C", root, "send", ISSUE_ID, "--yes")
    assert back.exit_code == 0, back.output
    _assert_holds(spec, fake, second, "new words")
    assert {s for s, _ in _states(run_cli, root)} == {"scheduled"}


def _assert_cancel_request(spec: Spec, fake: Any, made: set[str]) -> None:
    """The provider got the cancelling request its API documents, for each post."""
    if spec.name == "ghost":
        puts = [r for r in fake.calls("PUT") if r.body and r.body["posts"][0].get("status")]
        assert {
            r.path.split("/")[2] for r in puts if r.body["posts"][0]["status"] == "draft"
        } == made
        assert all(fake.posts[i]["status"] == "draft" for i in made)
    elif spec.name == "beehiiv":
        assert {r.path.rsplit("/", 1)[1] for r in fake.calls("DELETE")} == made
        assert all(fake.posts[i]["status"] == "archived" for i in made)
    elif spec.name == "kit":
        cleared = [r for r in fake.calls("PUT") if r.body == {"send_at": None}]
        assert {r.path.rsplit("/", 1)[1] for r in cleared} == made
    else:
        cancels = fake.calls("DELETE", r"/schedule$")
        assert {r.path.split("/")[4] for r in cancels} == made
        assert all(fake.single_sends[i]["status"] == "draft" for i in made)


def _transient(spec: Spec, fake: Any, kind: str) -> None:
    method, path = spec.move
    if kind == "429":
        fake.throttle(1, retry_after=2, method=method, path=path)
    elif kind == "500":
        fake.fail(1, status=500 if method != "PATCH" else 503, method=method, path=path)
    else:
        fake.delay(1, seconds=3, method=method, path=path)


@pytest.mark.parametrize("kind", ["429", "500", "timeout"])
@pytest.mark.parametrize("provider", NAMES, indirect=True)
def test_a_fault_on_the_move_is_retried_and_the_move_completes(
    provider: tuple[Spec, Any, Path], kind: str, run_cli: Callable[..., Any]
) -> None:
    spec, fake, root = provider
    if kind == "timeout":
        config = root / "postcli.toml"
        config.write_text(config.read_text("utf-8") + "timeout = 1\n", encoding="utf-8")
    _, second = _scheduled_then_edited(run_cli, root)
    _transient(spec, fake, kind)
    moved = run_cli("-C", root, "send", ISSUE_ID, "--yes")
    assert moved.exit_code == 0, moved.output
    assert "updated in place" in moved.stdout
    _assert_holds(spec, fake, second, "new words")
    assert {s for s, _ in _states(run_cli, root)} == {"scheduled"}


@pytest.mark.parametrize("kind", ["429", "500", "422"])
@pytest.mark.parametrize("provider", NAMES, indirect=True)
def test_a_move_the_provider_keeps_refusing_is_exit_3_or_4_and_the_ledger_keeps_what_it_holds(
    provider: tuple[Spec, Any, Path], kind: str, run_cli: Callable[..., Any]
) -> None:
    spec, fake, root = provider
    first, second = _scheduled_then_edited(run_cli, root)
    method, path = spec.move
    if kind == "429":
        fake.throttle(50, retry_after=1, method=method, path=path)
    elif kind == "500":
        fake.fail(50, status=503, method=method, path=path)
    else:
        fake.refuse(50, status=422, message="scheduled_at is invalid", method=method, path=path)
    failed = run_cli("-C", root, "send", ISSUE_ID, "--yes")
    assert "Traceback" not in failed.output and "internal error" not in failed.output
    if kind == "422":  # refused: the provider says nothing changed
        assert failed.exit_code == 3, failed.output
        assert "nothing moved" in failed.output and "still has campaign" in failed.output
    else:  # unavailable after retries: whether it took effect is not known
        assert failed.exit_code == 4, failed.output
        assert "the change was not confirmed" in failed.output
        assert "is known to have: campaign" in failed.output
    assert _shown(first) in failed.output
    assert f"postcli send {ISSUE_ID}' again" in failed.output
    # No half state: the provider holds the old post at the old time, and the ledger says so.
    _assert_holds(spec, fake, first, "old words")
    assert (
        _states(run_cli, root) == [("scheduled", first.strftime("%Y-%m-%d %H:%M"))] * spec.audiences
    )
    due = run_cli("-C", root, "send", "--due")
    assert due.exit_code == 1 and "changed" in due.stdout  # cron keeps saying so

    fake.faults.clear()
    rerun = run_cli("-C", root, "send", ISSUE_ID, "--yes")
    assert rerun.exit_code == 0, rerun.output
    assert f"moved from {_shown(first)} to {_shown(second)}" in rerun.stdout
    _assert_holds(spec, fake, second, "new words")


@pytest.mark.parametrize("provider", NAMES, indirect=True)
def test_unschedule_the_provider_keeps_refusing_is_exit_4_held_and_finished_by_a_rerun(
    provider: tuple[Spec, Any, Path], run_cli: Callable[..., Any]
) -> None:
    spec, fake, root = provider
    first = days_ahead(2)
    _write(root, first, "old words")
    assert run_cli("-C", root, "send", ISSUE_ID, "--yes").exit_code == 0
    fake.fail(50, status=503, method=None, path=spec.cancel)
    failed = run_cli("-C", root, "unschedule", ISSUE_ID)
    assert failed.exit_code == 4, failed.output
    assert "Traceback" not in failed.output
    _assert_holds(spec, fake, first, "old words")  # still the provider's to send
    fake.faults.clear()
    finished = run_cli("-C", root, "unschedule", ISSUE_ID)
    assert finished.exit_code == 0, finished.output
    assert live_schedules(fake) == [] and {s for s, _ in _states(run_cli, root)} == {"held"}


@pytest.mark.parametrize("provider", ["sendgrid"], indirect=True)
def test_an_update_that_fails_after_sendgrid_unscheduled_says_nothing_goes_out(
    provider: tuple[Spec, Any, Path], run_cli: Callable[..., Any]
) -> None:
    """SendGrid (like Mailchimp) unschedules before it updates: when the update then fails, the
    provider holds a draft, and the ledger and the message say that nothing goes out."""
    spec, fake, root = provider
    first, second = _scheduled_then_edited(run_cli, root)
    fake.fail(50, status=503, method="PATCH")
    failed = run_cli("-C", root, "send", ISSUE_ID, "--yes")
    assert failed.exit_code == 4, failed.output
    assert "as a draft, so it does not go out" in failed.output
    # The free Single Send is a draft now; the run stopped there, so premium's is untouched.
    assert [d.at for d in live_schedules(fake)] == [first]
    status = run_cli("-C", root, "status", ISSUE_ID, "--json")
    assert status.exit_code == 1  # failed: a person has to run it again
    states = {r["variant"]: r["state"] for r in json.loads(status.stdout)["sends"]}
    assert states == {"free": "failed", "premium": "scheduled"}
    fake.faults.clear()
    rerun = run_cli("-C", root, "send", ISSUE_ID, "--yes")
    assert rerun.exit_code == 0, rerun.output
    _assert_holds(spec, fake, second, "new words")
    assert len(fake.single_sends) == 2  # the same two Single Sends, moved: none made anew


def test_they_are_movable_providers() -> None:
    from postcli import providers
    from postcli.providers.base import MovableProvider

    for name in NAMES:
        cls = providers.provider_class(name)
        assert cls.features.movable and cls.features.native_schedule
        for method in MovableProvider.__dict__:
            if not method.startswith("_"):
                assert callable(getattr(cls, method)), (name, method)


@pytest.mark.parametrize("step", ["move-begun", "move-updated"])
@pytest.mark.parametrize("provider", NAMES, indirect=True)
def test_a_kill_at_each_step_of_a_move_leaves_one_live_post_and_a_rerun_finishes_it(
    provider: tuple[Spec, Any, Path], step: str, run_cli: Callable[..., Any]
) -> None:
    from helpers.send import run_postcli

    spec, fake, root = provider
    _, second = _scheduled_then_edited(run_cli, root, days=4)
    env = {**spec.env, "POSTCLI_TEST_KILL_AT_STEP": step}
    killed = run_postcli(root, "send", ISSUE_ID, "--yes", env=env)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert len(live_schedules(fake)) == spec.audiences  # never two, never none
    assert "interrupted" in {s for s, _ in _states(run_cli, root)}
    rerun = run_cli("-C", root, "send", ISSUE_ID, "--yes")
    assert rerun.exit_code == 0, rerun.output
    _assert_holds(spec, fake, second, "new words")
    assert "nothing to do" in run_cli("-C", root, "send", ISSUE_ID, "--yes").output


@pytest.mark.parametrize("step", ["unschedule-held", "unschedule-cancelled"])
@pytest.mark.parametrize("provider", NAMES, indirect=True)
def test_a_kill_during_unschedule_is_finished_by_running_it_again(
    provider: tuple[Spec, Any, Path], step: str, run_cli: Callable[..., Any]
) -> None:
    from helpers.send import run_postcli

    spec, fake, root = provider
    _write(root, days_ahead(2), "old words")
    assert run_cli("-C", root, "send", ISSUE_ID, "--yes").exit_code == 0
    env = {**spec.env, "POSTCLI_TEST_KILL_AT_STEP": step}
    killed = run_postcli(root, "unschedule", ISSUE_ID, env=env)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    # Held here, the cancel there not recorded as done: status does not claim nothing sends it.
    rows = json.loads(run_cli("-C", root, "status", ISSUE_ID, "--json").stdout)["sends"]
    assert {r["state"] for r in rows} == {"scheduled"}
    # (Kit: the kill came at the first variant; the other is not held yet.)
    assert sum("run 'postcli unschedule ISSUE' again" in r["next"] for r in rows) == 1
    if step == "unschedule-held":
        assert len(live_schedules(fake)) == spec.audiences  # the kill came before the cancel
    finished = run_cli("-C", root, "unschedule", ISSUE_ID)
    assert finished.exit_code == 0, finished.output
    assert live_schedules(fake) == [] and {s for s, _ in _states(run_cli, root)} == {"held"}
    assert run_cli("-C", root, "send", "--due").exit_code == 0 and fake.sends("send") == []
