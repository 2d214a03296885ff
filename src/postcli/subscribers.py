"""The subscribers file -> a list of `Subscriber`s, for the providers that send mail themselves.

Owns the CSV format (a header naming the columns `email`, `name` (optional) and `tier`, then one
subscriber a row), address normalisation and every message about a bad row. Every bad row is
reported at once, each with its file and line, and none is ever returned. This module reads one
file and touches nothing else: no ledger, no network.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

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


def _problem(path: Path, problems: list[tuple[int, str]]) -> InputError:
    first_line, first_message = problems[0]
    if len(problems) == 1:
        message = first_message
    else:
        shown = problems[:MAX_LISTED]
        listed = "\n".join(f"{path}:{line}: {message}" for line, message in shown)
        rest = len(problems) - len(shown)
        more = f"\n... and {rest:,} more bad row{'s' if rest > 1 else ''}" if rest else ""
        message = f"{len(problems):,} bad rows:\n{listed}{more}"
    return InputError(
        message,
        path=path,
        line=first_line,
        hint="fix the subscribers file (columns: email, name, tier = free | premium)",
    )


def load_subscribers(path: Path) -> list[Subscriber]:
    """Read the subscribers CSV at `path`; raise InputError listing every bad row at once."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(
            "the subscribers file does not exist",
            path=path,
            hint="create it (columns: email, name, tier) or fix 'subscribers' in postcli.toml",
        ) from None
    except OSError as exc:
        raise InputError(f"cannot read the subscribers file: {exc.strerror}", path=path) from None
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (Excel's "CSV UTF-8") is dropped
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            "not UTF-8 text", path=path, line=line, hint="save the subscribers file as UTF-8 CSV"
        ) from None
    return parse_subscribers(text, path)


def parse_subscribers(text: str, path: Path) -> list[Subscriber]:
    """The CSV `text` of the file at `path` (used in messages) -> its subscribers."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    columns: dict[str, int] = {}
    problems: list[tuple[int, str]] = []
    subscribers: list[Subscriber] = []
    seen: dict[str, int] = {}
    previous_end = 0
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
            subscriber = _row(row, line, columns, problems)
            if subscriber is None:
                continue
            key = subscriber.email.lower()
            if key in seen:
                problems.append(
                    (line, f"duplicate address '{subscriber.email}' (first on line {seen[key]})")
                )
                continue
            seen[key] = line
            subscribers.append(subscriber)
    except csv.Error as exc:
        problems.append((previous_end + 1, f"not valid CSV: {exc}"))
    if header is None and not problems:
        raise InputError(
            "the subscribers file is empty",
            path=path,
            line=1,
            hint="start it with the header line email,name,tier and one subscriber a line",
        )
    if problems:
        problems.sort(key=lambda item: item[0])
        raise _problem(path, problems)
    return subscribers


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
