"""The Typer app: one module per command, and the one place errors become exit codes.

Command modules import nothing heavy at module level; each command imports the core it needs
when it runs.
"""

from __future__ import annotations

import os
import sys
from typing import NoReturn

import typer

from postcli import __version__
from postcli.cli import _outcome
from postcli.cli import build as build_cmd
from postcli.cli import check as check_cmd
from postcli.cli import cron as cron_cmd
from postcli.cli import init as init_cmd
from postcli.cli import new as new_cmd
from postcli.cli import preview as preview_cmd
from postcli.cli import send as send_cmd
from postcli.cli import site as site_cmd
from postcli.cli import status as status_cmd
from postcli.cli import unschedule as unschedule_cmd
from postcli.cli._context import State
from postcli.errors import ExitCode, PostcliError

app = typer.Typer(
    name="postcli",
    help="Write a newsletter issue in Markdown; send a free teaser and a premium edition.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"postcli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    workspace: str = typer.Option(
        None,
        "-C",
        "--workspace",
        help="The newsletter folder (default: the nearest one with postcli.toml).",
    ),
    verbose: bool = typer.Option(False, "-v", "--verbose", help="Say more, including debug logs."),
    quiet: bool = typer.Option(
        False, "-q", "--quiet", help="Print only errors and asked-for output."
    ),
    traceback: bool = typer.Option(
        False, "--traceback", hidden=True, help="Show Python tracebacks (for debugging postcli)."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Write a newsletter issue in Markdown; send a free teaser and a premium edition."""
    ctx.obj = State(workspace=workspace, verbose=verbose, quiet=quiet, traceback=traceback)
    ctx.obj.configure_logging()


app.command("init")(init_cmd.init)
app.command("new")(new_cmd.new)
app.command("build")(build_cmd.build)
app.command("preview")(preview_cmd.preview)
app.command("check")(check_cmd.check)
app.command("cron")(cron_cmd.cron)
app.command("send")(send_cmd.send)
app.command("status")(status_cmd.status)
app.command("unschedule")(unschedule_cmd.unschedule)
app.command("site")(site_cmd.site)


def _show_error(error: PostcliError) -> None:
    _outcome.show_error(error, typer.echo)


def _show_bug(bug: BaseException) -> NoReturn:
    _outcome.show_bug(bug, typer.echo)


def run(args: list[str]) -> None:
    """Run the app on `args`, map every outcome to an exit code (and exit with it)."""
    try:
        from click import exceptions as click_exceptions
    except ImportError:  # Typer 0.25 and later carry their own copy of Click
        from typer._click import exceptions as click_exceptions  # type: ignore[no-redef]

    debug = "--traceback" in args or os.environ.get("POSTCLI_TRACEBACK") == "1"
    try:
        result = app(args=args, prog_name="postcli", standalone_mode=False)
    except PostcliError as error:
        if debug:
            raise
        _show_error(error)
        sys.exit(int(error.exit_code))
    except typer.Exit as done:
        sys.exit(done.exit_code)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except click_exceptions.ClickException as error:
        error.show()
        usage = isinstance(error, click_exceptions.UsageError)
        sys.exit(int(ExitCode.USAGE) if usage else error.exit_code)
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        sys.exit(int(ExitCode.INTERRUPTED))
    except OSError as error:
        # A file of the user's that cannot be read or written (permissions, a full disk): the
        # file is named, and it is theirs to fix. One without a file name is postcli's bug.
        if debug:
            raise
        if not error.filename:
            _show_bug(error)
        from postcli.oserrors import file_error

        problem = file_error(error)
        _show_error(problem)
        sys.exit(int(problem.exit_code))
    except Exception as bug:  # not a user error: say so in one line, without any secret
        if debug:
            raise
        _show_bug(bug)
    if result == ExitCode.INTERRUPTED:  # Typer turns Ctrl-C inside a command into 130 quietly
        typer.echo("Interrupted.", err=True)
    sys.exit(result if isinstance(result, int) else 0)
