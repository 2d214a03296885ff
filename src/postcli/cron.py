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
        return str(argv0.resolve())
    found = shutil.which("postcli")
    if found:
        return str(Path(found).resolve())
    return f"{shlex.quote(sys.executable)} -m postcli"


def cron_line(root: Path, every: str, executable: str | None = None) -> str:
    root = root.resolve()
    command = executable or postcli_executable()
    log = root / ".postcli" / "cron.log"
    return (
        f"{cron_schedule(every)} {command} -C {shlex.quote(str(root))} send --due --yes"
        f" >> {shlex.quote(str(log))} 2>&1 {MARKER}{root}"
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
    marker = f"{MARKER}{root.resolve()}"
    if line in existing:
        return False
    kept = [entry for entry in existing if not entry.endswith(marker)]
    new_table = "\n".join([*kept, line]) + "\n"
    done = subprocess.run(
        [crontab, "-"], input=new_table, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise InputError(f"crontab refused the new table: {done.stderr.strip()}")
    (root / ".postcli").mkdir(exist_ok=True)
    return True
