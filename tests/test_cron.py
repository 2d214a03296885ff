"""`postcli cron`: the printed line, and --install against a crontab kept in a file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _workspace(tmp_path: Path) -> Path:
    root = tmp_path / "letter"
    root.mkdir()
    (root / "postcli.toml").write_text('[newsletter]\nname = "Letter"\n', encoding="utf-8")
    return root


def _fake_crontab(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A `crontab` on PATH that reads and writes a file, as the real one does the spool."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    table = tmp_path / "crontab.txt"
    script = bin_dir / "crontab"
    script.write_text(
        "#!/bin/sh\n"
        f'TABLE="{table}"\n'
        'if [ "$1" = "-l" ]; then\n'
        '  [ -f "$TABLE" ] || { echo "no crontab for user" >&2; exit 1; }\n'
        '  cat "$TABLE"; exit 0\n'
        "fi\n"
        'if [ "$1" = "-" ]; then cat > "$TABLE"; exit 0; fi\n'
        "exit 2\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    return env, table


def _postcli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "postcli", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_cron_prints_a_line_with_absolute_paths_and_a_log(tmp_path):
    root = _workspace(tmp_path)
    done = _postcli("-C", str(root), "cron", "--every", "15m")
    assert done.returncode == 0, done.stderr
    line = done.stdout.strip()
    assert line.startswith("*/15 * * * * ")
    assert f"-C {root.resolve()} send --due --yes" in line
    assert f">> {root.resolve() / '.postcli' / 'cron.log'} 2>&1" in line
    executable = line.split()[5]
    assert Path(executable).is_absolute()
    assert (root / ".postcli").is_dir()  # the log's folder exists before cron first runs


def test_cron_rejects_a_bad_interval_with_exit_2(tmp_path):
    done = _postcli("-C", str(_workspace(tmp_path)), "cron", "--every", "7x")
    assert done.returncode == 2
    assert "--every '7x'" in done.stderr
    assert "Traceback" not in done.stderr


def test_install_adds_the_line_once_and_keeps_other_entries(tmp_path):
    root = _workspace(tmp_path)
    env, table = _fake_crontab(tmp_path)
    table.write_text("0 3 * * * /usr/bin/backup\n", encoding="utf-8")

    first = _postcli("-C", str(root), "cron", "--install", env=env)
    assert first.returncode == 0, first.stderr
    assert "installed" in first.stderr
    second = _postcli("-C", str(root), "cron", "--install", env=env)
    assert second.returncode == 0
    assert "nothing to do" in second.stderr

    lines = table.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "0 3 * * * /usr/bin/backup"
    assert sum("send --due" in line for line in lines) == 1


def test_install_with_a_new_interval_replaces_the_workspace_line(tmp_path):
    root = _workspace(tmp_path)
    env, table = _fake_crontab(tmp_path)
    assert _postcli("-C", str(root), "cron", "--install", env=env).returncode == 0
    assert _postcli("-C", str(root), "cron", "--install", "--every", "1h", env=env).returncode == 0
    lines = [
        line for line in table.read_text(encoding="utf-8").splitlines() if "send --due" in line
    ]
    assert len(lines) == 1
    assert lines[0].startswith("0 * * * * ")


@pytest.mark.skipif(os.name != "posix", reason="crontab is a POSIX tool")
def test_install_without_crontab_says_what_to_do(tmp_path):
    root = _workspace(tmp_path)
    env = {**os.environ, "PATH": str(tmp_path / "empty")}
    done = _postcli("-C", str(root), "cron", "--install", env=env)
    assert done.returncode == 1
    assert "no 'crontab' command" in done.stderr
    assert "systemd timer" in done.stderr
