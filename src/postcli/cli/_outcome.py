"""How an error is shown: the one wording of a user's error and of postcli's own bug, for the
Typer app (cli/root.py) and the quick path (cli/quick.py) alike. Imports no Typer."""

from __future__ import annotations

import sys
from typing import NoReturn

from postcli.cli._context import Echo
from postcli.errors import ExitCode, PostcliError


def show_error(error: PostcliError, echo: Echo) -> None:
    from postcli.config import redact

    message = redact(str(error.message))
    location = f"{error.location}: " if error.location else ""
    echo(f"error: {location}{message}", err=True)
    if error.hint:
        echo(f"  hint: {redact(error.hint)}", err=True)


def show_bug(bug: BaseException, echo: Echo) -> NoReturn:
    """Not a user error: say so in one line, without any secret, and exit 1."""
    from postcli.config import redact

    echo(f"error: internal error: {redact(f'{type(bug).__name__}: {bug}')}", err=True)
    echo("  hint: this is a bug in postcli; run again with --traceback and report it", err=True)
    sys.exit(int(ExitCode.INPUT))
