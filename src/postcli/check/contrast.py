"""Text contrast of a rendered email, in light and in dark mode: HTML in, problems out (pure).

Owns the WCAG 2 contrast arithmetic (relative luminance, alpha compositing, the AA thresholds
of 4.5:1, and 3:1 for large text) and the reading of an email's own colours: its inline styles
and `bgcolor` attributes, its `<style>` rules, and for dark mode the rules inside
`@media (prefers-color-scheme: dark)`, which is how Apple Mail and iOS Mail apply an email's own
dark design. The cascade itself (selectors, specificity, `!important` against inline styles) is
css-inline's (render.mjml.cascade): it writes every rule that applies onto the elements, and this
module then walks the element tree with inheritance, as a browser does.

It must not render, read files or fetch anything (remote stylesheets are never loaded); `check`
turns its problems into findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from postcli.check.html import read
from postcli.check.wcag import (
    BLACK,
    WHITE,
    Rgba,
    composite,
    contrast_ratio,
    css_rgb,
    is_large,
    parse_color,
)
from postcli.render import mjml
from postcli.render.typography import VOID_ELEMENTS

AA_NORMAL = 4.5
AA_LARGE = 3.0
DEFAULT_FONT_PX = 16.0

# What a client that supports dark mode paints behind an email that sets no background.
DARK_CANVAS: Rgba = (18.0, 18.0, 18.0, 1.0)
DARK_TEXT: Rgba = (255.0, 255.0, 255.0, 1.0)

_DARK_MEDIA_RE = re.compile(r"prefers-color-scheme\s*:\s*dark")
_HIDDEN_TAGS = {"head", "title", "style", "script", "template", "noscript", "xml"}


@dataclass(frozen=True)
class LowContrast:
    """Text below WCAG AA: where (a sample of it), in which mode, and its colours."""

    mode: str  # "light" or "dark"
    sample: str
    color: str  # the text colour, composited, as rgb(r, g, b)
    background: str
    ratio: float
    required: float
    count: int = 1  # how many texts share these colours

    @property
    def message(self) -> str:
        more = f" and {self.count - 1} more with these colours" if self.count > 1 else ""
        return (
            f"{self.mode} mode: text '{self.sample}'{more} is {self.color} on {self.background}, "
            f"a contrast of {self.ratio:.2f}:1 where WCAG AA needs {self.required:g}:1"
        )


# --- The email's own stylesheets -------------------------------------------------------------


def dark_rules(html: str) -> str:
    """The rules inside every `@media (prefers-color-scheme: dark)` block of the `<style>`
    elements, without the at-rule around them."""
    out = []
    for css in _StyleText.of(html):
        out += [body for prelude, body in _at_media_blocks(css) if _DARK_MEDIA_RE.search(prelude)]
    return "\n".join(out)


def _at_media_blocks(css: str) -> list[tuple[str, str]]:
    """(prelude, body) of each top-level @media block, braces matched outside strings and
    comments."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    blocks: list[tuple[str, str]] = []
    index = 0
    while True:
        start = css.find("@media", index)
        if start < 0:
            return blocks
        open_brace = css.find("{", start)
        if open_brace < 0:
            return blocks
        depth, pos, quote = 1, open_brace + 1, ""
        while pos < len(css) and depth:
            char = css[pos]
            if quote:
                if char == "\\":
                    pos += 1
                elif char == quote:
                    quote = ""
            elif char in "\"'":
                quote = char
            elif char == "{":
                depth += 1
            elif char == "}":
                depth -= 1
            pos += 1
        blocks.append((css[start + len("@media") : open_brace], css[open_brace + 1 : pos - 1]))
        index = pos


class _StyleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.in_style = False
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.in_style = False

    def handle_data(self, data: str) -> None:
        if self.in_style:
            self.texts.append(data)

    @classmethod
    def of(cls, html: str) -> list[str]:
        return read(cls(), html).texts


# --- Walking the elements ----------------------------------------------------------------------


@dataclass
class _Box:
    """What an element passes to its children: the inherited text style and what is painted
    behind them."""

    color: Rgba | None
    background: Rgba | None  # None: unknown (an image, a colour this module cannot read)
    font_px: float
    weight: int
    hidden: bool
    tag: str = ""


def _declarations(style: str) -> dict[str, str]:
    out = {}
    for part in style.split(";"):
        name, sep, value = part.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip()
    return out


def _font_px(value: str, parent: float) -> float:
    value = value.strip().lower().removesuffix("!important").strip()
    named = {"small": 13.0, "medium": 16.0, "large": 18.0, "x-large": 24.0, "xx-large": 32.0}
    if value in named:
        return named[value]
    match = re.fullmatch(r"([0-9.]+)(px|pt|em|rem|%)?", value)
    if not match:
        return parent
    number, unit = float(match.group(1)), match.group(2) or "px"
    return {
        "px": number,
        "pt": number * 4 / 3,
        "em": number * parent,
        "rem": number * DEFAULT_FONT_PX,
        "%": number * parent / 100,
    }[unit]


def _weight(value: str, parent: int) -> int:
    value = value.strip().lower().removesuffix("!important").strip()
    if value.isdigit():
        return int(value)
    return {"bold": 700, "bolder": max(parent + 300, 700), "normal": 400, "lighter": 300}.get(
        value, parent
    )


def _background(decls: dict[str, str], attrs: dict[str, str]) -> tuple[bool, Rgba | None]:
    """(whether the element paints a background, its colour or None when unreadable)."""
    value = decls.get("background-color")
    if value is None and "background" in decls:
        shorthand = decls["background"].lower()
        if "url(" in shorthand or "gradient(" in shorthand:
            return True, None
        value = next(
            (t for t in _colour_tokens(shorthand) if parse_color(t) is not None), "transparent"
        )
    if value is None and attrs.get("bgcolor"):
        value = attrs["bgcolor"]
    if decls.get("background-image", "none").strip().lower() not in ("none", ""):
        return True, None
    if value is None:
        return False, None
    colour = parse_color(value)
    return True, colour


def _colour_tokens(text: str) -> list[str]:
    return re.findall(r"rgba?\([^)]*\)|#[0-9a-f]+|[a-z]+", text)


class _Walker(HTMLParser):
    def __init__(self, root: _Box) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[_Box] = [root]
        self.texts: list[tuple[str, Rgba, Rgba, float, int]] = []
        self.unknown = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        parent = self.stack[-1]
        values = {k: v or "" for k, v in attrs}
        decls = _declarations(values.get("style", ""))
        box = _Box(
            color=parent.color,
            background=parent.background,
            font_px=parent.font_px,
            weight=parent.weight,
            hidden=parent.hidden or tag in _HIDDEN_TAGS or "hidden" in values,
            tag=tag,
        )
        if "color" in decls:
            value = decls["color"].lower().removesuffix("!important").strip()
            if value not in ("inherit", "currentcolor"):
                box.color = parse_color(value)
        if "font-size" in decls:
            box.font_px = _font_px(decls["font-size"], parent.font_px)
        if "font-weight" in decls:
            box.weight = _weight(decls["font-weight"], parent.weight)
        elif tag in ("b", "strong", "th", "h1", "h2", "h3", "h4", "h5", "h6"):
            box.weight = max(parent.weight, 700)
        if tag in ("h1", "h2") and "font-size" not in decls:
            box.font_px = parent.font_px * (2.0 if tag == "h1" else 1.5)
        paints, colour = _background(decls, values)
        if paints:
            if colour is None or parent.background is None:
                box.background = None
            else:
                box.background = composite(colour, parent.background)
        if _is_hidden(decls):
            box.hidden = True
        if tag in VOID_ELEMENTS:
            return
        self.stack.append(box)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID_ELEMENTS and self.stack[-1].tag == tag and len(self.stack) > 1:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        box = self.stack[-1]
        if not text or box.hidden or box.font_px < 1:
            return
        if box.color is None or box.background is None:
            self.unknown += 1
            return
        background = composite(box.background, WHITE)
        self.texts.append(
            (text, composite(box.color, background), background, box.font_px, box.weight)
        )


def _is_hidden(decls: dict[str, str]) -> bool:
    def value(name: str) -> str:
        return decls.get(name, "").lower().removesuffix("!important").strip()

    if value("display") == "none" or value("visibility") == "hidden":
        return True
    if value("opacity") in ("0", "0.0"):
        return True
    return value("max-height") in ("0", "0px") and value("overflow") == "hidden"


@dataclass
class _Group:
    """The texts of one mode below AA that share their colours: one finding."""

    colour: str
    background: str
    required: float
    sample: str  # the first of them
    ratio: float  # the lowest
    count: int = 0

    def finding(self, mode: str) -> LowContrast:
        return LowContrast(
            mode, self.sample, self.colour, self.background, self.ratio, self.required, self.count
        )


def problems(html: str) -> list[LowContrast]:
    """Every text of the email below WCAG AA, in light mode and then in dark mode (when the
    email has dark rules), grouped by colours: one problem per (mode, colour, background)."""
    out: list[LowContrast] = []
    dark = dark_rules(html)
    modes = [("light", "", WHITE, BLACK)]
    if dark:
        modes.append(("dark", dark, DARK_CANVAS, DARK_TEXT))
    for mode, extra, canvas, text_colour in modes:
        cascaded = mjml.cascade(html, extra)
        if cascaded is None:
            continue
        page = _Box(text_colour, canvas, DEFAULT_FONT_PX, 400, hidden=False)
        walker = read(_Walker(page), cascaded)
        groups: dict[tuple[str, str, float], _Group] = {}
        for text, colour, background, font_px, weight in walker.texts:
            required = AA_LARGE if is_large(font_px, weight) else AA_NORMAL
            ratio = contrast_ratio(colour, background)
            if ratio >= required:
                continue
            key = (css_rgb(colour), css_rgb(background), required)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(*key, sample=_sample(text), ratio=ratio)
            group.count += 1
            group.ratio = min(group.ratio, ratio)
        out.extend(group.finding(mode) for group in groups.values())
    return out


def _sample(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
