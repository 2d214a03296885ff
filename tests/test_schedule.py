"""The schedule logic: pure, with the clock passed in; daylight-saving edges included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from postcli.schedule import Action, Planned, cron_schedule, decide, parse_when, resolve

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
SEOUL = ZoneInfo("Asia/Seoul")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "wall", "expected"),
    [
        (SEOUL, datetime(2026, 12, 1, 9, 0), utc(2026, 12, 1, 0, 0)),
        (SEOUL, datetime(2026, 3, 8, 2, 30), utc(2026, 3, 7, 17, 30)),  # no DST in Seoul
        (NEW_YORK, datetime(2026, 1, 15, 9, 0), utc(2026, 1, 15, 14, 0)),  # EST
        (NEW_YORK, datetime(2026, 7, 15, 9, 0), utc(2026, 7, 15, 13, 0)),  # EDT
        (BERLIN, datetime(2026, 1, 15, 9, 0), utc(2026, 1, 15, 8, 0)),  # CET
        (BERLIN, datetime(2026, 7, 15, 9, 0), utc(2026, 7, 15, 7, 0)),  # CEST
    ],
)
def test_naive_times_are_wall_clock_in_the_newsletter_zone(zone, wall, expected):
    resolved = resolve(wall, zone)
    assert resolved.utc == expected
    assert resolved.note is None


def test_aware_times_stand_as_written():
    when = datetime.fromisoformat("2026-12-01T09:00+09:00")
    assert resolve(when, NEW_YORK).utc == utc(2026, 12, 1, 0, 0)


@pytest.mark.parametrize(
    ("zone", "wall", "expected_local"),
    [
        # 2026-03-08 02:00 EST -> 03:00 EDT in New York: 02:30 does not exist
        (NEW_YORK, datetime(2026, 3, 8, 2, 30), datetime(2026, 3, 8, 3, 30)),
        # 2026-03-29 02:00 CET -> 03:00 CEST in Berlin: 02:15 does not exist
        (BERLIN, datetime(2026, 3, 29, 2, 15), datetime(2026, 3, 29, 3, 15)),
    ],
)
def test_a_time_in_the_spring_gap_moves_forward_by_the_gap(zone, wall, expected_local):
    resolved = resolve(wall, zone)
    assert resolved.utc.astimezone(zone).replace(tzinfo=None) == expected_local
    assert resolved.note is not None and "does not exist" in resolved.note


@pytest.mark.parametrize(
    ("zone", "wall", "first_utc"),
    [
        # 2026-11-01 01:30 happens twice in New York: EDT (05:30 UTC) then EST (06:30 UTC)
        (NEW_YORK, datetime(2026, 11, 1, 1, 30), utc(2026, 11, 1, 5, 30)),
        # 2026-10-25 02:30 happens twice in Berlin: CEST (00:30 UTC) then CET (01:30 UTC)
        (BERLIN, datetime(2026, 10, 25, 2, 30), utc(2026, 10, 25, 0, 30)),
    ],
)
def test_a_repeated_time_means_the_first_occurrence(zone, wall, first_utc):
    resolved = resolve(wall, zone)
    assert resolved.utc == first_utc
    assert resolved.note is not None and "happens twice" in resolved.note


def test_relative_and_invalid_at_values():
    now = utc(2026, 12, 1, 0, 0)
    assert parse_when("+90m", SEOUL, now).utc == utc(2026, 12, 1, 1, 30)
    assert parse_when("+2d", SEOUL, now).utc == utc(2026, 12, 3, 0, 0)
    assert parse_when("2026-12-01 09:00", SEOUL, now).utc == now
    for bad in ("+5x", "+m", "tomorrow", "2026-13-01 09:00"):
        with pytest.raises(ValueError, match="is not a time"):
            parse_when(bad, SEOUL, now)


def _planned(issue: str, at: datetime, variant: str = "free") -> Planned:
    return Planned(issue_id=issue, variant=variant, at=at)


def test_decide_sends_what_is_due_and_waits_for_the_rest():
    now = utc(2026, 12, 1, 0, 0)
    planned = [
        _planned("future", now + timedelta(minutes=1)),
        _planned("due", now - timedelta(minutes=5)),
        _planned("exact", now),
    ]
    actions = {
        d.planned.issue_id: d.action for d in decide(planned, set(), now, timedelta(hours=24))
    }
    assert actions == {"future": Action.WAIT, "due": Action.SEND, "exact": Action.SEND}


def test_decide_skips_what_the_ledger_has_sent_per_variant():
    now = utc(2026, 12, 1, 0, 0)
    planned = [_planned("a", now, "free"), _planned("a", now, "premium")]
    decisions = decide(planned, {("a", "free")}, now, timedelta(hours=24))
    assert [(d.planned.variant, d.action) for d in decisions] == [
        ("free", Action.DONE),
        ("premium", Action.SEND),
    ]


def test_a_machine_off_for_a_day_respects_the_maximum_lateness():
    now = utc(2026, 12, 2, 0, 0)
    planned = [
        _planned("just-in-time", now - timedelta(hours=24)),
        _planned("stale", now - timedelta(hours=24, seconds=1)),
    ]
    decisions = {d.planned.issue_id: d for d in decide(planned, set(), now, timedelta(hours=24))}
    assert decisions["just-in-time"].action is Action.SEND
    assert decisions["stale"].action is Action.STALE
    assert decisions["stale"].late_by == timedelta(hours=24, seconds=1)
    late_ok = decide(planned, set(), now, timedelta(hours=24), late_ok=True)
    assert {d.action for d in late_ok} == {Action.SEND}


def test_decide_needs_an_aware_clock():
    with pytest.raises(ValueError, match="aware"):
        decide([], set(), datetime(2026, 12, 1), timedelta(hours=1))


@pytest.mark.parametrize(
    ("every", "expected"),
    [
        ("1m", "* * * * *"),
        ("5m", "*/5 * * * *"),
        ("60m", "0 * * * *"),
        ("1h", "0 * * * *"),
        ("6h", "0 */6 * * *"),
    ],
)
def test_cron_schedule(every, expected):
    assert cron_schedule(every) == expected


@pytest.mark.parametrize("every", ["0m", "5", "m", "25h", "90m5", "5s"])
def test_cron_schedule_rejects_nonsense(every):
    with pytest.raises(ValueError):
        cron_schedule(every)
