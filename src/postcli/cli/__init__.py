"""The command line: `main` is the console script; the Typer app lives in `postcli.cli.root`.

`postcli --help` is the command people run most often to look around, and Typer with Click
takes most of its time just to import. The root help is therefore also kept as a file,
`help.txt`, written from the Typer app (`make golden`) and compared with it by
tests/test_help_text.py: at a terminal of 80 columns or more, where Click's help is the same
whatever the width, `main` prints that file without importing Typer. Everything else, and
narrower terminals, go through the app. So does `postcli build`, unless its arguments are
plainly spelled: cli/quick.py runs those without Typer, the same way.
"""

from __future__ import annotations

import os
import sys
from typing import Any

HELP_FILE = os.path.join(os.path.dirname(__file__), "help.txt")
HELP_ARGS = (["--help"], ["-h"])
_CLICK_MAX_WIDTH = 80  # Click wraps help at min(terminal width, 80) - 2


def main(argv: list[str] | None = None) -> None:
    """The console script: run the app, map every outcome to an exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args in HELP_ARGS and _print_kept_help():
        sys.exit(0)
    if "build" in args:  # `postcli build` in its plain spellings runs without Typer
        from postcli.cli import quick

        quick.run(args)
    from postcli.cli.root import run

    run(args)


def terminal_columns() -> int:
    """The terminal width as Click reads it (shutil.get_terminal_size, without importing it)."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0 and sys.__stdout__ is not None:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def _print_kept_help() -> bool:
    if terminal_columns() < _CLICK_MAX_WIDTH:
        return False
    try:
        with open(HELP_FILE, encoding="utf-8") as file:
            text = file.read()
    except OSError:
        return False
    sys.stdout.write(text)
    sys.stdout.flush()
    return True


def __getattr__(name: str) -> Any:
    if name == "app":  # the Typer app, imported only when asked for
        from postcli.cli.root import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
