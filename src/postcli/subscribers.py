"""The subscribers file -> `Subscriber`s, for the providers that send mail themselves.

Owns the CSV format (a header naming the columns `email`, `name` (optional) and `tier`, then one
subscriber a row), address normalisation and every message about a bad row. Every bad row is
reported at once, each with its file and line, and none is ever returned.

The file is read as a stream, a row at a time, into a `SubscriberList`: a private temporary
SQLite database on disk (deleted when closed), whose unique key finds duplicate addresses. So a
list of any length costs the same memory, and a send reads it back a tier at a time, in the
file's order. This module reads one file and touches nothing else: no ledger, no network.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sqlite3
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from postcli.errors import InputError
from postcli.model import Variant

REQUIRED_COLUMNS = ("email", "tier")
KNOWN_COLUMNS = ("email", "name", "tier")

# A pragmatic address check: one @, a dot-atom local part (RFC 5322 atext, no quoting), and a
# domain of at least two labels made of letters, digits and hyphens. Quoted local parts and
# address literals are valid but never seen on a newsletter list, and servers often reject them.
_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_LABEL_RE = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


@dataclass(frozen=True)
class Subscriber:
    email: str  # normalised (strip; domain lower-cased)
    name: str
    tier: Variant  # Variant.FREE | Variant.PREMIUM
    line: int  # 1-based CSV line, for messages


def normalize_address(raw: str) -> str:
    """`raw` stripped, its domain lower-cased (an international domain in its ASCII form).

    Raises ValueError saying what is wrong with the address.
    """
    address = raw.strip()
    if not address:
        raise ValueError("the email address is empty")
    if any(ch.isspace() for ch in address) or "<" in address or ">" in address:
        raise ValueError(f"'{address}' is not a bare email address (no spaces, names or <>)")
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        raise ValueError(f"'{address}' is not an email address (it needs one @ and a domain)")
    if not local.isascii():
        raise ValueError(
            f"'{address}' has non-ASCII characters before the @, which SMTP cannot send"
        )
    if not _LOCAL_RE.match(local) or len(local) > 64:
        raise ValueError(f"'{address}' has an invalid part before the @")
    domain = domain.lower().rstrip(".")
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")
        except UnicodeError:
            raise ValueError(f"'{address}' has an invalid domain") from None
    labels = domain.split(".")
    if len(labels) < 2 or not all(_LABEL_RE.match(label) for label in labels) or len(domain) > 253:
        raise ValueError(f"'{address}' has an invalid domain after the @")
    if labels[-1].isdigit():
        raise ValueError(f"'{address}' has an invalid domain after the @")
    return f"{local}@{domain}"


def _tier(raw: str) -> Variant:
    value = raw.strip().lower()
    if not value:
        raise ValueError("the tier is empty; write 'free' or 'premium'")
    try:
        return Variant(value)
    except ValueError:
        raise ValueError(f"unknown tier '{raw.strip()}'; write 'free' or 'premium'") from None


MAX_LISTED = 20  # bad rows listed in a message, as for send failures; the rest are counted


def _problem(path: Path, problems: list[tuple[int, str]], total: int) -> InputError:
    """`problems`: the first MAX_LISTED bad rows, by line; `total`: how many there are."""
    first_line, first_message = problems[0]
    if total == 1:
        message = first_message
    else:
        listed = "\n".join(f"{path}:{line}: {message}" for line, message in problems)
        rest = total - len(problems)
        more = f"\n... and {rest:,} more bad row{'s' if rest > 1 else ''}" if rest else ""
        message = f"{total:,} bad rows:\n{listed}{more}"
    return InputError(
        message,
        path=path,
        line=first_line,
        hint="fix the subscribers file (columns: email, name, tier = free | premium)",
    )


_SCHEMA = """
CREATE TABLE subscribers (
    line  INTEGER PRIMARY KEY,  -- the CSV line, so reading back keeps the file's order
    email TEXT NOT NULL,
    key   TEXT NOT NULL UNIQUE, -- the address without case: a duplicate breaks this key
    name  TEXT NOT NULL,
    tier  TEXT NOT NULL
)
"""


class SubscriberList(Collection[Subscriber]):
    """Subscribers held in a private temporary SQLite database on disk rather than in memory:
    iterating reads them back a row at a time, in the file's order. `tier(variant)` is the
    same for one tier. Closed (and its file deleted) by `close()` or when it is dropped."""

    def __init__(self) -> None:
        # "": SQLite's private temporary database, on disk, removed when the connection closes;
        # its page cache is bounded, so the list never sits in memory whole.
        self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self._db.execute(_SCHEMA)
        self._counts: dict[str | None, int] = {}

    @classmethod
    def of(cls, subscribers: Iterable[Subscriber]) -> SubscriberList:
        """A list of subscribers from anywhere (a plug-in's own list); a later duplicate of an
        address is left out."""
        table = cls()
        with table._writing():
            for subscriber in subscribers:
                table._add(subscriber)
        return table

    def _writing(self) -> sqlite3.Connection:
        self._db.execute("BEGIN")
        return self._db

    def _add(self, subscriber: Subscriber) -> int | None:
        """Add one; None, or the line of the earlier row with the same address."""
        try:
            self._db.execute(
                "INSERT INTO subscribers (line, email, key, name, tier) VALUES (?, ?, ?, ?, ?)",
                (
                    subscriber.line,
                    subscriber.email,
                    subscriber.email.lower(),
                    subscriber.name,
                    subscriber.tier.value,
                ),
            )
        except sqlite3.IntegrityError:
            row = self._db.execute(
                "SELECT line FROM subscribers WHERE key = ?", (subscriber.email.lower(),)
            ).fetchone()
            return int(row[0]) if row is not None else subscriber.line
        return None

    def count(self, tier: Variant | None = None) -> int:
        if tier not in self._counts:
            if tier is None:
                row = self._db.execute("SELECT COUNT(*) FROM subscribers").fetchone()
            else:
                row = self._db.execute(
                    "SELECT COUNT(*) FROM subscribers WHERE tier = ?", (tier.value,)
                ).fetchone()
            self._counts[tier] = int(row[0])
        return self._counts[tier]

    def tier(self, tier: Variant) -> TierView:
        return TierView(self, tier)

    def rows(self, tier: Variant | None = None) -> Iterator[Subscriber]:
        query, args = "SELECT line, email, name, tier FROM subscribers", tuple[str, ...]()
        if tier is not None:
            query, args = query + " WHERE tier = ?", (tier.value,)
        for line, email, name, value in self._db.execute(query + " ORDER BY line", args):
            yield Subscriber(email=email, name=name, tier=Variant(value), line=line)

    def __iter__(self) -> Iterator[Subscriber]:
        return self.rows()

    def __len__(self) -> int:
        return self.count()

    def __contains__(self, item: object) -> bool:
        if not isinstance(item, Subscriber):
            return False
        row = self._db.execute(
            "SELECT 1 FROM subscribers WHERE key = ? AND tier = ?",
            (item.email.lower(), item.tier.value),
        ).fetchone()
        return row is not None

    def close(self) -> None:
        self._db.close()


class TierView(Collection[Subscriber]):
    """The subscribers of one tier of a `SubscriberList`, read back on each iteration."""

    def __init__(self, table: SubscriberList, tier: Variant) -> None:
        self._table = table
        self._tier = tier

    def __iter__(self) -> Iterator[Subscriber]:
        return self._table.rows(self._tier)

    def __len__(self) -> int:
        return self._table.count(self._tier)

    def __contains__(self, item: object) -> bool:
        return isinstance(item, Subscriber) and item.tier is self._tier and item in self._table


CHUNK = 500  # subscribers looked up in the ledger at once (below SQLite's 999 parameters)


def chunked(subscribers: Iterable[Subscriber], size: int = CHUNK) -> Iterator[list[Subscriber]]:
    """`subscribers` in lists of `size`, so that a long list is handled a chunk at a time."""
    chunk: list[Subscriber] = []
    for subscriber in subscribers:
        chunk.append(subscriber)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_subscribers(path: Path) -> list[Subscriber]:
    """Read the subscribers CSV at `path` into a list (for small uses; a send streams it with
    `read_subscribers`); raise InputError listing every bad row at once."""
    table = read_subscribers(path)
    try:
        return list(table)
    finally:
        table.close()


def read_subscribers(path: Path) -> SubscriberList:
    """Read the subscribers CSV at `path` as a stream; raise InputError listing every bad row
    at once."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise InputError(
            "the subscribers file does not exist",
            path=path,
            hint="create it (columns: email, name, tier) or fix 'subscribers' in postcli.toml",
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read the subscribers file: {exc.strerror}", path=path) from None
    # newline="": the csv module sees the line ends as written (and quoted ones inside cells);
    # utf-8-sig drops a byte-order mark (Excel's "CSV UTF-8").
    with handle, io.TextIOWrapper(handle, encoding="utf-8-sig", newline="") as text:
        try:
            return _parse(text, path)
        except UnicodeDecodeError:
            pass
        except OSError as exc:
            raise InputError(
                f"cannot read the subscribers file: {exc.strerror}", path=path
            ) from None
    raise InputError(
        "not UTF-8 text",
        path=path,
        line=_first_bad_line(path),
        hint="save the subscribers file as UTF-8 CSV",
    )


def _first_bad_line(path: Path) -> int:
    """The line of the first byte that is not UTF-8 (the text reader decodes ahead, in
    blocks, so its error does not say), read again a line at a time."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                decoder.decode(raw)
            except UnicodeDecodeError:
                return number
    return 1


def parse_subscribers(text: str, path: Path) -> list[Subscriber]:
    """The CSV `text` of the file at `path` (used in messages) -> its subscribers."""
    table = _parse(io.StringIO(text, newline=""), path)
    try:
        return list(table)
    finally:
        table.close()


def _parse(text: IO[str], path: Path) -> SubscriberList:
    reader = csv.reader(text, strict=True)
    header: list[str] | None = None
    columns: dict[str, int] = {}
    problems: list[tuple[int, str]] = []  # the first MAX_LISTED, in line order
    bad = 0
    table = SubscriberList()
    previous_end = 0

    def problem(line: int, message: str) -> None:
        nonlocal bad
        bad += 1
        if len(problems) < MAX_LISTED:
            problems.append((line, message))

    db = table._writing()
    try:
        for row in reader:
            line, previous_end = previous_end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank lines are allowed anywhere
            if header is None:
                header = [cell.strip().lower() for cell in row]
                missing = [name for name in REQUIRED_COLUMNS if name not in header]
                if missing and len(header) == 1 and ";" in header[0]:
                    raise InputError(
                        "the columns are separated by ';', not ','",
                        path=path,
                        line=line,
                        hint="save the file as CSV with commas (email,name,tier)",
                    )
                if missing:
                    raise InputError(
                        f"the first line must be a header naming the columns email, name, tier; "
                        f"'{', '.join(missing)}' missing",
                        path=path,
                        line=line,
                        hint="start the file with the line: email,name,tier",
                    )
                duplicated = sorted({name for name in KNOWN_COLUMNS if header.count(name) > 1})
                if duplicated:
                    raise InputError(
                        f"the header names '{', '.join(duplicated)}' twice", path=path, line=line
                    )
                columns = {name: header.index(name) for name in KNOWN_COLUMNS if name in header}
                continue
            found: list[tuple[int, str]] = []
            subscriber = _row(row, line, columns, found)
            if subscriber is None:
                for where, message in found:
                    problem(where, message)
                continue
            first = table._add(subscriber)
            if first is not None:
                problem(line, f"duplicate address '{subscriber.email}' (first on line {first})")
    except csv.Error as exc:
        problem(previous_end + 1, f"not valid CSV: {exc}")
    except BaseException:
        table.close()
        raise
    db.execute("COMMIT")
    if header is None and not bad:
        table.close()
        raise InputError(
            "the subscribers file is empty",
            path=path,
            line=1,
            hint="start it with the header line email,name,tier and one subscriber a line",
        )
    if bad:
        table.close()
        raise _problem(path, problems, bad)
    return table


def _row(
    row: list[str], line: int, columns: dict[str, int], problems: list[tuple[int, str]]
) -> Subscriber | None:
    def cell(name: str) -> str:
        index = columns.get(name)
        return row[index] if index is not None and index < len(row) else ""

    found: list[str] = []
    email = tier = None
    try:
        email = normalize_address(cell("email"))
    except ValueError as exc:
        found.append(str(exc))
    try:
        tier = _tier(cell("tier"))
    except ValueError as exc:
        found.append(str(exc))
    if found or email is None or tier is None:
        problems.append((line, "; ".join(found)))
        return None
    return Subscriber(email=email, name=cell("name").strip(), tier=tier, line=line)
