"""`postcli build` without Typer: the command run most often in a loop (by editors, make, CI)
starts in about half the time when it skips importing Typer and Click.

Only the plain spellings are taken here: global `-C DIR`/`--workspace DIR`, `-v`, `-q`,
`--traceback` before `build`, then one ISSUE, `--out DIR` and `--json` in any order. Anything
else (`--help`, `--opt=value`, `-vq`, a value that starts with "-", a stream Click would
re-wrap) returns None and goes to the Typer app, which reads it as before. What runs, what is
printed and the exit code are those of the Typer command: the same core (cli/_build.py), the
same error wording (cli/_outcome.py), and Typer's handling of Ctrl-C, EOF and a closed pipe
copied below. tests/test_quick_build.py holds the two paths to the same output.
"""

from __future__ import annotations

import errno
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, NoReturn

from postcli.cli._context import State

_GLOBAL_FLAGS = {"-v": "verbose", "--verbose": "verbose", "-q": "quiet", "--quiet": "quiet"}
_GLOBAL_FLAGS["--traceback"] = "traceback"


@dataclass(frozen=True)
class BuildArgs:
    workspace: str | None
    verbose: bool
    quiet: bool
    traceback: bool
    issue: str
    out: Path | None
    as_json: bool


def _value(args: list[str], index: int) -> str | None:
    """The option value at `index`, if it is one Click would read the same way."""
    if index < len(args) and args[index] and not args[index].startswith("-"):
        return args[index]
    return None


def parse(args: list[str]) -> BuildArgs | None:
    """`args` as a build command in the plain spellings, or None (the Typer app decides)."""
    flags = {"verbose": False, "quiet": False, "traceback": False}
    workspace: str | None = None
    index = 0
    while index < len(args) and args[index] != "build":
        arg = args[index]
        if arg in _GLOBAL_FLAGS:
            flags[_GLOBAL_FLAGS[arg]] = True
        elif arg in ("-C", "--workspace") and _value(args, index + 1) is not None:
            workspace = args[index + 1]
            index += 1
        else:
            return None
        index += 1
    if index == len(args):
        return None
    issue: str | None = None
    out: str | None = None
    as_json = False
    rest = args[index + 1 :]
    index = 0
    while index < len(rest):
        arg = rest[index]
        if arg == "--json":
            as_json = True
        elif arg == "--out" and _value(rest, index + 1) is not None:
            out = rest[index + 1]  # the last one counts, as in Click
            index += 1
        elif issue is None and _value(rest, index) is not None:
            issue = arg
        else:
            return None
        index += 1
    if issue is None:
        return None
    return BuildArgs(
        workspace, flags["verbose"], flags["quiet"], flags["traceback"], issue,
        Path(out) if out is not None else None, as_json,
    )  # fmt: skip


def _plain_stream(stream: IO[str] | None) -> bool:
    """A text stream Click writes to as it is (it re-wraps one without an encoding or errors
    setting, or with an ASCII encoding)."""
    if stream is None:
        return False
    encoding = getattr(stream, "encoding", None)
    if not encoding or getattr(stream, "errors", None) is None:
        return False
    import codecs

    try:
        return codecs.lookup(encoding).name != "ascii"
    except LookupError:
        return True


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except Exception:
        return False


def echo(message: Any = None, err: bool = False) -> None:
    """typer.echo (click.echo) for text: the message and a newline, ANSI escapes removed when
    the stream is no terminal, flushed."""
    stream = sys.stderr if err else sys.stdout
    out = ("" if message is None else str(message)) + "\n"
    if "\033" in out and not _isatty(stream):
        import re

        out = re.sub(r"\033\[[0-?]*[ -/]*[@-~]", "", out)  # Click's own pattern
    stream.write(out)
    stream.flush()


class _PacifyFlush:
    """Click's PacifyFlushWrapper: a stream whose reader went away, flushed without an error."""

    def __init__(self, wrapped: IO[str]) -> None:
        self.wrapped = wrapped

    def flush(self) -> None:
        try:
            self.wrapped.flush()
        except OSError as error:
            if error.errno != errno.EPIPE:
                raise

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wrapped, name)


def run(args: list[str]) -> bool:
    """Run `args` here if they are a plain build command (exits with its code); False when the
    Typer app must read them."""
    parsed = parse(args)
    if parsed is None or not (_plain_stream(sys.stdout) and _plain_stream(sys.stderr)):
        return False
    _run(parsed, debug="--traceback" in args or os.environ.get("POSTCLI_TRACEBACK") == "1")


def _run(parsed: BuildArgs, debug: bool) -> NoReturn:
    from postcli.cli import _build, _outcome
    from postcli.errors import ExitCode, PostcliError

    st = State(
        workspace=parsed.workspace,
        verbose=parsed.verbose,
        quiet=parsed.quiet,
        traceback=parsed.traceback,
        echo=echo,
    )
    try:
        st.configure_logging()
        try:
            _build.build(st, parsed.issue, parsed.out, parsed.as_json, echo)
        except KeyboardInterrupt:  # as Typer: exit 130, said by the wrapper below
            echo("Interrupted.", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        except EOFError:  # as Click: a new line, then Abort
            echo(err=True)
            echo("Aborted.", err=True)
            sys.exit(int(ExitCode.INTERRUPTED))
        except OSError as error:
            if error.errno != errno.EPIPE:
                raise
            sys.stdout = _PacifyFlush(sys.stdout)
            sys.stderr = _PacifyFlush(sys.stderr)
            sys.exit(1)
    except PostcliError as error:
        if debug:
            raise
        _outcome.show_error(error, echo)
        sys.exit(int(error.exit_code))
    except KeyboardInterrupt:
        echo("Interrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except OSError as error:
        if debug:
            raise
        if not error.filename:
            _outcome.show_bug(error, echo)
        from postcli.oserrors import file_error

        problem = file_error(error)
        _outcome.show_error(problem, echo)
        sys.exit(int(problem.exit_code))
    except Exception as bug:
        if debug:
            raise
        _outcome.show_bug(bug, echo)
    sys.exit(0)
