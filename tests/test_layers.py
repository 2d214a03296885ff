"""Imports point down only, and each outside library has its one home (docs/architecture.md).

Walks every module under src/postcli with `ast`, counting every import: at the top, inside a
function, and under TYPE_CHECKING alike (a type-only import is still a dependency). A module
may import its own unit (the package it belongs to) and any unit on a lower layer, never one
on its own layer or above. A module that is in no layer fails the test: place it in the table.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "postcli"

# Unit -> layer. A unit is a top-level module or package of postcli; lower layers know nothing
# of higher ones. The order follows the pipeline: foundation, configuration, the issue and the
# subscriber list, rendering and storage, checking and delivery, then the commands' cores.
LAYERS: dict[str, int] = {
    # 0: plain values and facts, importing no other postcli module
    "__init__": 0,
    "errors": 0,
    "model": 0,
    "times": 0,
    "limits": 0,
    "net": 0,
    "registry": 0,  # which providers exist and what they declare; imports none of them
    "data": 0,  # the shipped caniemail data (email-client support)
    "korean": 0,  # Korean particles: pure text rules
    "headers": 0,  # lossless RFC 2047 folding of Subject and display names (stdlib email)
    "redact": 0,  # every wire form of the secrets, and taking them out of text
    "controls": 0,  # which control characters are refused, and where they are
    "addresses": 0,  # whether a setting holds one real email address
    "wire": 0,  # a text part on the wire: unsubscribe link put in, transfer encoding
    # 1: configuration, atomic files, the Markdown dialect
    "config": 1,
    "fs": 1,
    "markdown": 1,
    "guards": 1,  # limits on input, checked before native code or expansion
    "oserrors": 1,  # failures of the user's own files (and the ledger) as postcli errors
    # 2: the parsed issue; the pure scheduler
    "issues": 2,
    "schedule": 2,
    # 3: rendering, the subscriber list, the send ledger
    "render": 3,
    "subscribers": 3,
    "ledger": 3,
    # 4: what reads rendered emails: the email-client report, the MIME message
    "clients": 4,
    "mime": 4,
    # 5: the checks (client-support comes from the client report)
    "check": 5,
    # 6: the providers; the build and the workspace scaffolding
    "providers": 6,
    "build": 6,
    "workspace": 6,
    # 7: the commands' cores
    "preview": 7,
    "send": 7,
    "cron": 7,
    "agenda": 7,  # the issue files and the ledger read once for the planner
    # 8: send --due runs send for every due issue; the web edition (it reuses the preview's
    # watcher for --serve)
    "due": 8,
    "site": 8,
    "unschedule": 8,  # postcli unschedule: the planner's rows, the ledger, the provider
    # 9: the command line, and python -m postcli on top of it
    "cli": 9,
    "__main__": 10,
}

# Outside library -> the units that may import it (STYLE: only cli/ imports typer or rich, only
# providers/ imports httpx; one Jinja2 user, one MJML and inliner caller, one markdown-it user).
ONLY_IN: dict[str, set[str]] = {
    "typer": {"cli"},
    "click": {"cli"},
    "rich": {"cli"},
    "httpx": {"providers"},
    "jinja2": {"render.templates"},
    "mjml": {"render.mjml"},
    "css_inline": {"render.mjml"},
    "premailer": {"render.mjml"},
    "markdown_it": {"markdown"},
    "mdit_py_plugins": {"markdown"},
    "linkify_it": {"markdown"},
    "tinycss2": {"clients.analyze"},
}

# Unit -> units it must never import, whatever the layers allow.
NEVER: dict[str, set[str]] = {
    "preview": {"providers", "send", "ledger", "due"},  # the preview sends nothing
    "check": {"providers", "send", "ledger"},  # checks are pure: values in, findings out
    "clients": {"providers", "send", "ledger", "check"},
    "render": {"providers", "send", "ledger", "check"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__" and len(parts) > 1:
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(["postcli", *base, *([node.module] if node.module else [])])
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            if name == "postcli":  # from postcli import config: the unit is the module imported
                found += [
                    (node.lineno, f"postcli.{alias.name}")
                    for alias in node.names
                    if (SRC / alias.name).is_dir() or (SRC / f"{alias.name}.py").is_file()
                ]
    return found


def unit_of(dotted: str) -> str:
    """postcli.render.body -> render; postcli -> __init__."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def violations() -> list[str]:
    problems: list[str] = []
    for path in sorted(SRC.rglob("*.py")):
        here = module_name(path)
        unit = here.split(".")[0] if here != "__init__" else "__init__"
        where = path.relative_to(SRC.parent)
        if unit not in LAYERS:
            problems.append(f"{where}: unit '{unit}' is in no layer; add it to LAYERS")
            continue
        for line, target in imports_of(path):
            top = target.split(".")[0]
            if top == "postcli":
                other = unit_of(target)
                if other == unit or (target == "postcli" and unit != "__init__"):
                    continue  # its own unit; `from postcli import x` is counted by x
                if other not in LAYERS:
                    problems.append(f"{where}:{line}: imports {target}, a unit in no layer")
                elif other in NEVER.get(unit, set()):
                    problems.append(f"{where}:{line}: {unit} must never import {other}")
                elif LAYERS[other] >= LAYERS[unit]:
                    problems.append(
                        f"{where}:{line}: {unit} (layer {LAYERS[unit]}) imports {target} "
                        f"(layer {LAYERS[other]}): imports point down only"
                    )
            elif top in ONLY_IN:
                allowed = ONLY_IN[top]
                if not any(here == a or here.startswith(a + ".") for a in allowed):
                    problems.append(
                        f"{where}:{line}: imports {top}, which only {', '.join(sorted(allowed))} "
                        "may import"
                    )
    return problems


def test_imports_point_down_and_libraries_stay_home() -> None:
    assert violations() == []


def test_the_walk_sees_what_it_must_refuse(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker itself: an upward import, a forbidden library and an unplaced module are
    each reported, with file and line."""
    fake = tmp_path / "postcli"
    (fake / "render").mkdir(parents=True)
    (fake / "preview").mkdir()
    (fake / "providers").mkdir()
    (fake / "__init__.py").write_text("", encoding="utf-8")
    (fake / "render" / "__init__.py").write_text("from postcli.build import x\n", encoding="utf-8")
    (fake / "render" / "body.py").write_text(
        "import os\n\nimport httpx\nfrom . import text\nfrom ..build import go\n", encoding="utf-8"
    )
    (fake / "preview" / "__init__.py").write_text(
        "def f():\n    from postcli import providers\n", encoding="utf-8"
    )
    (fake / "stray.py").write_text("from . import errors\n", encoding="utf-8")
    monkeypatch.setattr(f"{__name__}.SRC", fake)
    found = violations()
    assert any("render/__init__.py:1: render (layer 3) imports postcli.build" in p for p in found)
    assert any("render/body.py:3: imports httpx" in p for p in found)
    assert any("preview/__init__.py:2: preview must never import providers" in p for p in found)
    assert any("render/body.py:5: render (layer 3) imports postcli.build" in p for p in found)
    assert any("stray.py: unit 'stray' is in no layer" in p for p in found)
    assert len(found) == 5, found
