"""Issue file -> parsed `Issue`: front matter checked against its schema, and the body's
Markdown as block tokens, with the paywall marker and the `::: premium` / `::: free` blocks
located and validated.

Owns the issue format (docs/issue-format.md) and every message about a malformed issue (each names
the file and 1-based line). Produces no HTML: the variant filter and rendering live in
`postcli.render`. The inline parse is left for later on purpose, so that the free variant's
inline content is parsed only from blocks it keeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.rules_core import block as block_rule
from markdown_it.rules_core import normalize as normalize_rule
from markdown_it.rules_core.state_core import StateCore
from markdown_it.token import Token

from postcli.config import UPGRADE_KEYS, is_script_url
from postcli.errors import IssueError

PAYWALL_RE = re.compile(r"^<!--\s*(paywall|members-only)\s*-->$", re.IGNORECASE)
PAYWALL_ANYWHERE_RE = re.compile(r"<!--\s*(paywall|members-only)\s*-->", re.IGNORECASE)
BLOCK_NAMES = ("premium", "free")
_FENCE_RE = re.compile(r"^\s{0,3}(:{3,})\s*(\S*)")
_ID_DATE_RE = re.compile(r"^(\d{4}-\d{2}-\d{2})-")


class Variant(StrEnum):
    FREE = "free"
    PREMIUM = "premium"


class Audience(StrEnum):
    ALL = "all"
    FREE = "free"
    PREMIUM = "premium"

    @property
    def variants(self) -> tuple[Variant, ...]:
        if self is Audience.ALL:
            return (Variant.FREE, Variant.PREMIUM)
        return (Variant(self.value),)


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


@dataclass(frozen=True)
class FrontMatter:
    title: str
    subtitle: str | None = None
    subject: str | None = None
    preheader: str | None = None
    send_at: datetime | None = None
    audience: Audience = Audience.ALL
    tags: tuple[str, ...] = ()
    upgrade: dict[str, Any] = field(default_factory=dict)
    draft: bool = False
    lines: dict[str, int] = field(default_factory=dict)  # key -> file line, for messages


@dataclass(frozen=True)
class Block:
    """A top-level `::: premium` or `::: free` block: its kind and its token range."""

    kind: Variant
    start: int  # index of the open token
    end: int  # index of the close token
    line: int  # file line of the opening fence


@dataclass
class Issue:
    id: str
    path: Path
    front: FrontMatter
    source: str  # the Markdown body, normalised
    body_line: int  # file line of the body's first line
    tokens: list[Token]  # block tokens; inline children not parsed yet
    env: dict[str, Any]  # references and footnote labels found by the block parse
    paywall: int | None  # token index of the paywall marker
    blocks: list[Block]

    @property
    def date(self) -> date | None:
        match = _ID_DATE_RE.match(self.id)
        if match:
            try:
                return date.fromisoformat(match.group(1))
            except ValueError:
                return None
        return self.front.send_at.date() if self.front.send_at else None

    @property
    def paywall_line(self) -> int | None:
        return None if self.paywall is None else self.line_of(self.tokens[self.paywall])

    @property
    def has_premium_only(self) -> bool:
        """True when the free variant loses something: the upgrade block goes where it does."""
        return self.paywall is not None or any(b.kind is Variant.PREMIUM for b in self.blocks)

    def line_of(self, token: Token) -> int:
        return self.body_line + (token.map[0] if token.map else 0)

    def line_of_body_line(self, body_index: int) -> int:
        return self.body_line + body_index


class _SchemeLinkify:
    """Bare URLs become links only when they carry a scheme (https://, mailto:).

    Fuzzy matching would turn words like "Node.js" into links, and its pre-test regex is the
    costliest step of a render; a scheme check in plain Python is a fraction of that.
    """

    _pretest = re.compile(r"[a-z][a-z0-9+.-]*:", re.IGNORECASE)

    def __init__(self) -> None:
        from linkify_it import LinkifyIt

        self._linkify = LinkifyIt(options={"fuzzy_link": False, "fuzzy_email": False})

    def pretest(self, text: str) -> bool:
        return ("//" in text or "mailto:" in text) and bool(self._pretest.search(text))

    def test(self, text: str) -> bool:
        # markdown-it pre-tests a whole paragraph, then tests each text run in it; in a
        # paragraph holding one [link](https://...) most runs have no URL at all, and the cheap
        # check spares them the full regex (a third of a long issue's inline parse).
        return self.pretest(text) and bool(self._linkify.test(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._linkify, name)


@cache
def markdown() -> MarkdownIt:
    """The one Markdown parser: CommonMark plus tables, strikethrough, autolinks, footnotes."""
    from mdit_py_plugins.container import container_plugin
    from mdit_py_plugins.footnote import footnote_plugin

    md = MarkdownIt("commonmark", {"html": True, "linkify": True, "xhtmlOut": True})
    md.enable(["table", "strikethrough", "linkify"])
    md.linkify = _SchemeLinkify()
    md.use(footnote_plugin)
    for name in BLOCK_NAMES:
        md.use(container_plugin, name)
    return md


def resolve_issue_path(arg: str, issues_dir: Path) -> Path:
    """ISSUE is a path or an issue id; the message lists near names when neither exists."""
    candidate = Path(arg)
    if candidate.suffix == ".md" and candidate.is_file():
        return candidate
    by_id = issues_dir / f"{arg.removesuffix('.md')}.md"
    if by_id.is_file():
        return by_id
    if candidate.is_file():
        return candidate
    known = sorted(p.stem for p in issues_dir.glob("*.md")) if issues_dir.is_dir() else []
    near = [k for k in known if arg.removesuffix(".md").split("/")[-1] in k][:5] or known[-5:]
    hint = f"known issues: {', '.join(near)}" if near else f"no issues in {issues_dir} yet"
    raise IssueError(f"no issue '{arg}' (neither a file nor an id)", path=arg, hint=hint)


def read_text(path: Path) -> str:
    """The file as text; a non-UTF-8 byte is reported with its line."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise IssueError("file not found", path=path) from exc
    except OSError as exc:
        raise IssueError(f"cannot read the file: {exc.strerror}", path=path) from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise IssueError(
            f"not UTF-8 text (byte 0x{data[exc.start]:02x})",
            path=path,
            line=line,
            hint="save the file as UTF-8",
        ) from exc
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def load_issue(path: Path) -> Issue:
    """Read and parse an issue file; raises IssueError naming file and line."""
    return parse_issue(read_text(path), path)


def parse_issue(text: str, path: Path) -> Issue:
    if not path.stem.strip("."):  # '...md': build/<id>/ and outbox/<id>/ would leave their folder
        raise IssueError(
            f"'{path.name}' gives no issue id", path=path, hint="name the file YYYY-MM-DD-slug.md"
        )
    front_text, body, body_line = _split_front_matter(text, path)
    front = _parse_front_matter(front_text, path)
    md = markdown()
    env: dict[str, Any] = {}
    state = StateCore(body, md, env)
    normalize_rule(state)
    block_rule(state)
    issue = Issue(
        id=path.stem,
        path=path,
        front=front,
        source=body,
        body_line=body_line,
        tokens=state.tokens,
        env=env,
        paywall=None,
        blocks=[],
    )
    _locate_structure(issue)
    return issue


def _split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
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


def _parse_front_matter(text: str, path: Path) -> FrontMatter:
    def fail(message: str, line: int, hint: str | None = None) -> IssueError:
        return IssueError(message, path=path, line=line, hint=hint)

    loader = _YamlLoader(text)
    try:
        node = loader.get_single_node()
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
        data, node = {}, None
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode | None):
        raise fail("front matter must be a mapping of 'key: value' lines", 2)

    lines: dict[str, int] = {}
    if node is not None:
        for key_node, _ in node.value:
            lines[str(key_node.value)] = key_node.start_mark.line + 2

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

    audience_raw = data.get("audience", "all")
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
    if not isinstance(draft, bool):
        raise fail("'draft' must be true or false", lines.get("draft", 2))

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


# libyaml's loader where PyYAML has it (it keeps line marks too), else the pure-Python one.
_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _upgrade_hint() -> str:
    return f"keys under 'upgrade': {', '.join(UPGRADE_KEYS)}"


def _parse_send_at(value: Any, line: int, path: Path) -> datetime | None:
    """send_at as written: aware when it has an offset, naive (newsletter time zone) if not."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        raise IssueError(
            f"send_at '{value}' has no time of day",
            path=path,
            line=line,
            hint="write it like '2026-12-01 09:00' or '2026-12-01T09:00+09:00'",
        )
    try:
        return datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise IssueError(
            f"send_at '{value}' is not a date and time",
            path=path,
            line=line,
            hint="write it like '2026-12-01 09:00' or '2026-12-01T09:00+09:00'",
        ) from None


def _locate_structure(issue: Issue) -> None:
    """Find the paywall marker and the blocks; reject misplaced or malformed ones."""
    tokens, path = issue.tokens, issue.path
    body_lines = issue.source.split("\n")
    open_block: tuple[Variant, int, int] | None = None

    for index, token in enumerate(tokens):
        line = issue.line_of(token)
        if token.type.startswith("container_") and token.type.endswith("_open"):
            kind = Variant(token.type.removeprefix("container_").removesuffix("_open"))
            if token.level != 0 or open_block is not None:
                raise IssueError(
                    f"'::: {kind}' block inside another block",
                    path=path,
                    line=line,
                    hint="::: premium and ::: free blocks go at the top level and do not nest",
                )
            assert token.map is not None
            # The plugin closes an unclosed block at the end of the document; map[1] is the
            # line of the closing fence, if there is one.
            closing = body_lines[token.map[1]] if token.map[1] < len(body_lines) else ""
            if not re.fullmatch(r"\s{0,3}:{3,}\s*", closing):
                raise IssueError(
                    f"'::: {kind}' block is never closed",
                    path=path,
                    line=line,
                    hint="end the block with a line of three colons ':::'",
                )
            open_block = (kind, index, line)
        elif token.type.startswith("container_") and token.type.endswith("_close"):
            if open_block is not None and token.level == 0:
                kind, start, start_line = open_block
                issue.blocks.append(Block(kind, start, index, start_line))
                open_block = None
        elif token.type == "html_block" and PAYWALL_ANYWHERE_RE.search(token.content):
            if not PAYWALL_RE.match(token.content.strip()):
                raise IssueError(
                    "the paywall marker must stand on a line of its own",
                    path=path,
                    line=line,
                    hint="put '<!-- paywall -->' alone on its line, with blank lines around it",
                )
            if token.level != 0:
                where = "a ::: block" if open_block is not None else "a list or quote"
                raise IssueError(
                    f"paywall marker inside {where}",
                    path=path,
                    line=line,
                    hint="the paywall marker goes at the top level, outside any block",
                )
            if issue.paywall is not None:
                raise IssueError(
                    "a second paywall marker",
                    path=path,
                    line=line,
                    hint=f"an issue has one paywall; the first is on line {issue.paywall_line}",
                )
            issue.paywall = index
        elif token.type == "inline":
            _check_inline_structure(issue, token, line)
        if token.type in ("html_block", "code_block", "fence"):
            _check_swallowed_structure(issue, token, line, body_lines)


_CODE_SPAN_RE = re.compile(r"(`+).+?\1")
_STRUCTURE_RE = re.compile(
    r"^\s*(:{3,}\s*(premium|free)?\s*|<!--\s*(paywall|members-only)\s*-->)$", re.IGNORECASE
)


def _check_swallowed_structure(
    issue: Issue, token: Token, line: int, body_lines: list[str]
) -> None:
    """A paywall marker or `:::` fence that Markdown reads as code or raw HTML would reach free
    readers as literal text, and everything after it with it: refuse the issue instead.

    A closed fenced code block may show the syntax; an unclosed one runs to the end of the
    issue, which is never what its author meant."""
    assert token.map is not None
    if token.type == "fence":
        last = body_lines[token.map[1] - 1] if token.map[1] - 1 < len(body_lines) else ""
        fence_char = token.markup[:1]
        closed = token.map[1] - token.map[0] >= 2 and re.fullmatch(
            rf"[\s>]*{re.escape(fence_char)}{{{len(token.markup)},}}\s*", last
        )
        if closed:
            return
    for offset, text in enumerate(token.content.split("\n")):
        if not _STRUCTURE_RE.match(text):
            continue
        if token.type == "html_block" and PAYWALL_ANYWHERE_RE.search(text):
            continue  # the paywall itself, or a marker sharing its HTML block (reported above)
        where = issue.line_of_body_line(_content_line(token, offset, body_lines))
        if token.type == "fence":
            message = f"the code block opened on line {line} is never closed"
            hint = f"it swallows line {where}; close it with a line of {token.markup}"
            where = line
        elif token.type == "code_block":
            message = "a paywall marker or ':::' line indented 4 spaces or more is code"
            hint = "write it at the start of the line"
        else:
            message = f"a paywall marker or ':::' line inside the HTML block of line {line}"
            hint = "end the HTML block first, and leave a blank line before the marker"
        raise IssueError(message, path=issue.path, line=where, hint=hint)


def _content_line(token: Token, offset: int, body_lines: list[str]) -> int:
    """The body line of the `offset`-th content line of a code or HTML block."""
    assert token.map is not None
    first = token.map[0] + (1 if token.type == "fence" else 0)
    return min(first + offset, max(len(body_lines) - 1, 0))


def _check_inline_structure(issue: Issue, token: Token, line: int) -> None:
    for offset, text in enumerate(token.content.split("\n")):
        if PAYWALL_ANYWHERE_RE.search(_CODE_SPAN_RE.sub("", text)):  # `<!-- paywall -->` is fine
            raise IssueError(
                "the paywall marker must stand on a line of its own",
                path=issue.path,
                line=line + offset,
                hint="put '<!-- paywall -->' alone on its line, with blank lines around it",
            )
        fence = _FENCE_RE.match(text)
        if fence:
            name = fence.group(2)
            if not name:
                message, hint = "a ':::' line closes no block", "remove it, or open a block above"
            else:
                message = f"unknown block '::: {name}'"
                hint = "blocks are '::: premium' and '::: free'"
            raise IssueError(message, path=issue.path, line=line + offset, hint=hint)


def iter_issue_files(issues_dir: Path) -> Iterator[Path]:
    if issues_dir.is_dir():
        yield from sorted(issues_dir.glob("*.md"))
