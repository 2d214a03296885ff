"""Throw-away newsletter workspaces for tests: a copy of the repository's sample (config, issues,
assets, templates), and small edits to its config and templates."""

from __future__ import annotations

import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent.parent
SAMPLE_FILES = ("postcli.toml",)
SAMPLE_FOLDERS = ("issues", "assets", "templates")


def copy_sample_workspace(root: Path) -> Path:
    """Copy the repository's sample workspace (config, issues, assets, templates) to `root`."""
    root.mkdir(parents=True)
    for name in SAMPLE_FILES:
        if (REPO / name).is_file():
            shutil.copy2(REPO / name, root / name)
    for name in SAMPLE_FOLDERS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name)
    return root


def publishable(text: str) -> str:
    """postcli.toml text with `postcli init`'s example.com placeholders moved to the reserved
    testing domain `letter.test`: a workspace that sends through anything but `file` needs real
    addresses (placeholders are errors then, DESIGN section 4)."""
    return text.replace("example.com", "letter.test")


def edit_config(workspace: Path, old: str, new: str) -> Path:
    path = workspace / "postcli.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def config_line(path: Path, start: str) -> int:
    lines = path.read_text(encoding="utf-8").split("\n")
    return next(number for number, line in enumerate(lines, 1) if line.startswith(start))


def override_template(
    workspace: Path, line: int, replacement: str, name: str = "email.mjml.j2"
) -> Path:
    path = workspace / "templates" / name
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[line - 1] = replacement
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def clear_send_at(workspace: Path) -> None:
    """Take `send_at` out of the sample issues: by today's clock theirs may be due, overdue or
    stale, which `postcli status` reports (exit 1) and `send --due` acts on."""
    for path in (workspace / "issues").glob("*.md"):
        lines = path.read_text(encoding="utf-8").split("\n")
        kept = [line for line in lines if not line.startswith("send_at:")]
        path.write_text("\n".join(kept), encoding="utf-8")
