"""Provider schedules follow the file: after an edit, `postcli send ISSUE` moves the campaign the
provider holds (in place where the API allows, else cancelled and replaced), a SIGKILL at any
step leaves at most one live campaign per variant and a rerun that finishes the move, and
`postcli unschedule` cancels it on each provider. Against the fake APIs of tests/fakes/, served
on 127.0.0.1 and checked against tests/contracts/."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fakes import FAKES
from helpers.fake_api import FakeProvider, serve
from helpers.moving import ISSUE_ID, days_ahead, live_schedules, write_moving
from helpers.send import run_postcli
from test_adapters import SPECS, _configure

NAMES = ("buttondown", "resend", "mailchimp", "listmonk")

ISSUE = """---
title: "움직이는 호: {name}"
preheader: An issue whose schedule moves
send_at: {send_at}
---
Everyone reads this: {marker}.

<!-- paywall -->

Premium readers read this too.
"""

# The steps of a move a kill is tried at: providers that update in place, and Resend, whose
# scheduled broadcasts cannot change and are cancelled and replaced.
IN_PLACE_STEPS = ("move-begun", "move-updated")
REPLACE_STEPS = ("move-begun", "move-cancelled", "move-forgotten", "move-created")


def _write(root: Path, name: str, when: datetime, marker: str) -> Path:
    return write_moving(root, ISSUE, when, marker, name=name)


def _own_addresses(root: Path) -> None:
    """Settings of one's own instead of `postcli init`'s example.com ones, which `check` refuses
    for every provider but `file` (nothing is ever fetched from them)."""
    config = root / "postcli.toml"
    text = config.read_text(encoding="utf-8").replace("example.com", "brief.postcli-sample.org")
    config.write_text(text, encoding="utf-8")


def _assert_follows(fake: FakeProvider, name: str, when: datetime, marker: str) -> None:
    live = live_schedules(fake)
    spec = SPECS[name]
    assert sorted(map(str, (d.audience for d in live))) == sorted(map(str, spec.audience.values()))
    assert all(d.at == when for d in live), [d.at for d in live]
    for delivery in live:
        made = json.dumps(fake.objects[delivery.object_id], ensure_ascii=False)
        assert marker in made and "old words" not in made


@pytest.fixture
def provider_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], dict[str, str]]:
    def use(name: str) -> dict[str, str]:
        for variable, value in SPECS[name].env.items():
            monkeypatch.setenv(variable, value)
        return dict(SPECS[name].env)

    return use


@pytest.mark.parametrize("name", NAMES)
def test_an_edit_moves_the_providers_campaign_and_unschedule_cancels_it(
    name: str,
    workspace: Path,
    run_cli: Callable[..., Any],
    provider_env: Callable[[str], dict[str, str]],
) -> None:
    provider_env(name)
    fake = FAKES[name]()
    first, second = days_ahead(2), days_ahead(3)
    path = _write(workspace, name, first, "old words")
    _own_addresses(workspace)
    with serve(fake) as server:
        _configure(workspace, name, server.base_url)
        scheduled = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
        assert scheduled.exit_code == 0, scheduled.output
        assert len(live_schedules(fake)) == 2

        _write(workspace, name, second, "new words")
        due = run_cli("-C", workspace, "send", "--due")
        assert due.exit_code == 1 and "changed" in due.stdout  # cron says so; sends nothing
        assert f"postcli send {ISSUE_ID}" in due.stdout

        moved = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
        assert moved.exit_code == 0, moved.output
        shown = lambda moment: moment.strftime("%Y-%m-%d %H:%M KST")  # noqa: E731
        assert f"moved from {shown(first)} to {shown(second)}" in moved.stdout
        _assert_follows(fake, name, second, "new words")
        if name == "resend":
            assert "replaces campaign" in moved.stdout
        else:
            assert "updated in place" in moved.stdout
        assert "nothing to do" in run_cli("-C", workspace, "send", ISSUE_ID, "--yes").output

        held = run_cli("-C", workspace, "unschedule", ISSUE_ID)
        assert held.exit_code == 0, held.output
        assert "cancelled" in held.stdout and live_schedules(fake) == []
        status = json.loads(run_cli("-C", workspace, "status", "--json").stdout)["sends"]
        assert {r["state"] for r in status} == {"held"}
        assert run_cli("-C", workspace, "send", "--due").exit_code == 0
        assert live_schedules(fake) == [] and fake.sends("send") == []
        again = run_cli("-C", workspace, "unschedule", ISSUE_ID)
        assert again.exit_code == 1 and "held already" in again.stderr

        back = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
        assert back.exit_code == 0, back.output
        _assert_follows(fake, name, second, "new words")
    assert path.exists() and fake.violations == []


@pytest.mark.parametrize(
    ("name", "step"),
    [(n, s) for n in NAMES for s in (REPLACE_STEPS if n == "resend" else IN_PLACE_STEPS)],
)
def test_a_kill_at_any_step_of_a_move_never_leaves_two_live_campaigns(
    name: str,
    step: str,
    workspace: Path,
    run_cli: Callable[..., Any],
    provider_env: Callable[[str], dict[str, str]],
) -> None:
    env = provider_env(name)
    fake = FAKES[name]()
    first, second = days_ahead(2), days_ahead(4)
    _write(workspace, name, first, "old words")
    _own_addresses(workspace)
    with serve(fake) as server:
        _configure(workspace, name, server.base_url)
        assert run_cli("-C", workspace, "send", ISSUE_ID, "--yes").exit_code == 0
        _write(workspace, name, second, "new words")
        killed = run_postcli(
            workspace, "send", ISSUE_ID, "--yes", env={**env, "POSTCLI_TEST_KILL_AT_STEP": step}
        )
        assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
        live = live_schedules(fake)
        assert len(live) <= 2
        assert len({str(d.audience) for d in live}) == len(live)  # never two of one variant

        status = run_cli("-C", workspace, "status", "--json")
        states = {r["variant"]: r["state"] for r in json.loads(status.stdout)["sends"]}
        assert states["free"] == "interrupted"

        rerun = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
        assert rerun.exit_code == 0, rerun.output
        _assert_follows(fake, name, second, "new words")
        settled = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
        assert "nothing to do" in settled.output
    assert fake.violations == []


def test_listmonk_refuses_a_put_without_lists() -> None:
    from helpers.fake_api import contract_errors

    errors = contract_errors("listmonk", "update_campaign", {"send_at": "2026-12-01T00:00:00Z"})
    assert any("lists" in message for _, message in errors)
    assert contract_errors("listmonk", "update_campaign", {"send_at": None, "lists": [4]}) == []
