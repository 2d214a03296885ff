"""The front matter most issues have, read without PyYAML.

Importing PyYAML is about a tenth of a `postcli build` process (its reader compiles a large
regular expression at import), while nearly every issue's front matter is a handful of
one-line `key: value` entries. `read` takes exactly that subset and returns what PyYAML's safe
loader, followed by the shape and size checks of guards.check_yaml, would give for it. It
returns None for anything it is not sure of (nested mappings, block lists, escapes, numbers,
anchors, tags, comments after a value, unusual characters ...): PyYAML then reads the text,
and reports any error, as before.

tests/test_plain_yaml.py holds the two readers to the same answer with hypothesis.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from postcli.controls import first_control
from postcli.guards import LIST, SCALAR

# PyYAML's implicit booleans and nulls (YAML 1.1). Every other plain value that starts with a
# letter is a string; values that start with a digit, a sign, "." or "~" may be numbers or
# times, and are left to PyYAML, except the send time spelled without seconds (below).
_BOOLEANS = {
    **dict.fromkeys(("yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"), False),
}
_NULLS = frozenset({"null", "Null", "NULL", "~"})
# A date and a time without seconds: text to YAML (its timestamps have seconds).
_SEND_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?:Z|[+-][0-9]{2}:[0-9]{2})?"
)
_ENTRY = re.compile(r"([a-z_]+):(?: +(.*))?")
# Characters PyYAML refuses, reads as line breaks, or treats specially anywhere (tabs,
# byte-order marks): their presence sends the text to PyYAML.
_UNUSUAL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")
# A plain value's first character may not be one of YAML's indicators, nor the start of a
# number, a time, a merge key or a value key.
_PLAIN_START = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@`+.0-9~<=\s]")
_FLOW_ITEM = re.compile(r"[^-?:,\[\]{}#&*!|>'\"%@`+.0-9~<=\s][^,:\[\]{}#\"']*")


def read(
    text: str, keys: Collection[str], shapes: Mapping[str, object]
) -> tuple[dict[str, Any], dict[str, int]] | None:
    """`text` (the lines between the `---`s) -> (values, 1-based file line of each key), the
    file's second line being the text's first; None when PyYAML must read it. `shapes` are
    guards.check_yaml's: a key shaped as a list may be `[a, b]`; one shaped as a mapping is
    PyYAML's unless it is empty."""
    if _UNUSUAL.search(text):
        return None
    data: dict[str, Any] = {}
    lines: dict[str, int] = {}
    for index, line in enumerate(text.split("\n")):
        if not line.strip(" ") or line.startswith("#"):
            continue
        match = _ENTRY.fullmatch(line.rstrip(" "))
        if match is None or match[1] not in keys or match[1] in data:
            return None
        key, raw = match[1], match[2] or ""
        shape = shapes.get(key, SCALAR)
        value = _value(raw, shape)
        if value is _UNSURE or (value is not None and shape not in (SCALAR, LIST)):
            return None
        data[key], lines[key] = value, index + 2
    return data, lines


_UNSURE: Any = object()
_MAX_ITEMS = 1_000  # far below guards.MAX_YAML_NODES: a longer list is PyYAML's to count


def _value(raw: str, shape: object) -> Any:
    """An entry's value, after the colon and its spaces, up to a `  # comment`."""
    if raw[:1] in ("'", '"', "["):  # up to the closing quote or bracket, then a comment
        end = raw.find("]" if raw[0] == "[" else raw[0], 1) + 1
        rest = raw[end:] if end else "?"
        if rest and not (rest.startswith(" ") and rest.lstrip(" ")[:1] in ("", "#")):
            return _UNSURE
        if raw[0] != "[":
            return _quoted(raw[:end])
        return _list(raw[:end]) if shape == LIST else _UNSURE
    return _plain(raw.partition(" #")[0].rstrip(" "))


def _plain(raw: str) -> Any:
    if not raw:
        return None
    if ": " in raw or raw.endswith(":"):
        return _UNSURE
    if _SEND_TIME.fullmatch(raw):
        return raw
    if not _PLAIN_START.match(raw):
        return _UNSURE
    if raw in _BOOLEANS:
        return _BOOLEANS[raw]
    if raw in _NULLS:
        return None
    return _text(raw)


def _quoted(raw: str) -> Any:
    quote, inner = raw[0], raw[1:-1]
    if "\\" in inner and quote == '"':
        return _UNSURE
    return _text(inner)


def _list(raw: str) -> Any:
    inner = raw[1:-1].strip(" ")
    if not inner:
        return []
    items = [item.strip(" ") for item in inner.split(",")]
    if len(items) > _MAX_ITEMS or not all(_FLOW_ITEM.fullmatch(item) for item in items):
        return _UNSURE
    if any(item in _BOOLEANS or item in _NULLS for item in items):
        return _UNSURE
    return [_text(item) for item in items]


def _text(value: str) -> Any:
    """A string value, unless a control character in it needs guards.check_yaml's message."""
    return _UNSURE if first_control(value) is not None else value
