"""What `postcli status` shows: the ledger's rows with what their status means right now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from postcli.ledger.lock import lock_held
from postcli.ledger.records import RecipientCounts, SendRecord
from postcli.ledger.schema import LEDGER_NAME
from postcli.ledger.store import Ledger
from postcli.model import Mode, SendStatus, ViewState

# A send scheduled in the ledger is overdue once its time is this far past: `send --due` from
# cron (every 5 minutes by default) has had two chances to send it.
OVERDUE_GRACE_MINUTES = 10


@dataclass(frozen=True)
class StatusRow:
    send: SendRecord
    counts: RecipientCounts
    state: ViewState  # the send's status, or what it means now (interrupted, overdue, ...)
    problem: bool  # counts toward `status` exiting 1
    possibly_duplicated: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            **self.send.to_json(),
            "state": self.state,
            "problem": self.problem,
            "recipients": self.counts.to_json() if self.counts.total else None,
            "possibly_duplicated": list(self.possibly_duplicated),
        }


def status_rows(state_dir: Path, issue_id: str | None, now: datetime) -> list[StatusRow]:
    """The current live send of every (issue, variant, provider), then the test sends."""
    path = state_dir / LEDGER_NAME
    if not path.exists():
        return []
    rows: list[StatusRow] = []
    with Ledger.open(state_dir) as ledger:
        records = ledger.latest_live(issue_id) + ledger.sends(issue_id, mode=Mode.TEST)
        held: dict[str, bool] = {}
        for record in records:
            counts = ledger.counts(record.id)
            state, problem = ViewState(record.status), False
            if record.mode is Mode.LIVE:
                if record.status is SendStatus.FAILED:
                    problem = True
                elif record.status in (SendStatus.SENDING, SendStatus.PENDING):
                    if record.issue_id not in held:
                        held[record.issue_id] = lock_held(state_dir, record.issue_id)
                    if held[record.issue_id]:
                        state = ViewState.IN_PROGRESS
                    else:
                        state, problem = ViewState.INTERRUPTED, True
                elif (
                    record.status is SendStatus.SCHEDULED
                    and record.remote_id is None
                    and record.scheduled_for is not None
                    and record.scheduled_for + timedelta(minutes=OVERDUE_GRACE_MINUTES) < now
                ):
                    state, problem = ViewState.OVERDUE, True
            duplicated: tuple[str, ...] = ()
            if counts.possibly_duplicate:
                duplicated = tuple(
                    r.email for r in ledger.recipients(record.id).values() if r.possibly_duplicate
                )
            rows.append(StatusRow(record, counts, state, problem, duplicated))
    return rows
