"""The crontab line that runs `postcli send --due`, and installing it without duplicates.

The line carries a marker comment naming the workspace, so installing again replaces the line
for that workspace instead of adding a second one.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from postcli.errors import InputError
from postcli.schedule import cron_schedule

MARKER = "# postcli send --due for "


def postcli_executable() -> str:
    """The absolute path of the running postcli, falling back to `python -m postcli`."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "postcli" and argv0.exists():
        return _word(str(argv0.resolve()))
    found = shutil.which("postcli")
    if found:
        return _word(str(Path(found).resolve()))
    return f"{_word(sys.executable)} -m postcli"


def _word(text: str) -> str:
    """`text` as one shell word in a crontab line: quoted for the shell, and every % escaped,
    since cron itself turns an unescaped % into a line break (the end of the command)."""
    if "\n" in text or "\r" in text:
        raise InputError(
            f"a crontab line cannot hold a path with a line break: {text!r}",
            hint="move the workspace (or postcli) to a folder whose name has no line break",
        )
    return shlex.quote(text).replace("%", "\\%")


def marker(root: Path) -> str:
    """The comment that ends this workspace's line (its % escaped, as in the command)."""
    return f"{MARKER}{root.resolve()}".replace("%", "\\%")


def cron_line(root: Path, every: str, executable: str | None = None) -> str:
    root = root.resolve()
    command = executable or postcli_executable()
    log = root / ".postcli" / "cron.log"
    return (
        f"{cron_schedule(every)} {command} -C {_word(str(root))} send --due --yes"
        f" >> {_word(str(log))} 2>&1 {marker(root)}"
    )


def install(line: str, root: Path, crontab: str = "crontab") -> bool:
    """Put `line` in the user's crontab, replacing this workspace's earlier line.

    Returns False when the very same line was there already (nothing changed).
    """
    if shutil.which(crontab) is None:
        raise InputError(
            "no 'crontab' command on this machine",
            hint="install cron, or use the systemd timer shown in docs/scheduling.md",
        )
    current = subprocess.run([crontab, "-l"], capture_output=True, text=True, check=False)
    existing = current.stdout.splitlines() if current.returncode == 0 else []
    if line in existing:
        return False
    kept = [entry for entry in existing if not entry.endswith(marker(root))]
    new_table = "\n".join([*kept, line]) + "\n"
    done = subprocess.run(
        [crontab, "-"], input=new_table, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise InputError(f"crontab refused the new table: {done.stderr.strip()}")
    (root / ".postcli").mkdir(exist_ok=True)
    return True
