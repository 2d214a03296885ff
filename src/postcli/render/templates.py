"""The only Jinja2 user: loads templates (the workspace's `templates/` first, then the built-in
ones shipped in the package) and turns template errors into TemplateError with file and line.
"""

from __future__ import annotations

import contextlib
import os
import stat
from functools import cache
from pathlib import Path
from typing import Any

import jinja2
import jinja2.bccache

from postcli.errors import TemplateError
from postcli.render import strings as strings_module

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "templates"


@cache
def environment(workspace_templates: Path | None) -> jinja2.Environment:
    search = (
        [str(workspace_templates)] if workspace_templates and workspace_templates.is_dir() else []
    )
    search.append(str(BUILTIN_DIR))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(search),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        auto_reload=True,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters.update(strings_module.FILTERS)  # fill, josa: the words and their particles
    return env


class _QuietBytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja's file cache of compiled templates, where a cache that cannot be read or written
    costs a recompile and nothing else."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except OSError:
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def cache_dir() -> Path | None:
    """Where compiled templates are kept: $POSTCLI_CACHE_DIR (empty: no cache), else the user
    cache folder ($XDG_CACHE_HOME or ~/.cache) under postcli/."""
    configured = os.environ.get("POSTCLI_CACHE_DIR")
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "postcli"


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """The compiled-template cache, or None where it would not be safe.

    Jinja keys each entry by template name and file and checks the source's checksum on load, so
    an edited template is compiled afresh. A cached entry is code that runs: the folder must be
    this user's own and writable by no one else, as Jinja requires of its default folder."""
    folder = cache_dir()
    if folder is None:
        return None
    folder = folder / "templates"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = folder.stat()
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_mode & 0o022:
        return None
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return None
    return _QuietBytecodeCache(str(folder), "%s.jinja")


def _autoescape(name: str | None) -> bool:
    """Escape everything but the plain-text and Markdown templates."""
    return name is None or not name.endswith((".txt.j2", ".md.j2", ".txt"))


def template_path(name: str, workspace_templates: Path | None) -> Path:
    """Where `name` is read from: the workspace's override, else the built-in file."""
    if workspace_templates is not None and (workspace_templates / name).is_file():
        return workspace_templates / name
    return BUILTIN_DIR / name


def render(name: str, context: dict[str, Any], workspace_templates: Path | None) -> str:
    env = environment(workspace_templates)
    try:
        return env.get_template(name).render(context)
    except RecursionError:
        raise _template_error(RecursionError(), name, workspace_templates) from None
    except Exception as exc:  # a template is the user's code: whatever it raises is its error
        raise _template_error(exc, name, workspace_templates) from exc


_FIX_OR_DELETE = "fix the template, or delete it to use the built-in one"


def _template_error(exc: Exception, name: str, workspace_templates: Path | None) -> TemplateError:
    """What went wrong in template `name`, with the file and line to fix."""
    path: str | Path | None = template_path(name, workspace_templates)
    line: int | None
    hint: str | None
    match exc:
        case jinja2.TemplateSyntaxError(message=message, filename=filename, lineno=line):
            problem, path, hint = f"template syntax error: {message}", filename or path, None
        case jinja2.TemplateNotFound(name=missing):
            return TemplateError(f"template '{missing}' not found", path=workspace_templates)
        case jinja2.UndefinedError(message=message):
            problem, line = f"template uses an unknown value: {message}", _template_line(exc)
            hint = "see docs/templates.md for the values a template gets"
        case OSError(strerror=reason, filename=filename):  # cannot be read (permissions)
            problem, path, line = f"cannot read the template: {reason}", filename or path, None
            hint = "check the permissions of templates/"
        case RecursionError():
            problem, line = "the template includes or extends itself, without end", None
            hint = "remove the {% include %} or {% extends %} that leads back to this template"
        case _:
            problem = f"template failed: {type(exc).__name__}: {exc}"
            line, hint = _template_line(exc), None
    return TemplateError(problem, path=path, line=line, hint=hint or _FIX_OR_DELETE)


def _template_line(exc: BaseException) -> int | None:
    """The template line a render-time error came from, found in the traceback."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.endswith((".j2", ".html", ".mjml", ".txt")):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def read_text(name: str, workspace_templates: Path | None) -> str:
    path = template_path(name, workspace_templates)
    return _read_cached(path, path.stat().st_mtime_ns)


@cache
def _read_cached(path: Path, mtime_ns: int) -> str:
    """File text, re-read only when the file changes (preview re-renders on every save)."""
    del mtime_ns  # part of the cache key only
    return path.read_text(encoding="utf-8")


def strings(lang: str, workspace_templates: Path | None) -> dict[str, Any]:
    """The template words for `lang`; a missing one comes from the built-in table of the same
    language first (postcli.render.strings)."""
    return strings_module.load(lang, workspace_templates)
