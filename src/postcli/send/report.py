"""What a send did, per variant: the values `execute` returns and `cli/` prints."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from postcli.config import redact
from postcli.errors import ExitCode, PostcliError
from postcli.model import Edition, Outcome
from postcli.send.plan import Plan

# (variant, done, total): after each recipient, and once at the start of a variant.
Progress = Callable[[str, int, int], None]


@dataclass
class VariantReport:
    variant: Edition
    action: Outcome
    total: int = 0  # recipients this run was about
    sent: int = 0
    skipped: int = 0  # already sent by an earlier run
    failed: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (address, why)
    possibly_duplicated: list[str] = field(default_factory=list)
    remote_id: str | None = None
    message: str = ""

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)  # the fields, in their order
        data["failures"] = [{"email": e, "error": why} for e, why in self.failures]
        return data


@dataclass
class SendReport:
    plan: Plan
    variants: list[VariantReport] = field(default_factory=list)
    error: PostcliError | None = None  # what stopped the run, after the ledger recorded it

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return int(self.error.exit_code)
        if any(v.failed for v in self.variants):
            return int(ExitCode.REFUSED)
        return 0

    def to_json(self) -> dict[str, Any]:
        return {
            **self.plan.to_json(),
            "results": [v.to_json() for v in self.variants],
            "error": redact(str(self.error)) if self.error else None,
        }
