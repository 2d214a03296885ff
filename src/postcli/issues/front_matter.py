"""Front matter: the YAML between the `---` lines, checked against its schema.

Every message names the file and the 1-based line of the key at fault.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from postcli import guards
from postcli.config import UPGRADE_KEYS, is_script_url
from postcli.errors import IssueError
from postcli.issues import plain_yaml
from postcli.issues.types import FrontMatter
from postcli.model import Audience

FRONT_MATTER_KEYS = (
    "title",
    "subtitle",
    "subject",
    "preheader",
    "send_at",
    "audience",
    "tags",
    "upgrade",
    "draft",
)

# What each key's YAML node must be, checked before the document is constructed.
FRONT_MATTER_SHAPES: dict[str, str | dict[str, str]] = {
    **dict.fromkeys(("title", "subtitle", "subject", "preheader", "send_at", "audience"), "text"),
    "tags": "a list of values",
    "upgrade": {
        **dict.fromkeys(("upgrade_url", "heading", "text", "button"), "text"),
        "benefits": "a list of values",
    },
}


def split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise IssueError(
            "no front matter: the file must start with a '---' line",
            path=path,
            line=1,
            hint="add front matter with at least a title, between '---' lines",
        )
    for index in range(1, len(lines)):
        if lines[index].strip() in ("---", "..."):
            front = "\n".join(lines[1:index])
            body = "\n".join(lines[index + 1 :])
            return front, body, index + 2
    raise IssueError(
        "front matter is not closed",
        path=path,
        line=1,
        hint="end the front matter with a line of three dashes '---'",
    )


def parse_front_matter(text: str, path: Path) -> FrontMatter:
    def fail(message: str, line: int, hint: str | None = None) -> IssueError:
        return IssueError(message, path=path, line=line, hint=hint)

    quick = plain_yaml.read(text, FRONT_MATTER_KEYS, FRONT_MATTER_SHAPES)
    data, lines = quick if quick is not None else _read_yaml(text, path)

    for key in data:
        if key not in FRONT_MATTER_KEYS:
            raise fail(
                f"unknown front matter key '{key}'",
                lines.get(str(key), 2),
                f"known keys: {', '.join(FRONT_MATTER_KEYS)}",
            )

    def text_value(key: str, *, required: bool = False) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                raise fail(
                    f"front matter has no '{key}'", 2, f"add '{key}: ...' to the front matter"
                )
            return None
        if isinstance(value, bool | dict | list):
            raise fail(f"'{key}' must be text", lines[key])
        value = str(value).strip()
        if required and not value:
            raise fail(f"'{key}' is empty", lines[key], f"give the issue a {key}")
        return value

    title = text_value("title", required=True)
    assert title is not None

    audience_raw = data.get("audience", Audience.ALL)
    try:
        audience = Audience(str(audience_raw))
    except ValueError:
        raise fail(
            f"audience '{audience_raw}' is not one of all, free, premium",
            lines.get("audience", 2),
        ) from None

    tags_raw = data.get("tags") or []
    if isinstance(tags_raw, str):
        tags_raw = [tags_raw]
    if not isinstance(tags_raw, list) or not all(isinstance(t, str | int) for t in tags_raw):
        raise fail("'tags' must be a list like [ai, china]", lines.get("tags", 2))

    upgrade = data.get("upgrade") or {}
    if not isinstance(upgrade, dict):
        raise fail("'upgrade' must be a mapping", lines.get("upgrade", 2), _upgrade_hint())
    for key, value in upgrade.items():
        if key not in UPGRADE_KEYS:
            raise fail(
                f"unknown key '{key}' under 'upgrade'", lines.get("upgrade", 2), _upgrade_hint()
            )
        if not isinstance(value, UPGRADE_KEYS[key]):
            raise fail(
                f"'upgrade.{key}' must be a {UPGRADE_KEYS[key][0].__name__}", lines["upgrade"]
            )
        if key == "upgrade_url" and is_script_url(value):
            raise fail(
                f"'upgrade.upgrade_url' is a script URL: '{value}'",
                lines["upgrade"],
                "give the web page where readers upgrade, https://...",
            )

    draft = data.get("draft", False)
    if draft is None:
        draft = False
    if not isinstance(draft, bool):
        raise fail(
            f"'draft' must be true or false, not '{draft}'",
            lines.get("draft", 2),
            "delete the line when the issue is ready to send",
        )

    return FrontMatter(
        title=title,
        draft=draft,
        subtitle=text_value("subtitle"),
        subject=text_value("subject"),
        preheader=text_value("preheader"),
        send_at=_parse_send_at(data.get("send_at"), lines.get("send_at", 2), path),
        audience=audience,
        tags=tuple(str(t) for t in tags_raw),
        upgrade=dict(upgrade),
        lines=lines,
    )


def _read_yaml(text: str, path: Path) -> tuple[dict[Any, Any], dict[str, int]]:
    """Front matter read by PyYAML: (values, 1-based file line of each key)."""
    import yaml

    def fail(message: str, line: int) -> IssueError:
        return IssueError(message, path=path, line=line)

    # libyaml's loader where PyYAML has it (it keeps line marks too), else the pure-Python one.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        # Shapes, sizes and aliases are checked on the nodes, before anything is expanded.
        guards.check_yaml(node, path, FRONT_MATTER_SHAPES)
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and any(
            what in (exc.context or "") for what in ("quoted scalar", "flow")
        ):
            # An unclosed quote or bracket: the parser gives up lines later; the line to fix
            # is the one that opened it.
            mark = exc.context_mark
        line = mark.line + 2 if mark else 2
        problem = exc.problem or "invalid YAML"
        raise fail(f"front matter is not valid YAML: {problem}", line) from exc
    except yaml.YAMLError as exc:
        raise fail(f"front matter is not valid YAML: {exc}", 2) from exc
    finally:
        loader.dispose()
    if data is None:
        return {}, {}
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise fail("front matter must be a mapping of 'key: value' lines", 2)
    lines = {str(key_node.value): key_node.start_mark.line + 2 for key_node, _ in node.value}
    return data, lines


def _upgrade_hint() -> str:
    return f"keys under 'upgrade': {', '.join(UPGRADE_KEYS)}"


def _parse_send_at(value: Any, line: int, path: Path) -> datetime | None:
    """send_at as written: aware when it has an offset, naive (newsletter time zone) if not."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return _in_range(value, line, path)
    if isinstance(value, date):
        raise IssueError(
            f"send_at '{value}' has no time of day",
            path=path,
            line=line,
            hint="write it like '2026-12-01 09:00' or '2026-12-01T09:00+09:00'",
        )
    try:
        return _in_range(datetime.fromisoformat(str(value).strip()), line, path)
    except ValueError:
        raise IssueError(
            f"send_at '{value}' is not a date and time",
            path=path,
            line=line,
            hint="write it like '2026-12-01 09:00' or '2026-12-01T09:00+09:00'",
        ) from None


def _in_range(when: datetime, line: int, path: Path) -> datetime:
    """A send time every later step (time zones, schedules, status) can compute with."""
    problem = guards.send_time_problem(when)
    if problem is not None:
        raise IssueError(f"send_at {problem}", path=path, line=line, hint="fix the date")
    return when
