"""The only Jinja2 user: loads templates (the workspace's `templates/` first, then the built-in
ones shipped in the package) and turns template errors into TemplateError with file and line.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from postcli import strings as strings_module
from postcli.errors import TemplateError

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
    )
    env.filters.update(strings_module.FILTERS)  # fill, josa: the words and their particles
    return env


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
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"template syntax error: {exc.message}",
            path=exc.filename or template_path(name, workspace_templates),
            line=exc.lineno,
            hint="fix the template, or delete it to use the built-in one",
        ) from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"template '{exc.name}' not found", path=workspace_templates) from exc
    except jinja2.UndefinedError as exc:
        raise TemplateError(
            f"template uses an unknown value: {exc.message}",
            path=template_path(name, workspace_templates),
            line=_template_line(exc),
            hint="see docs/templates.md for the values a template gets",
        ) from exc
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise TemplateError(
            f"template failed: {exc}",
            path=template_path(name, workspace_templates),
            line=_template_line(exc),
        ) from exc


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
    language first (postcli.strings)."""
    return strings_module.load(lang, workspace_templates)
