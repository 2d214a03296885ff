"""The preview page: its HTML shell, style and script, read from `preview/static/`.

The files ship as package data and are read through `importlib.resources`, so the preview works
from a wheel, a zip or an editable install alike. The page holds no data of its own: it opens
`/events`, and every state the server pushes redraws the inbox rows, sizes, findings and error
banner, and (when the build changed) rewrites each email frame in place, keeping its scroll
position. Everything from the issue reaches the page's own DOM through textContent, never as
markup; only the email frames get HTML.
"""

from __future__ import annotations

from functools import cache
from html import escape
from importlib import resources

STATIC_FILES = ("index.html", "preview.css", "preview.js")


@cache
def static_text(name: str) -> str:
    """One file of `preview/static/`, as text (read once per process)."""
    if name not in STATIC_FILES:
        raise KeyError(name)
    return resources.files("postcli.preview").joinpath("static", name).read_text(encoding="utf-8")


def shell() -> str:
    """The page's HTML with the `{{title}}` slot still in it."""
    return static_text("index.html")


def css() -> str:
    return static_text("preview.css")


def js() -> str:
    return static_text("preview.js")


def page_html(issue_id: str) -> str:
    return shell().replace("{{title}}", escape(f"Preview · {issue_id}"))
