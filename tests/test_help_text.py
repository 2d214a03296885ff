"""`postcli --help` prints the kept help file without importing Typer, and that file is exactly
what the Typer app prints (refresh it with `make golden` when a command's help changes)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from postcli import cli

KEPT = Path(cli.HELP_FILE)


def typer_help(columns: int, monkeypatch: pytest.MonkeyPatch) -> str:
    from postcli.cli.root import run

    monkeypatch.setenv("COLUMNS", str(columns))
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
        run(["--help"])
    assert done.value.code == 0
    return out.getvalue()


def test_the_kept_help_is_what_typer_prints(
    monkeypatch: pytest.MonkeyPatch, update_golden: bool
) -> None:
    wide = typer_help(80, monkeypatch)
    assert typer_help(200, monkeypatch) == wide  # Click's help is the same from 80 columns up
    if update_golden:
        KEPT.write_text(wide, encoding="utf-8")
    assert KEPT.read_text(encoding="utf-8") == wide, "run `make golden` to refresh cli/help.txt"
    for command in ("init", "new", "build", "preview", "check", "cron", "send", "status", "site"):
        assert f"\n  {command} " in wide, command


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_on_a_wide_terminal_imports_no_typer(flag: str) -> None:
    code = (
        "import sys\n"
        "from postcli.cli import main\n"
        "try:\n"
        f"    main([{flag!r}])\n"
        "except SystemExit as done:\n"
        "    sys.stderr.write(f'exit={done.code} typer={\"typer\" in sys.modules}')\n"
    )
    env = {**os.environ, "COLUMNS": "100"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60
    )
    assert result.stderr == "exit=0 typer=False", result.stderr
    assert result.stdout == KEPT.read_text(encoding="utf-8")


def test_a_narrow_terminal_gets_typer_s_own_wrapping(
    run_cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    result = run_cli("--help")  # type: ignore[operator]
    assert result.exit_code == 0
    assert result.stdout != KEPT.read_text(encoding="utf-8")
    assert max(len(line) for line in result.stdout.splitlines()) <= 60
    assert result.stdout == typer_help(60, monkeypatch)
