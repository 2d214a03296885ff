"""Script URLs in raw HTML: `javascript:`, `vbscript:` and non-image `data:` URLs, however they
are spelled (character references, whitespace, case), found as a browser reads them and replaced
by a harmless fragment link.

The renderer runs this on the issue's raw HTML (HTML blocks and inline HTML), the only place a
writer's markup reaches the email unparsed: Markdown links and images with such schemes are
never links in the first place. It must run before the CSS inliner, which decodes character
references and would turn `&#106;avascript:` into a live `javascript:` link.
"""

from __future__ import annotations

import html
import re

# What a neutralised link points to: harmless, and recognisable to `postcli check`.
NEUTRALISED_URL = "#unsafe-link-removed"
URL_ATTRIBUTES = frozenset(
    {"href", "src", "action", "formaction", "xlink:href", "background", "poster", "cite", "data"}
)
_SAFE_DATA_RE = re.compile(r"data:image/(png|gif|jpe?g|webp|avif|bmp)[;,]")
_SQUEEZE_RE = re.compile(r"[\x00-\x20\x7f]+")
# Substrings without which no attribute can spell a dangerous URL: ASCII letters have no named
# character references, so "script" and "data" are written out or in numeric references.
_TELLTALES = ("script", "data", "&#", "&colon", "&tab", "&newline")
# An attribute value that could begin a dangerous URL: its first character, after spaces and
# control characters, is a character reference or the first letter of javascript, vbscript, data.
_CANDIDATE_VALUE_RE = re.compile(
    r"""=\s*("[\x00-\x20]*[&jvd][^"]*"|'[\x00-\x20]*[&jvd][^']*'|[&jvd][^\s"'>]*)""",
    re.IGNORECASE,
)


def _may_hold_script_url(document: str) -> bool:
    lowered = document.lower()
    if not any(telltale in lowered for telltale in _TELLTALES):
        return False
    return any(
        dangerous_scheme(match.group(1).strip("\"'"))
        for match in _CANDIDATE_VALUE_RE.finditer(document)
    )


def dangerous_scheme(url: str) -> str | None:
    """The scheme of a URL a browser would run or open as a document (javascript:, vbscript:,
    data: other than an image), read as a browser reads it: character references decoded,
    whitespace and control characters dropped, any case. None for any other URL."""
    if "&" in url:
        url = html.unescape(url)
    head, colon, rest = url.partition(":")
    if not colon:
        return None
    scheme = _SQUEEZE_RE.sub("", head).lower()
    if scheme in ("javascript", "vbscript"):
        return scheme
    if scheme == "data":
        media = _SQUEEZE_RE.sub("", rest[:64]).lower()
        return None if _SAFE_DATA_RE.match("data:" + media) else "data"
    return None


def neutralise_script_urls(document: str) -> str:
    """The HTML with every javascript:, vbscript: and non-image data: URL in a link, image, form
    or frame attribute replaced by NEUTRALISED_URL, however it was spelled. The CSS inliner and
    MJML decode character references, so `&#106;avascript:` written in an issue would otherwise
    come out as a live script link."""
    if not _may_hold_script_url(document):
        return document  # the common case: no parse
    from postcli.render.html_fallback import ScriptUrlFinder

    finder = ScriptUrlFinder(document)
    finder.feed(document)
    finder.close()
    out, done = [], 0
    for offset, raw, attrs in finder.found:
        if document[offset : offset + len(raw)] != raw:
            continue  # not where the parser said: leave it to the check, never corrupt the HTML
        parts = [raw[1:].split(None, 1)[0].rstrip("/>")]
        for name, value in attrs:
            if value is None:
                parts.append(name)
                continue
            if name in URL_ATTRIBUTES and dangerous_scheme(value):
                value = NEUTRALISED_URL
            parts.append(f'{name}="{html.escape(value, quote=True)}"')
        closing = " />" if raw.rstrip().endswith("/>") else ">"
        out += [document[done:offset], "<" + " ".join(parts) + closing]
        done = offset + len(raw)
    out.append(document[done:])
    return "".join(out)
