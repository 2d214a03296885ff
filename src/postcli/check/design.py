"""Checks of how the email reads and what it is sent with, beyond the issue's own text:

- `low-contrast` (warning): text below WCAG AA in light or dark mode, computed from the rendered
  email's own colours (postcli.check.contrast), so a workspace's own template or colours are caught;
- `init-placeholder` (error, unless the provider is `file`): settings still at `postcli init`'s
  example.com placeholders, which would send dead unsubscribe links and broken images;
- `unknown-string` (warning): a key in the workspace's strings.toml that nothing uses.

`check.run_checks` calls `findings` once; everything here is pure but for reading the
workspace's templates and strings.toml, as rendering does.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from postcli.check import contrast
from postcli.check.rules import RULES, Finding
from postcli.render.strings import unknown_keys

if TYPE_CHECKING:
    from postcli.config import Settings
    from postcli.model import Variant
    from postcli.render import RenderedEmail

# RFC 2606 keeps these for examples: nothing is ever delivered or served there.
_RESERVED_RE = re.compile(r"(?:^|\.)(?:example\.(?:com|net|org)|example)$", re.I)
_EMAIL_DOMAIN_RE = re.compile(r"@([^\s>@]+)>?\s*$")


def findings(emails: dict[Variant, RenderedEmail], settings: Settings) -> list[Finding]:
    return [
        *contrast_findings(emails, settings),
        *placeholder_findings(settings),
        *strings_findings(settings),
    ]


# --- Contrast ----------------------------------------------------------------------------------


def contrast_findings(emails: dict[Variant, RenderedEmail], settings: Settings) -> list[Finding]:
    """One warning per (mode, colours) below AA; once for the issue when every variant has it."""
    per_variant = {v: contrast.problems(e.html) for v, e in emails.items()}
    seen: dict[tuple[str, str, str, float], list[Variant]] = {}
    first: dict[tuple[str, str, str, float], contrast.LowContrast] = {}
    for variant, problems in per_variant.items():
        for problem in problems:
            key = (problem.mode, problem.color, problem.background, problem.required)
            seen.setdefault(key, []).append(variant)
            first.setdefault(key, problem)
    out = []
    for key, variants in seen.items():
        problem = first[key]
        path, line = _colour_source(problem, settings)
        message = f"{problem.message}; change the colours together (docs/templates.md, 'Dark mode')"
        shared = len(variants) == len(emails) > 1
        targets: list[Variant | None] = [None] if shared else list(variants)
        for target in targets:
            out.append(Finding(RULES["low-contrast"], "low-contrast", message, target, path, line))
    return out


def _colour_source(problem: contrast.LowContrast, settings: Settings) -> tuple[Path, int | None]:
    """The template (or content.css) line that sets the text colour, else its background."""
    from postcli.render import CONTENT_CSS, HTML_TEMPLATE
    from postcli.render.templates import template_path

    files = [
        template_path(HTML_TEMPLATE, settings.templates_dir),
        template_path(CONTENT_CSS, settings.templates_dir),
    ]
    for colour in (problem.color, problem.background):
        spellings = _hex_spellings(colour)
        for path in files:
            try:
                lines = path.read_text(encoding="utf-8").lower().splitlines()
            except OSError:
                continue
            for number, text in enumerate(lines, 1):
                if any(s in text for s in spellings):
                    return path, number
    return files[0], None


def _hex_spellings(rgb: str) -> list[str]:
    r, g, b = (int(c) for c in re.findall(r"\d+", rgb)[:3])
    long = f"#{r:02x}{g:02x}{b:02x}"
    spellings = [long]
    if all(c % 17 == 0 for c in (r, g, b)):
        spellings.append(f"#{r // 17:x}{g // 17:x}{b // 17:x}")
    return [*spellings, rgb.replace(" ", "")]


# --- Settings still at the init placeholders ---------------------------------------------------


def placeholder_findings(settings: Settings) -> list[Finding]:
    """Errors for example.com (and the other RFC 2606 names) in the settings readers get,
    whenever the provider is not `file`."""
    from postcli.config import key_line

    if settings.provider == "file":
        return []
    newsletter, premium = settings.newsletter, settings.premium
    site = getattr(settings, "site", None)  # [site], where configured
    values = [
        ("newsletter", "from", newsletter.from_, True),
        ("newsletter", "url", newsletter.url, False),
        ("newsletter", "unsubscribe_url", newsletter.unsubscribe_url, False),
        ("newsletter", "assets_url", newsletter.assets_url, False),
        ("premium", "upgrade_url", premium.upgrade_url, False),
        ("site", "url", getattr(site, "url", None), False),
    ]
    text = ""
    if settings.path is not None and settings.path.is_file():
        text = settings.path.read_text(encoding="utf-8")
    out = []
    for table, key, value, is_address in values:
        if not value or not is_placeholder(value, address=is_address):
            continue
        out.append(
            Finding(
                RULES["init-placeholder"],
                "init-placeholder",
                f"[{table}] {key} is still postcli init's placeholder '{value}': sent through "
                f"{settings.provider}, readers would get "
                f"{'mail from an address nobody reads' if is_address else 'a dead link'}; set "
                "your own in postcli.toml",
                None,
                settings.path,
                key_line(text, table, key) if text else None,
            )
        )
    return out


def is_placeholder(value: str, *, address: bool = False) -> bool:
    """Whether a URL's host (or an address's domain) is a reserved example name."""
    if address:
        match = _EMAIL_DOMAIN_RE.search(value.strip())
        host = match.group(1) if match else ""
    else:
        host = urlsplit(value.strip()).hostname or ""
    return bool(host) and bool(_RESERVED_RE.search(host.rstrip(".")))


# --- strings.toml ------------------------------------------------------------------------------


def strings_findings(settings: Settings) -> list[Finding]:
    return [
        Finding(RULES["unknown-string"], "unknown-string", k.message, None, k.path, k.line)
        for k in unknown_keys(settings.templates_dir)
    ]
