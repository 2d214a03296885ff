"""The newsletter's own vocabulary as types: variants, audiences, and every state that postcli
persists in the ledger or decides on while sending.

This is the only module that spells those states as strings. They are `StrEnum`s, so a member
compares and stores as its value: the ledger's columns hold the same words they always did, and
JSON output is unchanged. Imports nothing of postcli.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal, TypeAlias

# --- The issue: its two emails and its readers ---------------------------------------------


class Variant(StrEnum):
    """One of the two emails an issue becomes."""

    FREE = "free"
    PREMIUM = "premium"

    @property
    def other(self) -> Variant:
        """The other tier, whose own blocks (`::: free`, `::: premium`) this email leaves out."""
        return Variant.PREMIUM if self is Variant.FREE else Variant.FREE


class Audience(StrEnum):
    """Who an issue is for (`audience:` in front matter)."""

    ALL = "all"
    FREE = "free"
    PREMIUM = "premium"

    @property
    def variants(self) -> tuple[Variant, ...]:
        if self is Audience.ALL:
            return (Variant.FREE, Variant.PREMIUM)
        return (Variant(self.value),)


# What one ledger row, one campaign and one report line are about: one variant, or
# `Audience.ALL` for the single self-gated post that carries both (Ghost-style platforms).
Edition: TypeAlias = Variant | Literal[Audience.ALL]


def edition(text: str) -> Edition:
    """A variant column read back from the ledger (or a command line) -> its type."""
    return Audience.ALL if text == Audience.ALL else Variant(text)


# --- The ledger: what was sent, to whom ------------------------------------------------------


class Mode(StrEnum):
    """A ledger row is a real send or a `--test` copy (which never blocks anything)."""

    LIVE = "live"
    TEST = "test"


class SendStatus(StrEnum):
    """A send in the ledger: pending -> sending -> sent, or scheduled, or failed."""

    PENDING = "pending"
    SCHEDULED = "scheduled"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"

    @property
    def done(self) -> bool:
        """Sent or scheduled: sending it again needs --force."""
        return self in (SendStatus.SENT, SendStatus.SCHEDULED)

    @property
    def unfinished(self) -> bool:
        """A later run takes this row up again instead of starting a new one."""
        return self is not SendStatus.SENT


class RecipientStatus(StrEnum):
    """One recipient of a per-recipient send: pending -> sending -> sent, or failed."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


# What a provider did with a campaign: `Delivery.status`, and the send status recorded for it.
Delivered: TypeAlias = Literal[SendStatus.SENT, SendStatus.SCHEDULED]


# --- What providers answer ------------------------------------------------------------------


class RemoteStatus(StrEnum):
    """What a campaign provider says about a campaign it holds."""

    DRAFT = "draft"
    SCHEDULED = "scheduled"
    SENT = "sent"


class LetterStatus(StrEnum):
    """What a bulk provider said about one recipient of a batch (`_batch.Outcome.status`)."""

    SENT = "sent"
    FAILED = "failed"
    RETRY = "retry"  # throttled within a successful reply: send it again

    @property
    def recorded(self) -> RecipientStatus | None:
        """The recipient status the ledger records for it; None for RETRY, which is sent
        again rather than recorded."""
        return None if self is LetterStatus.RETRY else RecipientStatus(self.value)


# --- What `send` decides and reports ---------------------------------------------------------


class PlanAction(StrEnum):
    """What `send` decided to do with one variant before asking for confirmation."""

    SEND = "send"
    SCHEDULE = "schedule"
    RESUME = "resume"
    MOVE = "move"  # a schedule that no longer matches the file: follow the file
    ALREADY = "already"
    TEST = "test"


class Outcome(StrEnum):
    """What a run did with one variant: the `action` of a send report line."""

    SENT = "sent"
    SCHEDULED = "scheduled"
    MOVED = "moved"
    ALREADY = "already"
    FAILED = "failed"
    TEST = "test"
    DRY_RUN = "dry-run"
    BUSY = "busy"


# --- What `send --due` and `status` decide and show ------------------------------------------


class TimeDecision(StrEnum):
    """What `schedule.decide` says of one send time (`schedule.Action`)."""

    SEND = "send"  # its time has come: send it now
    WAIT = "wait"  # its time has not come
    STALE = "stale"  # later than the maximum lateness: not sent without --late-ok
    DONE = "done"  # the ledger says it was sent (or handed to the provider's scheduler)


class DueOutcome(StrEnum):
    """What `send --due` did with one (issue, variant)."""

    SENT = "sent"
    SCHEDULED = "scheduled"
    ALREADY = "already"
    BUSY = "busy"
    STALE = "stale"
    FAILED = "failed"
    CHANGED = "changed"
    BROKEN = "broken"
    DRAFT = "draft"
    DRY_RUN = "dry-run"
    TEST = "test"


class CronAction(StrEnum):
    """What the next `send --due` does with one (issue, variant)."""

    SEND = "send"  # sends it (or finishes or retries it) now
    WAIT = "wait"  # its time has not come
    SKIP = "skip"  # a draft, stale, or broken: reported, not sent
    NONE = "none"  # nothing: sent, held, running, or the provider's to send


class ScheduleState(StrEnum):
    """What `postcli status` shows for one (issue, variant), and what `send --due` acts on (the
    table in docs/scheduling.md)."""

    DRAFT = "draft"
    UPCOMING = "upcoming"
    SCHEDULED = "scheduled"
    DUE = "due"
    OVERDUE = "overdue"
    STALE = "stale"
    HELD = "held"
    SENDING = "sending"
    INTERRUPTED = "interrupted"
    SENT = "sent"
    FAILED = "failed"

    @property
    def problem(self) -> bool:
        """`postcli status` exits 1 when it shows one of these."""
        return self in (ScheduleState.FAILED, ScheduleState.OVERDUE, ScheduleState.STALE)


# --- The preview -----------------------------------------------------------------------------


class PreviewChecks(StrEnum):
    """Where the preview's checks of the latest build are (the page shows each differently)."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"
    OFF = "off"
