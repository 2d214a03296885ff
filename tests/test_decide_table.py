"""`postcli send ISSUE` on an issue the ledger says is scheduled, every combination as a table
(DESIGN section 3): "Sending an issue that the ledger says is already sent or scheduled does
nothing and says so, unless its send_at or text changed since it was scheduled: then the
schedule follows the file". The command line (`--now`, `--at`) chooses the time of a send that
is not scheduled yet; it never moves a scheduled one.

Two levels: the pure decision (`postcli.send.decide`) for every (where it is scheduled) x (flag)
x (edit) cell and the edge rows (its time has come, send_at moved into the past, held, `--due`);
then the same cells end to end through the command line, for the local `file` provider and for
Buttondown's own scheduler (a fake served on 127.0.0.1, every request checked against
tests/contracts/buttondown/)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import pytest

from postcli.errors import ScheduledTextChanged
from postcli.ledger import Ledger, SendRecord
from postcli.model import Audience, Mode, PlanAction, SendStatus, Variant
from postcli.render import RenderedEmail
from postcli.send.decide import decide
from postcli.send.plan import SendOptions, VariantPlan

SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
X = NOW + timedelta(days=2)  # when it is scheduled
Y = NOW + timedelta(days=3)  # where an edit of send_at moves it
Z = NOW + timedelta(days=5)  # another time on the command line
OLD, NEW = "hash-old", "hash-new"

FLAGS = ("none", "now", "at-same", "at-other")
EDITS = ("unchanged", "text", "send_at")


def _record(*, remote: bool, status: SendStatus = SendStatus.SCHEDULED) -> SendRecord:
    return SendRecord(
        id=1,
        issue_id="2026-12-03-table",
        variant=Variant.FREE,
        provider="buttondown" if remote else "file",
        mode=Mode.LIVE,
        generation=1,
        status=status,
        content_hash=OLD,
        campaign_name="postcli:2026-12-03-table:free:hash-old",
        subject="s",
        target=None,
        scheduled_for=X,
        remote_id="em_1" if remote else None,
        error=None,
        created_at=NOW,
        updated_at=NOW,
        sent_at=None,
    )


def _plan(hash_: str) -> VariantPlan:
    return VariantPlan(
        variant=Variant.FREE,
        email=cast(RenderedEmail, None),  # decide never reads the email
        content_hash=hash_,
        campaign_name=f"postcli:2026-12-03-table:free:{hash_}",
        action=PlanAction.SEND,
    )


def _options(flag: str, **extra: Any) -> SendOptions:
    return SendOptions(
        now=flag == "now", at={"at-same": "same", "at-other": "other"}.get(flag), **extra
    )


def _asked(flag: str, file_time: datetime | None) -> datetime | None:
    """What `when` the command line gives decide (--at as resolved; else the file's time)."""
    return {"none": file_time, "now": None, "at-same": X, "at-other": Z}[flag]


def _run(
    *, remote: bool, flag: str, edit: str, origin: str = "file", record: SendRecord | None = None
) -> VariantPlan:
    """Scheduled at X, by the file's send_at (`origin` "file") or by `send --at X` on an issue
    without one ("at"); then `edit`ed, then `postcli send` with `flag`."""
    file_at = X if origin == "file" else None
    if edit == "send_at":
        file_at = Y
    plan = _plan(NEW if edit == "text" else OLD)
    decide(
        plan,
        record or _record(remote=remote),
        _options(flag),
        _asked(flag, file_at),
        SEOUL,
        now=NOW,
        native=remote,
        file_at=file_at,
        file_when=file_at,
    )
    return plan


def _day(moment: datetime) -> str:
    return moment.astimezone(SEOUL).strftime("%Y-%m-%d %H:%M KST")


# (remote, edit) -> (action, the time it is for, words in the reason); the same for every flag.
EXPECTED: dict[tuple[bool, str], tuple[PlanAction, datetime | None, str]] = {
    (False, "unchanged"): (PlanAction.ALREADY, None, f"already scheduled for {_day(X)}"),
    (False, "text"): (PlanAction.ALREADY, None, "the new text goes out then"),
    (False, "send_at"): (PlanAction.SCHEDULE, Y, f"moved from {_day(X)} to {_day(Y)}"),
    (True, "unchanged"): (PlanAction.ALREADY, None, f"already scheduled for {_day(X)}"),
    (True, "text"): (PlanAction.MOVE, X, "the new text replaces the old"),
    (True, "send_at"): (PlanAction.MOVE, Y, f"moved from {_day(X)} to {_day(Y)}"),
}


@pytest.mark.parametrize("origin", ["file", "at"])
@pytest.mark.parametrize("edit", EDITS)
@pytest.mark.parametrize("flag", FLAGS)
@pytest.mark.parametrize("remote", [False, True], ids=["local", "provider"])
def test_a_scheduled_send_follows_the_file_and_never_the_command_line(
    remote: bool, flag: str, edit: str, origin: str
) -> None:
    plan = _run(remote=remote, flag=flag, edit=edit, origin=origin)
    action, at, words = EXPECTED[(remote, edit)]
    assert plan.action is action, plan.reason
    assert plan.at == at
    assert words in plan.reason
    flag_ignored = flag == "now" or (flag == "at-other" and action is PlanAction.ALREADY)
    if action is PlanAction.ALREADY and flag_ignored:
        option = "--now" if flag == "now" else "--at"
        assert f"{option} does not move a schedule" in plan.reason
        assert "postcli unschedule ISSUE" in plan.reason
    else:
        assert "does not move a schedule" not in plan.reason


def test_a_local_schedule_whose_time_has_come_is_sent_as_cron_would() -> None:
    for flag in FLAGS:
        plan = _plan(OLD)
        record = dataclasses.replace(_record(remote=False), scheduled_for=NOW - timedelta(hours=1))
        past = NOW - timedelta(hours=1)
        decide(plan, record, _options(flag), None, SEOUL, now=NOW, file_at=past, file_when=None)
        assert plan.action is PlanAction.SEND, (flag, plan.reason)
        assert "which has come" in plan.reason


def test_a_provider_schedule_whose_time_has_come_is_left_to_the_provider() -> None:
    record = dataclasses.replace(_record(remote=True), scheduled_for=NOW - timedelta(hours=1))
    for hash_ in (OLD, NEW):
        plan = _plan(hash_)
        past = NOW - timedelta(hours=1)
        decide(plan, record, SendOptions(), None, SEOUL, now=NOW, file_at=past, native=True)
        assert plan.action is PlanAction.ALREADY
    assert "too late to change what the provider sends" in plan.reason


def test_send_at_moved_into_the_past_sends_a_local_schedule_now_and_stops_a_provider_one() -> None:
    past = NOW - timedelta(hours=1)
    local = _plan(OLD)
    decide(local, _record(remote=False), SendOptions(), None, SEOUL, now=NOW, file_at=past)
    assert local.action is PlanAction.SEND
    assert local.reason == f"moved from {_day(X)} to now"
    with pytest.raises(ScheduledTextChanged, match="which has come") as raised:
        decide(_plan(OLD), _record(remote=True), SendOptions(), None, SEOUL, now=NOW, file_at=past)
    assert "postcli unschedule" in (raised.value.hint or "")


def test_held_due_sent_and_forced_rows() -> None:
    held = _plan(OLD)
    decide(held, _record(remote=False), SendOptions(now=True), None, SEOUL, now=NOW, held=True)
    assert held.action is PlanAction.SEND  # `postcli send --now` after `postcli unschedule`
    held_later = _plan(OLD)
    opts = SendOptions(at="+5d")
    decide(held_later, _record(remote=False), opts, Z, SEOUL, now=NOW, held=True)
    assert held_later.action is PlanAction.SCHEDULE
    due = _plan(NEW)
    decide(due, _record(remote=False), SendOptions(now=True, due=True), None, SEOUL, now=NOW)
    assert due.action is PlanAction.SEND  # `send --due`, the text the file has now
    sent = _plan(OLD)
    decide(
        sent,
        dataclasses.replace(_record(remote=False), status=SendStatus.SENT, sent_at=NOW),
        SendOptions(now=True),
        None,
        SEOUL,
        now=NOW,
    )
    assert sent.action is PlanAction.ALREADY and sent.reason.startswith("already sent on")
    forced = _plan(OLD)
    decide(forced, _record(remote=False), SendOptions(now=True, force=True), None, SEOUL, now=NOW)
    assert forced.action is PlanAction.SEND


def test_a_self_gated_post_follows_the_same_rules() -> None:
    plan = dataclasses.replace(_plan(NEW), variant=Audience.ALL)
    decide(
        plan, _record(remote=True), SendOptions(now=True), None, SEOUL, now=NOW, file_at=X,
        file_when=X, native=True,
    )  # fmt: skip
    assert plan.action is PlanAction.MOVE and plan.at == X


# --- end to end -----------------------------------------------------------------------------

ISSUE_ID = "2026-12-03-table"
ISSUE = """---
title: "표: {name}"
preheader: A scheduled issue and the command line
send_at: {send_at}
---
Everyone reads this: {marker}.

<!-- paywall -->

Premium readers read this too.
"""


def _hour(days: int) -> datetime:
    now = datetime.now(SEOUL)
    return (now + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)


def _write(root: Path, when: datetime, marker: str) -> None:
    for old in (root / "issues").glob("*.md"):
        old.unlink()
    text = ISSUE.format(
        name="table", send_at=when.replace(tzinfo=None).isoformat(sep=" "), marker=marker
    )
    (root / "issues" / f"{ISSUE_ID}.md").write_text(text, encoding="utf-8")


def _flag_args(flag: str, file_time: datetime) -> list[str]:
    other = file_time + timedelta(days=4)
    return {
        "none": [],
        "now": ["--now"],
        "at-same": ["--at", file_time.replace(tzinfo=None).isoformat(sep=" ")],
        "at-other": ["--at", other.replace(tzinfo=None).isoformat(sep=" ")],
    }[flag]


def _ledger(root: Path) -> list[SendRecord]:
    with Ledger.open(root / ".postcli") as ledger:
        return ledger.latest_live(ISSUE_ID)


@pytest.mark.parametrize("edit", EDITS)
@pytest.mark.parametrize("flag", FLAGS)
def test_the_table_end_to_end_for_a_local_schedule(
    flag: str, edit: str, workspace: Path, run_cli: Callable[..., Any]
) -> None:
    first, second = _hour(2), _hour(3)
    _write(workspace, first, "old words")
    scheduled = run_cli("-C", workspace, "send", ISSUE_ID, "--yes")
    assert scheduled.exit_code == 0 and "scheduled for" in scheduled.stdout, scheduled.output
    file_time = second if edit == "send_at" else first
    _write(workspace, file_time, "new words" if edit == "text" else "old words")

    result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes", *_flag_args(flag, file_time))
    assert not (workspace / "outbox").exists()  # nothing goes out now, in any cell
    if flag == "at-other":
        assert result.exit_code == 2 and "is not the issue's send_at" in result.stderr
        assert {r.scheduled_for for r in _ledger(workspace)} == {first.astimezone(UTC)}
        return
    assert result.exit_code == 0, result.output
    shown = lambda moment: moment.strftime("%Y-%m-%d %H:%M KST")  # noqa: E731
    if edit == "send_at":
        assert f"moved from {shown(first)} to {shown(second)}" in result.stdout
    else:
        assert f"already scheduled for {shown(first)}" in result.stdout
        assert ("--now does not move a schedule" in result.stdout) == (flag == "now")
    if edit == "text":
        assert "the new text goes out then" in result.stdout
    records = _ledger(workspace)
    assert {r.status for r in records} == {SendStatus.SCHEDULED}
    assert {r.scheduled_for for r in records} == {file_time.astimezone(UTC)}


@pytest.fixture
def buttondown(monkeypatch: pytest.MonkeyPatch) -> Any:
    from fakes import FAKES
    from test_adapters import SPECS

    for variable, value in SPECS["buttondown"].env.items():
        monkeypatch.setenv(variable, value)
    return FAKES["buttondown"]()


@pytest.mark.parametrize("edit", EDITS)
@pytest.mark.parametrize("flag", FLAGS)
def test_the_table_end_to_end_on_the_providers_scheduler(
    flag: str, edit: str, workspace: Path, run_cli: Callable[..., Any], buttondown: Any
) -> None:
    from helpers.fake_api import serve
    from test_adapters import _configure
    from test_provider_schedules import _own_addresses

    first, second = _hour(2), _hour(3)
    _write(workspace, first, "old words")
    _own_addresses(workspace)
    with serve(buttondown) as server:
        _configure(workspace, "buttondown", server.base_url)
        assert run_cli("-C", workspace, "send", ISSUE_ID, "--yes").exit_code == 0
        file_time = second if edit == "send_at" else first
        _write(workspace, file_time, "new words" if edit == "text" else "old words")
        writes = len([r for r in buttondown.requests if r.method != "GET"])

        result = run_cli("-C", workspace, "send", ISSUE_ID, "--yes", *_flag_args(flag, file_time))
        changed = len([r for r in buttondown.requests if r.method != "GET"]) > writes
    assert buttondown.sends("send") == []  # nothing is ever sent at once
    live = buttondown.sends("schedule")
    shown = lambda moment: moment.strftime("%Y-%m-%d %H:%M KST")  # noqa: E731
    if flag == "at-other":
        assert result.exit_code == 2 and "is not the issue's send_at" in result.stderr
        assert not changed and {d.at for d in live} == {first}
        return
    assert result.exit_code == 0, result.output
    if edit == "unchanged":
        assert f"already scheduled for {shown(first)}" in result.stdout and not changed
        assert ("--now does not move a schedule" in result.stdout) == (flag == "now")
        assert {d.at for d in live} == {first}
        return
    assert "updated in place" in result.stdout and changed
    if edit == "send_at":
        assert f"moved from {shown(first)} to {shown(second)}" in result.stdout
    else:
        assert f"still for {shown(first)}; the new text replaces the old" in result.stdout
    assert {d.at for d in live} == {file_time}
    for delivery in live:
        body = str(buttondown.objects[delivery.object_id])
        assert ("new words" in body) == (edit == "text")
    assert buttondown.violations == []
