"""render -> check -> ledger -> provider -> ledger: what `postcli send ISSUE` does.

Two steps, so the command line can ask for confirmation in between:

    plan.py        `plan_send`: render, check, read the ledger and the subscribers, decide per
                   variant (send, schedule, resume, already, test); changes nothing
    execute.py     `execute`: take the issue's lock, decide again, carry the plan out, recording
                   every step in the ledger before and after each remote call; `send_one` for
                   `send --due`
    recipients.py  the per-recipient loop (file, smtp, bulk senders) around a provider's transport
    report.py      what a run did, per variant
    _faults.py     test-only SIGKILL hooks read from the environment

The provider is one of the protocols of `postcli.providers.base`; this package branches on their
type guards. It never imports typer, rich or httpx; progress goes to a callback, and the words
shown to the user are `postcli.cli.send`'s.
"""

from __future__ import annotations

from postcli.errors import ScheduledTextChanged
from postcli.send.decide import SCHEDULE_SLACK
from postcli.send.execute import execute, send_one
from postcli.send.plan import (
    Plan,
    SendOptions,
    VariantPlan,
    plan_send,
    resolve_when,
    run_checks,
    sender_domain,
)
from postcli.send.report import Progress, SendReport, VariantReport

__all__ = [
    "SCHEDULE_SLACK",
    "Plan",
    "Progress",
    "ScheduledTextChanged",
    "SendOptions",
    "SendReport",
    "VariantPlan",
    "VariantReport",
    "execute",
    "plan_send",
    "resolve_when",
    "run_checks",
    "send_one",
    "sender_domain",
]
