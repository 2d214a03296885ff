"""The ledger's SQLite schema: `.postcli/ledger.sqlite3`, version 2 (version 1 plus `holds`; every
statement is IF NOT EXISTS, so opening a version 1 ledger just adds the table). The index
`recipients_folded` came later without a new version: a send adds it to an older ledger the
first time it writes recipients (`FOLDED_INDEX`), so opening a ledger still writes nothing.

The CHECK constraints are spelled from the enums of `postcli.model`, which hold the very words
the columns always held: a ledger written by an earlier postcli reads the same.
"""

from __future__ import annotations

from enum import StrEnum

from postcli.model import Mode, RecipientStatus, SendStatus

LEDGER_NAME = "ledger.sqlite3"
SCHEMA_VERSION = 2

# Seconds a ledger step waits for another process's write (or its opening of the database).
BUSY_TIMEOUT = 30.0


# A send looks its recipients up a chunk at a time by address without case (addresses are
# ASCII: the subscribers file refuses others), so a list of any length never sits in memory.
FOLDED_INDEX_NAME = "recipients_folded"
FOLDED_INDEX = (
    f"CREATE INDEX IF NOT EXISTS {FOLDED_INDEX_NAME} ON recipients (send_id, lower(email))"
)


def _one_of(enum: type[StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum)


SCHEMA = f"""
CREATE TABLE IF NOT EXISTS sends (
    id              INTEGER PRIMARY KEY,
    issue_id        TEXT NOT NULL,
    variant         TEXT NOT NULL,
    provider        TEXT NOT NULL,
    mode            TEXT NOT NULL CHECK (mode IN ({_one_of(Mode)})),
    generation      INTEGER NOT NULL DEFAULT 1,
    status          TEXT NOT NULL
                    CHECK (status IN ({_one_of(SendStatus)})),
    content_hash    TEXT NOT NULL,
    campaign_name   TEXT,
    subject         TEXT,
    target          TEXT,            -- the address of a test send
    scheduled_for   TEXT,            -- UTC, ISO 8601
    remote_id       TEXT,            -- the provider's id of the campaign, post or schedule
    error           TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS sends_live
    ON sends (issue_id, variant, provider, generation) WHERE mode = '{Mode.LIVE.value}';
CREATE INDEX IF NOT EXISTS sends_issue ON sends (issue_id);
CREATE INDEX IF NOT EXISTS sends_due ON sends (status, scheduled_for);

CREATE TABLE IF NOT EXISTS recipients (
    send_id             INTEGER NOT NULL REFERENCES sends (id),
    email               TEXT NOT NULL,
    tier                TEXT,
    status              TEXT NOT NULL CHECK (status IN ({_one_of(RecipientStatus)})),
    message_id          TEXT,
    attempts            INTEGER NOT NULL DEFAULT 0,
    possibly_duplicate  INTEGER NOT NULL DEFAULT 0,
    error               TEXT,
    updated_at          TEXT NOT NULL,
    PRIMARY KEY (send_id, email)
);
{FOLDED_INDEX};

-- `postcli unschedule`: (issue, variant, provider) that `send --due` leaves alone until
-- `postcli send ISSUE` runs again.
CREATE TABLE IF NOT EXISTS holds (
    issue_id        TEXT NOT NULL,
    variant         TEXT NOT NULL,
    provider        TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (issue_id, variant, provider)
);
"""
