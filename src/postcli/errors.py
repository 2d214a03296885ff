"""The one error tree of postcli, and the exit code each kind of error maps to.

The core raises these; only `postcli.cli` turns them into exit codes and messages.

    PostcliError
     ├── InputError            exit 1: the issue, config, template or a check is wrong
     │    ├── IssueError
     │    ├── ConfigError
     │    ├── TemplateError
     │    └── CheckFailed
     ├── UsageError            exit 2: the command line is wrong
     ├── ProviderRefused       exit 3: the provider said no (auth, validation)
     └── ProviderUnavailable   exit 4: the provider or network is down after retries
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    """Exit codes, as README and docs list them; scripts rely on them, so they never change."""

    OK = 0
    INPUT = 1
    USAGE = 2
    REFUSED = 3
    UNAVAILABLE = 4
    INTERRUPTED = 130


class PostcliError(Exception):
    """An error a user can act on: where it is, what is wrong, what to do."""

    exit_code: ExitCode = ExitCode.INPUT

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.hint = hint

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}" if self.location else self.message
        return f"{text} ({self.hint})" if self.hint else text


class InputError(PostcliError):
    exit_code = ExitCode.INPUT


class IssueError(InputError):
    """The issue file is wrong: front matter, markers, blocks, encoding."""


class ConfigError(InputError):
    """postcli.toml is wrong, or missing where it is needed."""


class TemplateError(InputError):
    """A Jinja2 or MJML template is broken."""


class CheckFailed(InputError):
    """Pre-flight checks found errors; the findings say which."""


class UsageError(PostcliError):
    exit_code = ExitCode.USAGE


class ProviderRefused(PostcliError):
    exit_code = ExitCode.REFUSED


class ProviderUnavailable(PostcliError):
    exit_code = ExitCode.UNAVAILABLE
