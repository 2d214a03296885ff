"""The built wheel works on its own: built with `pip wheel`, installed into a fresh venv, it
runs `postcli --help` and builds a sample issue, and it carries every file pyproject.toml
declares as package data (templates, the preview's static files, and any data files).

The fresh venv gets the wheel alone (`--no-deps`); its dependencies come from the test
environment through one `.pth` line placed after the venv's own site-packages, so the test
runs offline and the postcli that runs is the installed wheel, never the source tree.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

from helpers.workspace import REPO, copy_sample_workspace

pytestmark = pytest.mark.slow

ISSUE_ID = "2026-12-01-china-ai-global"


def declared_package_data() -> set[str]:
    """Every file under src/postcli that pyproject's package-data patterns name."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["postcli"]
    package = REPO / "src" / "postcli"
    files = {  # src/postcli/templates is a link to the sample's templates/: follow it
        (Path(folder) / name).relative_to(package).as_posix()
        for folder, _, names in os.walk(package, followlinks=True)
        if "__pycache__" not in folder
        for name in names
    }
    return {name for name in files for pattern in patterns if fnmatch.fnmatch(name, pattern)}


def run(command: list[str | Path], **kwargs: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    result = subprocess.run(
        [str(c) for c in command],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        **kwargs,  # type: ignore[arg-type]
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", out, REPO])
    (built,) = out.glob("postcli-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding the wheel; returns its bin/ folder."""
    env_dir = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
        ).stdout.strip()
    )
    # The dependencies, from this test run's environment; the wheel's postcli comes first.
    (site / "zz_test_dependencies.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8"
    )
    run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", wheel])
    return env_dir / "bin"


def test_the_wheel_holds_every_declared_package_file(wheel: Path) -> None:
    declared = declared_package_data()
    assert {"templates/email.mjml.j2", "preview/static/index.html"} <= declared
    with zipfile.ZipFile(wheel) as archive:
        shipped = {n.removeprefix("postcli/") for n in archive.namelist()}
    missing = sorted(declared - shipped)
    assert not missing, f"declared in pyproject.toml, absent from the wheel: {missing}"
    assert "cli/__init__.py" in shipped and "check/__init__.py" in shipped


def test_installed_postcli_runs_help_and_reads_its_data(installed: Path) -> None:
    result = run([installed / "postcli", "--help"])
    assert "build" in result.stdout and "send" in result.stdout
    probe = run(
        [
            installed / "python",
            "-c",
            "import postcli, sys\n"
            "from postcli.preview import page\n"
            "from postcli.render import templates\n"
            "print(postcli.__file__)\n"
            "print(len(page.shell()), len(page.css()), len(page.js()))\n"
            "print(templates.BUILTIN_DIR.is_dir())",
        ],
        cwd=installed,
    )
    where, sizes, builtin = probe.stdout.splitlines()
    assert str(installed.parent) in where, where  # the wheel's copy, not the source tree
    assert all(int(size) > 500 for size in sizes.split())
    assert builtin == "True"


def test_installed_postcli_builds_like_the_source_tree(
    installed: Path, tmp_path: Path, run_cli: object
) -> None:
    workspace = copy_sample_workspace(tmp_path / "newsletter")
    out = tmp_path / "from-wheel"
    run([installed / "postcli", "-C", workspace, "build", ISSUE_ID, "--out", out])
    here = tmp_path / "from-source"
    result = run_cli("-C", workspace, "build", ISSUE_ID, "--out", here)  # type: ignore[operator]
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in out.iterdir())
    assert names == ["free.html", "free.txt", "meta.json", "premium.html", "premium.txt"]
    for name in names:
        assert (out / name).read_bytes() == (here / name).read_bytes(), name
