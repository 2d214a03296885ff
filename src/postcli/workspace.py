"""Scaffolding: a new workspace (`postcli init`) and a new issue file (`postcli new`)."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from postcli.config import CONFIG_NAME, Settings
from postcli.errors import InputError, UsageError

GITIGNORE = """\
# postcli: rendered output, what the file provider "sent", the send ledger, secrets
build/
outbox/
.postcli/
.env
"""

CONFIG_TEMPLATE = """\
# postcli settings; every key is described in the postcli docs (configuration).
[newsletter]
name = "{name}"
from = "{name} <hello@example.com>"
reply_to = "hello@example.com"
url = "https://example.com"
lang = "{lang}"
timezone = "{timezone}"
unsubscribe_url = "https://example.com/unsubscribe?email={{email}}"
assets_url = "https://example.com/newsletter/"

[premium]
upgrade_url = "https://example.com/upgrade"
heading = "Get the whole issue"
text = "Premium readers get every analysis in full."
benefits = ["The full weekly issue", "Deep dives every month"]
button = "Upgrade"

[provider]
name = "file"   # writes .eml files to outbox/; see the docs for smtp and HTTP providers
"""


def _refuse_what_is_in_the_way(folder: Path) -> None:
    """Before writing anything: a file where init makes a folder (or the reverse) is an error,
    so init never leaves a half-made workspace."""
    in_the_way = [folder] if folder.exists() and not folder.is_dir() else []
    in_the_way += [
        folder / sub
        for sub in ("issues", "templates", "assets")
        if (folder / sub).exists() and not (folder / sub).is_dir()
    ]
    if (folder / ".gitignore").is_dir():
        in_the_way.append(folder / ".gitignore")
    if in_the_way:
        what = in_the_way[0]
        kind = "a folder" if what.is_dir() else "a file"
        raise InputError(
            f"{kind} is in the way: init needs {'a file' if what.is_dir() else 'a folder'} here",
            path=what,
            hint="move it away, or run postcli init in another folder; nothing was written",
        )


def init_workspace(
    folder: Path, *, name: str = "My Newsletter", lang: str = "en", timezone: str = "UTC"
) -> list[Path]:
    """Create postcli.toml, issues/, templates/, assets/ and .gitignore; never overwrite."""
    config = folder / CONFIG_NAME
    if config.exists():
        raise InputError(
            f"{CONFIG_NAME} already exists",
            path=config,
            hint="this folder is a workspace already; edit the file instead",
        )
    _refuse_what_is_in_the_way(folder)
    folder.mkdir(parents=True, exist_ok=True)
    created = [config]
    config.write_text(
        CONFIG_TEMPLATE.format(name=name.replace('"', '\\"'), lang=lang, timezone=timezone),
        encoding="utf-8",
    )
    for sub in ("issues", "templates", "assets"):
        (folder / sub).mkdir(exist_ok=True)
        keep = folder / sub / ".gitkeep"
        if not any((folder / sub).iterdir()):
            keep.touch()
        created.append(folder / sub)
    gitignore = folder / ".gitignore"
    if gitignore.exists():
        existing = gitignore.read_text(encoding="utf-8")
        missing = [
            line
            for line in GITIGNORE.splitlines()
            if line and not line.startswith("#") and line not in existing
        ]
        if missing:
            gitignore.write_text(
                existing.rstrip("\n") + "\n" + "\n".join(missing) + "\n", encoding="utf-8"
            )
    else:
        gitignore.write_text(GITIGNORE, encoding="utf-8")
    created.append(gitignore)
    return created


def slugify(title: str) -> str:
    """The title's words, lower-cased and joined by '-': letters of any script (Hangul stays, so
    a mixed title like '중국 AI의 확장' keeps its meaning) and digits; punctuation goes."""
    normal = unicodedata.normalize("NFKC", title).lower()
    words = re.findall(r"[^\W_]+", normal)
    slug = "-".join(words)[:60].strip("-")
    return slug or "issue"


@dataclass(frozen=True)
class NewIssue:
    """What `postcli new` asks for: the title, and the options that default from it or today."""

    title: str
    day: date | None = None  # --date; default: send_at's day, else today
    send_at: str | None = None  # --send-at, as written
    slug: str | None = None  # --slug; default: from the title


def new_issue(settings: Settings, request: NewIssue) -> Path:
    """Write issues/DATE-slug.md from the issue template; refuse to overwrite."""
    from postcli.render import templates

    title, day, send_at, slug = request.title, request.day, request.send_at, request.slug
    if not title.strip():
        raise UsageError("the title is empty", hint="postcli new 'Title of the issue'")
    if send_at is not None:
        try:
            when = datetime.fromisoformat(send_at)
        except ValueError:
            raise UsageError(
                f"--send-at '{send_at}' is not a date and time",
                hint="write it like '2026-12-01 09:00' or '2026-12-01T09:00+09:00'",
            ) from None
        day = day or when.date()
        send_at = when.isoformat(sep=" ", timespec="minutes")
    day = day or datetime.now(settings.newsletter.tz).date()
    issue_slug = slugify(slug or title)
    path = settings.issues_dir / f"{day.isoformat()}-{issue_slug}.md"
    if path.exists():
        raise InputError(
            "the issue file exists already",
            path=path,
            hint="pick another title or --date, or edit that file",
        )
    text = templates.render(
        "issue.md.j2",
        {
            "title": title,
            "title_yaml": json.dumps(title, ensure_ascii=False),
            "send_at": json.dumps(send_at) if send_at else None,
        },
        settings.templates_dir,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("x", encoding="utf-8") as handle:
        handle.write(text)
    return path
