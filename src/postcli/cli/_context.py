"""What every command shares: the global options, the workspace, and output helpers.

Typer is imported only by `state` (which reads a Typer context) and, when no other is given, for
printing: the quick `postcli build` (cli/quick.py) uses State without importing Typer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import logging

    import typer

    from postcli.config import Settings

# Prints one line, as typer.echo does: echo(message, err=False).
Echo = Callable[..., None]


def typer_echo() -> Echo:
    import typer

    return typer.echo


@dataclass
class State:
    workspace: str | None = None
    verbose: bool = False
    quiet: bool = False
    traceback: bool = False
    echo: Echo | None = field(default=None, repr=False)  # None: typer.echo
    _settings: Settings | None = field(default=None, repr=False)

    def configure_logging(self) -> None:
        import logging

        level = logging.DEBUG if self.verbose else logging.WARNING if self.quiet else logging.INFO
        handler = logging.StreamHandler()
        handler.addFilter(_redact_filter())
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        logger = logging.getLogger("postcli")
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False

    def root(self) -> Path:
        from postcli.config import CONFIG_NAME, find_root
        from postcli.errors import ConfigError

        if self.workspace:
            root = Path(self.workspace).resolve()
            if not root.is_dir():
                raise ConfigError(
                    "no such folder", path=self.workspace, hint="-C takes a workspace folder"
                )
            return root
        found = find_root()
        if found is None:
            raise ConfigError(
                f"no {CONFIG_NAME} here or in any folder above",
                path=Path.cwd(),
                hint="run 'postcli init' to start a newsletter, or pass -C DIR",
            )
        return found

    def settings(self) -> Settings:
        if self._settings is None:
            from postcli import config

            self._settings = config.load(self.root())
        return self._settings

    def say(self, message: str) -> None:
        """Progress and confirmations: to stderr, silenced by --quiet."""
        if not self.quiet:
            (self.echo or typer_echo())(message, err=True)


def _redact_filter() -> logging.Filter:
    """A log filter that redacts every secret from the message (logging imported on use)."""
    import logging

    from postcli.config import redact

    class RedactFilter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg = redact(record.getMessage())
            record.args = ()
            return True

    return RedactFilter()


def state(ctx: typer.Context) -> State:
    obj: Any = ctx.find_root().obj
    return obj if isinstance(obj, State) else State()


def print_json(data: Any, echo: Echo | None = None) -> None:
    import json

    (echo or typer_echo())(json.dumps(data, ensure_ascii=False, indent=2))
