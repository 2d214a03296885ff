"""The one error tree of postcli, and the exit code each kind of error maps to.

The core raises these; only `postcli.cli` turns them into exit codes and messages.

    PostcliError
     ├── InputError              exit 1: the issue, config, template or a check is wrong
     │    ├── IssueError
     │    ├── ConfigError
     │    ├── TemplateError
     │    ├── CheckFailed
     │    ├── ScheduledTextChanged   the provider holds an older text of a scheduled issue
     │    └── LedgerUnusable         the send ledger is read-only or damaged
     ├── UsageError              exit 2: the command line is wrong
     ├── ProviderRefused         exit 3: the provider said no (auth, validation)
     │    ├── ApiRefused             an HTTP API's refusal, with its status and error code
     │    ├── RecipientRefused       one recipient refused for good; the others go on
     │    ├── SmtpAuthError          (SmtpError) the SMTP login failed or cannot be done
     │    └── SmtpRefused            (SmtpError) the sender, TLS or the setup was refused
     └── TryAgainLater           exit 4: nothing is wrong with the input; run again later
          ├── ProviderUnavailable    the provider or network is down after retries
          │    └── SmtpTemporaryError    (SmtpError) 4xx after retries, or unreachable
          ├── SendInProgress         another postcli process is sending this issue
          └── LedgerBusy             the ledger stayed locked by another process

`SmtpError` is a mixin of the SMTP session's errors: the server's reply code, the recipient
concerned, and whether the server may hold an earlier try of the message.
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


class ScheduledTextChanged(InputError):
    """The issue was edited after the provider's scheduler got it: refuse, never send old text."""


class LedgerUnusable(InputError):
    """The send ledger is read-only or damaged: nothing is sent until it can record each step
    (exit 1, not 4: no retry by cron can fix it; see postcli.oserrors)."""


class UsageError(PostcliError):
    exit_code = ExitCode.USAGE


class ProviderRefused(PostcliError):
    exit_code = ExitCode.REFUSED


class ApiRefused(ProviderRefused):
    """A provider's HTTP API refused a request: its HTTP `status`, and the API's own error
    `code` ("" when it gave none), for an adapter that acts on them (Ghost's 409)."""

    def __init__(self, message: str, *, status: int, code: str = "", hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code


class TryAgainLater(PostcliError):
    """Nothing is wrong with the input and nothing was lost: the same command, run again later,
    finishes the job (cron does)."""

    exit_code = ExitCode.UNAVAILABLE


class ProviderUnavailable(TryAgainLater):
    """The provider or the network is unavailable after retries."""


class SendInProgress(TryAgainLater):
    """Another postcli process holds the lock of this issue: it is sending it right now."""


class LedgerBusy(TryAgainLater):
    """The ledger stayed locked by another process longer than its busy timeout: exit 4, like any
    other "run again later", never a traceback (cron runs overlap)."""


class ReplyError(PostcliError):
    """An error about what a server answered: its reply code when there was one, the recipient
    concerned, and `maybe_delivered` when the server may have kept an earlier try of the message
    (a reply lost after the whole message went out): whoever records it must treat it as
    possibly delivered."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        recipient: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.recipient = recipient
        self.maybe_delivered = False


class RecipientRefused(ReplyError, ProviderRefused):
    """The provider refused this one recipient for good (an SMTP 5xx, say); the others go on."""

    recipient: str

    def __init__(
        self, message: str, *, recipient: str, code: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, code=code, recipient=recipient, hint=hint)


class SmtpError(ReplyError):
    """Something the SMTP server said or did (see postcli.providers.smtp_session)."""


class SmtpAuthError(SmtpError, ProviderRefused):
    """The login failed or cannot be done: fix the username, password or security mode."""


class SmtpRefused(SmtpError, ProviderRefused):
    """A permanent refusal that is not about one recipient (the sender, TLS, the setup)."""


class SmtpTemporaryError(SmtpError, ProviderUnavailable):
    """A 4xx reply that did not go away on retry, or a server that cannot be reached."""
