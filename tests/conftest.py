"""Fixtures shared by the whole suite: a throw-away copy of the sample workspace, the command
line run in-process, and the `--update-golden` option that refreshes tests/golden/."""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from helpers.workspace import copy_sample_workspace

# Hypothesis profiles: `ci` (the default) keeps the suite's fuzzers to about a minute;
# `pytest --hypothesis-profile=slow` runs 25 times as many examples (docs/testing.md).
settings.register_profile("ci", max_examples=150, deadline=None)
settings.register_profile("slow", max_examples=3750, deadline=None)
settings.load_profile("ci")


def pytest_configure(config: pytest.Config) -> None:
    # Compiled templates go to a folder of this run, never the user's cache.
    os.environ.setdefault("POSTCLI_CACHE_DIR", tempfile.mkdtemp(prefix="postcli-test-cache-"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite tests/golden/ from the current output instead of comparing with it.",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A throw-away copy of the sample workspace, for one test."""
    return copy_sample_workspace(tmp_path / "newsletter")


@pytest.fixture(scope="module")
def module_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the sample workspace shared by one module's tests, which must not change it."""
    return copy_sample_workspace(tmp_path_factory.mktemp("sample") / "newsletter")


@dataclass(frozen=True)
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@pytest.fixture
def run_cli(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., CliResult]:
    """Run `postcli ARGS...` in this process; returns its exit code, stdout and stderr.

    Each run is hermetic: variables a workspace's `.env` loads and the log handler a command
    installs are undone afterwards, so one test's secrets or streams never reach the next.
    """
    from postcli.cli import main

    def run(*args: str | Path, cwd: Path | None = None) -> CliResult:
        if cwd is not None:
            monkeypatch.chdir(cwd)
        capsys.readouterr()  # drop whatever an earlier step printed
        environ = dict(os.environ)
        logger = logging.getLogger("postcli")
        handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
        try:
            main([str(a) for a in args])
        except SystemExit as done:
            code = done.code
        else:
            pytest.fail("postcli.cli.main returned instead of exiting with a code")
        finally:
            os.environ.clear()
            os.environ.update(environ)
            logger.handlers[:] = handlers
            logger.setLevel(level)
            logger.propagate = propagate
        captured = capsys.readouterr()
        # As the interpreter does: None is 0, a message is 1.
        exit_code = code if isinstance(code, int) else 0 if code is None else 1
        return CliResult(exit_code, captured.out, captured.err)

    return run
