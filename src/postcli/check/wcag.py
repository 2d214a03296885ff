"""WCAG 2 contrast arithmetic: CSS colours read, alpha compositing, relative luminance, the
contrast ratio and what counts as large text. Pure numbers; `check.contrast` uses them."""

from __future__ import annotations

import re

Rgba = tuple[float, float, float, float]  # 0-255 channels, alpha 0-1

WHITE: Rgba = (255.0, 255.0, 255.0, 1.0)
BLACK: Rgba = (0.0, 0.0, 0.0, 1.0)

_NAMED: dict[str, Rgba] = {
    name: (float(int(h[0:2], 16)), float(int(h[2:4], 16)), float(int(h[4:6], 16)), 1.0)
    for name, h in {
        "black": "000000",
        "white": "ffffff",
        "gray": "808080",
        "grey": "808080",
        "silver": "c0c0c0",
        "darkgray": "a9a9a9",
        "darkgrey": "a9a9a9",
        "lightgray": "d3d3d3",
        "lightgrey": "d3d3d3",
        "dimgray": "696969",
        "dimgrey": "696969",
        "gainsboro": "dcdcdc",
        "whitesmoke": "f5f5f5",
        "red": "ff0000",
        "maroon": "800000",
        "purple": "800080",
        "fuchsia": "ff00ff",
        "magenta": "ff00ff",
        "green": "008000",
        "lime": "00ff00",
        "olive": "808000",
        "yellow": "ffff00",
        "navy": "000080",
        "blue": "0000ff",
        "teal": "008080",
        "aqua": "00ffff",
        "cyan": "00ffff",
        "orange": "ffa500",
        "pink": "ffc0cb",
        "indigo": "4b0082",
    }.items()
}
_HEX_RE = re.compile(r"#([0-9a-f]{3,8})\b")
_FUNC_RE = re.compile(r"rgba?\(([^)]*)\)")


def parse_color(value: str) -> Rgba | None:
    """A CSS colour (hex, rgb()/rgba(), the common names, transparent); None if unknown."""
    value = value.strip().lower().removesuffix("!important").strip()
    if value == "transparent":
        return (0.0, 0.0, 0.0, 0.0)
    if value in _NAMED:
        return _NAMED[value]
    match = _HEX_RE.fullmatch(value)
    if match:
        digits = match.group(1)
        if len(digits) in (3, 4):
            digits = "".join(d * 2 for d in digits)
        if len(digits) not in (6, 8):
            return None
        alpha = int(digits[6:8], 16) / 255 if len(digits) == 8 else 1.0
        return (
            float(int(digits[0:2], 16)),
            float(int(digits[2:4], 16)),
            float(int(digits[4:6], 16)),
            alpha,
        )
    match = _FUNC_RE.fullmatch(value)
    if match:
        parts = [p for p in re.split(r"[\s,/]+", match.group(1).strip()) if p]
        if len(parts) not in (3, 4):
            return None
        try:
            channels = [float(p[:-1]) * 2.55 if p.endswith("%") else float(p) for p in parts[:3]]
            alpha = 1.0
            if len(parts) == 4:
                alpha = float(parts[3][:-1]) / 100 if parts[3].endswith("%") else float(parts[3])
        except ValueError:
            return None
        r, g, b = (min(max(c, 0.0), 255.0) for c in channels)
        return (r, g, b, min(max(alpha, 0.0), 1.0))
    return None


def composite(top: Rgba, below: Rgba) -> Rgba:
    """`top` painted over `below` (source-over alpha compositing)."""
    alpha = top[3] + below[3] * (1 - top[3])
    if alpha == 0:
        return (0.0, 0.0, 0.0, 0.0)
    channels = [(top[i] * top[3] + below[i] * below[3] * (1 - top[3])) / alpha for i in range(3)]
    return (channels[0], channels[1], channels[2], alpha)


def luminance(color: Rgba) -> float:
    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in color[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(foreground: Rgba, background: Rgba) -> float:
    """WCAG 2 contrast of an opaque foreground on an opaque background, 1 to 21."""
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def is_large(font_px: float, weight: int) -> bool:
    """WCAG's large text: 18 pt (24 px), or 14 pt (18.66 px) bold."""
    return font_px >= 24 or (font_px >= 18.66 and weight >= 700)


def css_rgb(color: Rgba) -> str:
    return "rgb({}, {}, {})".format(*(round(c) for c in color[:3]))
