"""Line breaking of Korean (and Chinese and Japanese) text in the compiled email.

Browsers break CJK text between any two characters unless told `word-break: keep-all`; for
Korean, whose words are separated by spaces, that splits words ("확 / 장"). The template's
`<style>` block says keep-all, but clients that drop `<style>` (the Gmail app for non-Google
accounts, some webmail) lose it. So after MJML has compiled the email, every element that holds
Korean, Chinese or Japanese text gets `word-break:keep-all` in its own style attribute (on other
text keep-all changes nothing, so other elements are left as MJML wrote them).

Left alone: elements whose own style already sets `word-break` (the author chose), and anything
inside `<pre>` (code keeps its break-anywhere). Pure: HTML in, HTML out.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from html import unescape

KEEP_ALL_LANGS = ("ko", "ja", "zh")
DECLARATION = "word-break:keep-all"

SKIPPED = {"head", "title", "style", "script", "template", "xml", "pre"}
# HTML's void elements: no end tag, so never a parent of what follows.
VOID_ELEMENTS = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "source",
        "track",
        "wbr",
    }
)
# One attribute of a start tag, value consumed whole, so "style=" inside another value never
# matches.
_ATTR_RE = re.compile(r"""\s*([^\s"'>/=]+)(\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?""")
_NAME_RE = re.compile(r"<[^\s/>]+")
_WORD_BREAK_RE = re.compile(r"(?:^|;)\s*word-break\s*:", re.I)
# Any character from U+1100 up: where Hangul (syllables, jamo, compatibility jamo), CJK
# ideographs and kana can be. A class of their ranges takes the regular expression compiler
# some 9 ms, paid by every `postcli build`; this one a twentieth of that, and _is_cjk checks the
# characters it finds.
_BEYOND_RE = re.compile("[^\x00-\u10ff]")


def _is_cjk(char: str) -> bool:
    return (
        "\uac00" <= char <= "\ud7a3"
        or "\u4e00" <= char <= "\u9fff"
        or "\u3040" <= char <= "\u30ff"
        or "\u1100" <= char <= "\u11ff"
        or "\u3130" <= char <= "\u318f"
        or "\u3400" <= char <= "\u4dbf"
        or "\uf900" <= char <= "\ufaff"
    )


def holds_cjk(text: str, start: int = 0, end: int = sys.maxsize) -> bool:
    """Whether text[start:end] holds a Hangul, CJK ideograph or kana character."""
    found = _BEYOND_RE.search(text, start, end)
    while found is not None:
        if _is_cjk(found.group()):
            return True
        found = _BEYOND_RE.search(text, found.end(), end)
    return False


def wants_keep_all(lang: str) -> bool:
    return lang.split("-")[0].lower() in KEEP_ALL_LANGS


def _with_keep_all(raw: str) -> str:
    """The start tag with word-break:keep-all added to its style attribute (or a new one)."""
    name_end = _NAME_RE.match(raw)
    if name_end is None:
        return raw
    pos = name_end.end()
    while True:
        match = _ATTR_RE.match(raw, pos)
        if match is None or not match.group(1):
            break
        if match.group(1).lower() == "style" and match.group(2):
            value_part = match.group(2)
            eq = value_part.index("=")
            value = value_part[eq + 1 :].strip()
            quote = value[0] if value[:1] in "\"'" else ""
            inner = value[1:-1] if quote else value
            # (the substring test first: the expression alone tries every position)
            if "word-break" in inner.lower() and _WORD_BREAK_RE.search(inner):
                return raw
            joined = (
                f"{inner.rstrip().rstrip(';')};{DECLARATION};"
                if inner.strip()
                else (f"{DECLARATION};")
            )
            new = (
                f' style="{joined.replace(chr(34), "&quot;")}"'
                if quote != "'"
                else (f" style='{joined}'")
            )
            return raw[: match.start()] + new + raw[match.end() :]
        pos = match.end()
    closing = raw.rstrip()
    cut = len(closing) - (2 if closing.endswith("/>") else 1)
    return raw[:cut].rstrip() + f' style="{DECLARATION};"' + raw[cut:]


def keep_words_whole(html: str) -> str:
    """`html` with word-break:keep-all inline on every element that holds CJK text."""
    holders = text_holders(html)
    if not holders:
        return html
    out: list[str] = []
    previous = 0
    rewritten: dict[str, str] = {}  # the same start tag (a styled <td>) recurs many times
    for offset in sorted(holders):
        raw = holders[offset]
        if not html.startswith(raw, offset):  # not where the parser said: leave it
            continue
        new = rewritten.get(raw)
        if new is None:
            new = rewritten[raw] = _with_keep_all(raw)
        out += (html[previous:offset], new)
        previous = offset + len(raw)
    out.append(html[previous:])
    return "".join(out)


def text_holders(html: str) -> dict[int, str]:
    """Offset -> raw start tag of every element holding CJK text directly. The quick scan
    reads MJML's (and css-inline's) well-formed output; anything it does not know for sure,
    it leaves to the standard library's parser, whose reading it reproduces."""
    found = _scan(html)
    if found is None:
        from postcli.render.html_fallback import TextHolders

        parser = TextHolders(html)
        parser.feed(html)
        parser.close()
        found = parser.holders
    return found


# One piece of markup, as html.parser reads it, in its plain spellings only: a <style> or
# <script> element whole (html.parser reads nothing inside as markup), a start tag (attributes
# separated by whitespace, values quoted or bare; group 1 the name, group 2 the "/" of <br/>), an
# end tag (group 3), a comment, the doctype. Possessive quantifiers: a match is the only
# reading, never a backtracked one.
# The first branch of _ATTRIBUTES is MJML's own spelling (one space, a plain name, a quoted
# value), read as the second would read it but with far fewer steps of the regex engine.
_ATTRIBUTES = r"""(?:\ [a-z][-a-z:]*+="[^"]*+"
    |\s++[^\s/>"'=]++(?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s"'=<>`]++))?+)*+"""


def _raw_text(name: str) -> str:
    """A raw-text element's content through its first end tag: what `.*?</name\\s*>` matches,
    read a run of characters other than "<" at a time instead of one character at a time (the
    same for a comment's "--" below)."""
    end = rf"</\s*+(?i:{name})\s*+>"
    return rf"[^<]*+(?:<(?!{end[1:]})[^<]*+)*+{end}"


_MARKUP_RE = re.compile(
    rf"""<(?:
        (?i:style)(?![^\t\n\r\f />\x00]){_ATTRIBUTES}\s*+>{_raw_text("style")}
      | (?i:script)(?![^\t\n\r\f />\x00]){_ATTRIBUTES}\s*+>{_raw_text("script")}
      | ([a-zA-Z][^\t\n\r\f />\x00]*+){_ATTRIBUTES}\s*+(/?)>
      | /([a-zA-Z][-.a-zA-Z0-9:_]*+)\s*+>
      | !--(?:[^-]++|-(?!-\s*+>))*+--\s*+>
      | ![Dd][Oo][Cc][Tt][Yy][Pp][Ee][^>]*+>
    )""",
    re.VERBOSE | re.DOTALL,
)
_RAW_TEXT = {"script", "style"}  # html.parser's CDATA elements


def _scan(html: str) -> dict[int, str] | None:
    """What html_fallback.TextHolders finds, in one pass of regular expressions; None where a
    "<" is not plain markup (a bogus comment, an unclosed comment or raw-text element, an odd
    attribute), where the standard parser's error recovery would have to be copied.

    Written for few Python steps per tag (MJML's output is mostly tags with nothing between
    them): the tag's own name is looked up lower-cased once per spelling, a closing tag that
    closes the innermost open element pops it at once, and text is only read where there is
    some."""
    holders: dict[int, str] = {}
    # Open elements, innermost last: (tag, offset, end of the start tag, skipped).
    stack: list[tuple[str, int, int, bool]] = []
    find, beyond = html.find, _BEYOND_RE.search
    names: dict[str, tuple[str, bool, bool]] = {}  # spelling -> (tag, void, skips)
    position = 0
    end = len(html)
    for markup in _MARKUP_RE.finditer(html):
        lt, after = markup.span()
        if lt != position:  # text, html[position:lt]
            if find("<", position, lt) >= 0:
                return None  # a "<" that no pattern above reads
            first = beyond(html, position, lt)  # the first character from U+1100 on
            if stack and (
                (first is not None and (_is_cjk(first.group()) or holds_cjk(html, first.end(), lt)))
                or (find("&", position, lt) >= 0 and holds_cjk(unescape(html[position:lt])))
            ):  # the innermost open element holds the text (as _note_holder)
                holder, offset, tag_end, skipped = stack[-1]
                if not skipped and holder != "html" and holder != "body":
                    holders[offset] = html[offset:tag_end]
        position = after
        kind = markup.lastindex  # 2: a start tag, 3: an end tag, None: the others
        if kind == 2:
            if markup[2]:
                continue  # <div/> holds nothing
            name = markup[1]
            known = names.get(name)
            if known is None:
                tag = name.lower()
                known = names[name] = (tag, tag in VOID_ELEMENTS, tag in SKIPPED)
            tag, void, skips = known
            if tag in _RAW_TEXT:
                return None  # never closed: html.parser reads the rest as its text
            if not void:
                stack.append((tag, lt, after, skips or bool(stack and stack[-1][3])))
        elif kind == 3:
            tag = markup[3].lower()
            if stack and stack[-1][0] == tag:
                stack.pop()
                continue
            for depth in range(len(stack) - 2, -1, -1):
                if stack[depth][0] == tag:
                    del stack[depth:]
                    break
    if position != end:  # text, html[position:]
        if find("<", position, end) >= 0:
            return None
        if _text_holds_cjk(html, position, end, find, beyond):
            _note_holder(html, stack, holders)
    return holders


def _text_holds_cjk(
    html: str,
    start: int,
    end: int,
    find: Callable[[str, int, int], int],
    beyond: Callable[[str, int, int], re.Match[str] | None],
) -> bool:
    """Whether the text html[start:end] holds CJK, written or as a character reference."""
    return bool(beyond(html, start, end) and holds_cjk(html, start, end)) or (
        find("&", start, end) >= 0 and holds_cjk(unescape(html[start:end]))
    )


def _note_holder(
    html: str, stack: list[tuple[str, int, int, bool]], holders: dict[int, str]
) -> None:
    """The innermost open element holds the text just read."""
    if stack:
        tag, offset, end, skipped = stack[-1]
        if not skipped and tag != "html" and tag != "body":
            holders[offset] = html[offset:end]
