"""Limits on input, checked before it reaches code that cannot take it.

The CSS inliner and the MJML compiler are native code: a document nested ten thousand elements
deep crashes the process instead of raising. Markdown-it's tree and postcli's text renderer
recurse once per nesting level. PyYAML expands anchors and aliases into every place they are
used, so 500 bytes can stand for gigabytes. Python refuses to turn a number of more than 4,300
digits into text. And `datetime` cannot hold a send time a day away from year 1 or 9999 once a
time zone is applied. Each of these is refused here with the file, the line and what to do,
where the input is first read, so every command (build, check, preview, send, send --due) says
the same thing and none of them crashes.

This module knows nothing of issues or settings; the issue and config parsers call it.
"""

from __future__ import annotations

import errno
import itertools
import os
import re
import stat
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from postcli.controls import HINT as CONTROL_HINT
from postcli.controls import first_control
from postcli.errors import IssueError, PostcliError

MAX_ISSUE_BYTES = 2_000_000  # an issue file; Gmail clips an email at 102 kB of HTML
MAX_HTML_DEPTH = 256  # elements inside elements, in raw HTML and in the rendered body
MAX_MARKDOWN_DEPTH = 64  # Markdown constructs inside each other (emphasis, links, lists...)
MAX_YAML_NODES = 10_000  # front matter values, counted with every alias expanded
MAX_YAML_DEPTH = 32
MAX_INT_DIGITS = 4_000  # below Python's 4,300-digit limit for int <-> str
# send_at stays far from datetime's ends (years 1 and 9999): time zones move it by up to 26
# hours, and the schedule adds and subtracts days.
EARLIEST = datetime(1970, 1, 1)
LATEST = datetime(9000, 12, 31, 23, 59, 59)

_VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param"}
    | {"source", "track", "wbr"}
)
# A tag's attributes end at the next < or >, so each match scans at most to the next tag: linear
# in the length of the input, however many tags are left open.
_TAG_RE = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9:-]*)([^<>]*)>")

# The same tags as _TAG_RE, read in one pass that captures "/" for each closing tag, "<" for
# each tag that opens an element (neither void nor self-closed), and nothing for the rest: the
# nonzero depth steps (a zero step changes neither the lowest nor the highest depth), without a
# Python step per tag. The last alternatives consume everything else
# (text, and a "<" that starts no tag) exactly where _TAG_RE's search passes over it.
_STEP_RE = re.compile(
    r"<(/)[A-Za-z][A-Za-z0-9:-]*[^<>]*>"
    r"|<[A-Za-z][A-Za-z0-9:-]*[^<>]*/>"
    r"|<(?ai:" + "|".join(sorted(_VOID_ELEMENTS)) + r")(?![A-Za-z0-9:-])[^<>]*>"
    r"|(<)[A-Za-z][A-Za-z0-9:-]*[^<>]*>"
    r"|[^<]++|<"
)
_STEP = {"/": -1, "<": 1}

# --- files ------------------------------------------------------------------------------------


def read_regular_file(path: Path, limit: int, error: type[PostcliError] = IssueError) -> bytes:
    """The bytes of `path`, which must be a regular file (after symlinks) of at most `limit`
    bytes. A FIFO, a device (a symlink to /dev/zero), a folder or a socket is refused without
    reading it: opening is non-blocking, so a FIFO with no writer cannot hang the run."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError as exc:
        raise error("file not found", path=path) from exc
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO without a writer, on some systems
            raise error("not a regular file", path=path, hint=_REGULAR_HINT) from exc
        raise error(f"cannot read the file: {exc.strerror}", path=path, hint=_hint(exc)) from exc
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise error(
                f"not a regular file ({_kind(info.st_mode)})", path=path, hint=_REGULAR_HINT
            )
        if info.st_size > limit:
            raise error(
                f"the file is {info.st_size:,} bytes, over postcli's limit of {limit:,}",
                path=path,
                hint="split it, or move large content to linked pages or images",
            )
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(descriptor, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while being read
            raise error(f"the file is over postcli's limit of {limit:,} bytes", path=path)
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"cannot read the file: {exc.strerror}", path=path, hint=_hint(exc)) from exc
    finally:
        os.close(descriptor)


def is_regular_file(path: Path) -> bool:
    """True when `path` is, after symlinks, a regular file: what `read_regular_file` reads."""
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


_REGULAR_HINT = "issues must be ordinary files; remove it or move it out of issues/"


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a file"


def _hint(exc: OSError) -> str | None:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "check the file's permissions"
    return None


# --- times ------------------------------------------------------------------------------------


def send_time_problem(when: datetime) -> str | None:
    """Why `when` cannot be a send time (too near datetime's ends), or None."""
    wall = when.replace(tzinfo=None)
    offset = when.utcoffset() if when.tzinfo is not None else None
    try:
        utc = wall - offset if offset is not None else wall
    except OverflowError:
        utc = None
    if utc is None or not EARLIEST <= wall <= LATEST or not EARLIEST <= utc <= LATEST:
        return (
            f"{when.isoformat(sep=' ')} is out of range: a send time must be between "
            f"{EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}"
        )
    return None


# --- nesting ----------------------------------------------------------------------------------


def html_depth_exceeded(html: str, limit: int = MAX_HTML_DEPTH) -> int | None:
    """The offset in `html` of the first tag that opens more than `limit` elements deep, or
    None. Closing tags close one level each (as a browser would for well-formed input); void
    and self-closed elements do not nest."""
    if html.count("<") <= limit:
        return None
    # Quickly, for the common case: one step per tag, summed in C. Where the sum never drops
    # below zero no stray closing tag was clamped, so it is the depth the loop below counts.
    # "<" per tag that opens, "/" per closing tag: the groups of each match joined, in C (a
    # substitution template would call back into Python for every match)
    steps = "".join(map("".join, _STEP_RE.findall(html)))
    depths = list(itertools.accumulate(map(_STEP.__getitem__, steps)))
    if not depths or (min(depths) >= 0 and max(depths) <= limit):
        return None
    depth = 0
    for match in _TAG_RE.finditer(html):
        closing, name = match.group(1), match.group(2).lower()
        self_closed = match.group(3).endswith("/")
        if closing:
            depth = max(0, depth - 1)
        elif not self_closed and name not in _VOID_ELEMENTS:
            depth += 1
            if depth > limit:
                return match.start()
    return None


def check_source_html(source: str, path: Path, first_line: int) -> None:
    """Raw HTML in an issue's body nested deeper than MAX_HTML_DEPTH: refused at its line."""
    offset = html_depth_exceeded(source)
    if offset is not None:
        raise IssueError(
            f"HTML nested more than {MAX_HTML_DEPTH} elements deep",
            path=path,
            line=first_line + source.count("\n", 0, offset),
            hint="no email needs this much nesting; close the elements you open",
        )


def check_rendered_html(html: str, path: Path | None) -> None:
    """The last guard before the native inliner and compiler: refuse too deep a document."""
    if html_depth_exceeded(html, 2 * MAX_HTML_DEPTH) is not None:
        raise IssueError(
            f"the rendered HTML is nested more than {2 * MAX_HTML_DEPTH} elements deep",
            path=path,
            hint="close the HTML elements you open, and nest Markdown less",
        )
    found = first_control(html)  # from a character reference, like &#12;
    if found is not None:
        raise IssueError(f"the rendered HTML holds {found.message}", path=path, hint=CONTROL_HINT)


def check_token_depth(tokens: list[Any], line_of: Callable[[Any], int], path: Path) -> None:
    """Markdown constructs nested more than MAX_MARKDOWN_DEPTH deep (emphasis in emphasis in
    ..., links in links): refused at the line of the block that holds them, before anything
    walks the token tree recursively."""
    depth = 0
    for token in tokens:
        depth += token.nesting
        if depth > MAX_MARKDOWN_DEPTH:
            raise _too_deep(line_of(token), path)
        children = token.children
        if not children or depth + len(children) <= MAX_MARKDOWN_DEPTH:
            continue  # each child opens at most one level: these cannot go too deep
        inner = depth
        for child in children:
            inner += child.nesting
            if inner > MAX_MARKDOWN_DEPTH:
                raise _too_deep(line_of(token), path)


def _too_deep(line: int, path: Path) -> IssueError:
    return IssueError(
        f"Markdown nested more than {MAX_MARKDOWN_DEPTH} levels deep",
        path=path,
        line=line,
        hint="emphasis, links and lists this deep are a mistake; close what you open",
    )


# --- YAML -------------------------------------------------------------------------------------

SCALAR = "text"
LIST = "a list of values"
MAPPING = "a mapping"


def check_yaml(
    node: Any,
    path: Path,
    shapes: Mapping[str, str | Mapping[str, str]],
    *,
    line_offset: int = 2,
) -> None:
    """Check front matter as PyYAML composed it, before anything constructs it.

    Every top-level key's value must have its shape (text, a list of text, or a mapping whose
    keys have shapes of their own); the document, counted with every alias expanded, must stay
    under MAX_YAML_NODES nodes and MAX_YAML_DEPTH levels; numbers must have at most
    MAX_INT_DIGITS digits. Unknown keys are left to the caller, which names the known ones.
    """
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return
    sizes: dict[int, int] = {}

    def line(at: Any) -> int:
        return int(at.start_mark.line) + line_offset

    def fail(at: Any, message: str, hint: str | None = None) -> IssueError:
        return IssueError(message, path=path, line=line(at), hint=hint)

    def size(at: Any, depth: int) -> int:
        """Nodes under `at`, aliases expanded (memoised: each node is walked once)."""
        if depth > MAX_YAML_DEPTH:
            raise fail(at, f"front matter nested more than {MAX_YAML_DEPTH} levels deep")
        known = sizes.get(id(at))
        if known is not None:
            return known
        sizes[id(at)] = 1  # a node that contains itself (a recursive alias) counts once
        total = 1
        if isinstance(at, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in at.value)
        elif isinstance(at, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in at.value)
        elif isinstance(at, yaml.ScalarNode):
            _check_scalar(at, fail)
            found = first_control(str(at.value))  # written as an escape, like "\e"
            if found is not None:
                raise fail(at, found.message, CONTROL_HINT)
        if total > MAX_YAML_NODES:
            raise fail(
                at,
                f"front matter expands to more than {MAX_YAML_NODES:,} values",
                "anchors and aliases (&name, *name) repeat what they name; write it out once",
            )
        sizes[id(at)] = total
        return total

    for key, value in node.value:  # shapes first: they look at no alias's expansion
        shape = shapes.get(str(key.value))
        if shape is not None:
            _check_shape(str(key.value), value, shape, fail)
    size(node, 0)


def _check_scalar(node: Any, fail: Callable[..., IssueError]) -> None:
    value = str(node.value)
    if node.tag.endswith(":int") or (node.style is None and re.fullmatch(r"[-+]?[0-9_]+", value)):
        digits = sum(ch.isdigit() for ch in value)
        if digits > MAX_INT_DIGITS:
            raise fail(
                node,
                f"a number of {digits:,} digits",
                "put it in quotes if it is text",
            )


def _check_shape(name: str, node: Any, shape: str | Mapping[str, str], fail: Any) -> None:
    import yaml

    if node.tag.endswith(":null"):
        return
    if isinstance(shape, Mapping):
        if not isinstance(node, yaml.MappingNode):
            raise fail(node, f"'{name}' must be {MAPPING}")
        for key, value in node.value:
            inner = shape.get(str(key.value))
            if inner is not None:
                _check_shape(f"{name}.{key.value}", value, inner, fail)
        return
    if shape == SCALAR and not isinstance(node, yaml.ScalarNode):
        raise fail(node, f"'{name}' must be {SCALAR}")
    if shape == LIST:
        items = node.value if isinstance(node, yaml.SequenceNode) else [node]
        if not isinstance(node, yaml.SequenceNode | yaml.ScalarNode) or not all(
            isinstance(item, yaml.ScalarNode) for item in items
        ):
            raise fail(node, f"'{name}' must be a list of text, like [one, two]")
