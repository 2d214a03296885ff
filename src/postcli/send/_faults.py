"""Test-only fault hooks: the SIGKILL tests of the suite set these environment variables to kill
a send at the two moments that matter for exactly-once delivery. Nothing else reads them; unset
(as they always are outside the tests) they do nothing.

- POSTCLI_TEST_KILL_AFTER_SENT=N: SIGKILL right after the Nth recipient's 'sent' is committed;
- POSTCLI_TEST_KILL_BEFORE_COMMIT=N: SIGKILL right after the Nth server acceptance, before its
  'sent' is committed (the in-flight window that leaves a recipient "possibly delivered").
"""

from __future__ import annotations

import os
import signal

KILL_AFTER_SENT = "POSTCLI_TEST_KILL_AFTER_SENT"
KILL_BEFORE_COMMIT = "POSTCLI_TEST_KILL_BEFORE_COMMIT"

_counters = {"accepted": 0, "committed": 0}


def _kill_at(variable: str, count: int) -> None:
    limit = os.environ.get(variable)
    if limit and limit.isdigit() and count == int(limit):
        os.kill(os.getpid(), signal.SIGKILL)


def accepted() -> None:
    """A server (or the outbox) accepted one more message; its 'sent' is not committed yet."""
    _counters["accepted"] += 1
    _kill_at(KILL_BEFORE_COMMIT, _counters["accepted"])


def committed() -> None:
    """One more recipient's 'sent' is committed."""
    _counters["committed"] += 1
    _kill_at(KILL_AFTER_SENT, _counters["committed"])
