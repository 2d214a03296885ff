"""The issue's domain types: FrontMatter, Block and Issue (Variant and Audience are in model).

Plain values only: nothing here reads a file or parses Markdown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from postcli.markdown import Token
from postcli.model import Audience, Variant

_ID_DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})-")


@dataclass(frozen=True)
class FrontMatter:
    title: str
    subtitle: str | None = None
    subject: str | None = None
    preheader: str | None = None
    send_at: datetime | None = None
    audience: Audience = Audience.ALL
    tags: tuple[str, ...] = ()
    upgrade: dict[str, Any] = field(default_factory=dict)
    draft: bool = False  # held back: never sent, not on the web edition
    lines: dict[str, int] = field(default_factory=dict)  # key -> file line, for messages


@dataclass(frozen=True)
class Block:
    """A top-level `::: premium` or `::: free` block: its kind and its token range."""

    kind: Variant
    start: int  # index of the open token
    end: int  # index of the close token
    line: int  # file line of the opening fence


@dataclass
class Issue:
    id: str
    path: Path
    front: FrontMatter
    source: str  # the Markdown body, normalised
    body_line: int  # file line of the body's first line
    tokens: list[Token]  # block tokens; inline children not parsed yet
    env: dict[str, Any]  # references and footnote labels found by the block parse
    paywall: int | None  # token index of the paywall marker
    blocks: list[Block]

    @property
    def date(self) -> date | None:
        match = _ID_DATE_RE.match(self.id)
        if match:
            try:
                return date.fromisoformat(match.group(1))
            except ValueError:
                return None
        return self.front.send_at.date() if self.front.send_at else None

    @property
    def paywall_line(self) -> int | None:
        return None if self.paywall is None else self.line_of(self.tokens[self.paywall])

    @property
    def has_premium_only(self) -> bool:
        """True when the free variant loses something: the upgrade block goes where it does."""
        return self.paywall is not None or any(b.kind is Variant.PREMIUM for b in self.blocks)

    def line_of(self, token: Token) -> int:
        return self.body_line + (token.map[0] if token.map else 0)

    def line_of_body_line(self, body_index: int) -> int:
        return self.body_line + body_index
