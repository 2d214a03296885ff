"""The names under which the web edition (`postcli site`) publishes images, and which images it
publishes: the local images of the free variant, and no other.

In render, below the site, because the emails point at the same files when `[site] url` is set
and `newsletter.assets_url` is not: one deploy then hosts the email images too. A premium-only
image is never on the public site, so no email is pointed at the site for one.

A name is `<hash>.<ext>`: the hash of the source file's bytes and of PROCESSING (the encoder
settings of postcli.site.assets), so a name never changes meaning and says nothing about the
file's original name.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

from postcli.config import Settings
from postcli.issues import Issue
from postcli.markdown import Token
from postcli.model import Variant

ASSETS = "assets"  # the folder under site/
PROCESSING = "postcli-site-assets-1 jpeg85 png9 webp85 max1200"
_SUFFIXES = {
    ".jpg": ".jpg",
    ".jpeg": ".jpg",
    ".png": ".png",
    ".gif": ".gif",
    ".webp": ".webp",
    ".svg": ".svg",
}


def output_suffix(source: Path) -> str:
    """The published file's extension: the source's, or .png for formats browsers lack."""
    return _SUFFIXES.get(source.suffix.lower(), ".png")


@cache
def _content_hash(path: Path, mtime_ns: int, size: int) -> str:
    del mtime_ns, size  # part of the cache key only
    digest = hashlib.sha256(PROCESSING.encode())
    digest.update(path.read_bytes())
    return digest.hexdigest()[:20]


def content_hash(source: Path) -> str:
    """The hash naming a source file's published versions (re-read only when it changes)."""
    stat = source.stat()
    return _content_hash(source, stat.st_mtime_ns, stat.st_size)


def content_hash_of(data: str | bytes) -> str:
    """The hash naming a file postcli makes itself (the style sheet)."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return hashlib.sha256(PROCESSING.encode() + payload).hexdigest()[:20]


def asset_name(source: Path) -> str:
    """The name under assets/ of the version pages and emails show."""
    return content_hash(source) + output_suffix(source)


def image_sources(tokens: Iterable[Token]) -> list[str]:
    """The src of every image in a parsed body, in order."""
    out = []
    for token in tokens:
        for child in token.children or []:
            if child.type == "image":
                src = child.attrGet("src")
                if isinstance(src, str) and src:
                    out.append(src)
    return out


_FREE_IMAGES: dict[tuple[Path, str], frozenset[Path]] = {}


def free_images(issue: Issue, settings: Settings) -> frozenset[Path]:
    """The local images the free variant of an issue shows (remembered per issue text)."""
    from postcli.render.body import parse_variant
    from postcli.render.urls import local_file

    key = (issue.path.resolve(), issue.source)
    if key not in _FREE_IMAGES:
        if len(_FREE_IMAGES) > 512:
            _FREE_IMAGES.clear()
        found = set()
        for src in image_sources(parse_variant(issue, Variant.FREE).tokens):
            local = local_file(issue, settings, src)
            if local is not None:
                found.add(local)
        _FREE_IMAGES[key] = frozenset(found)
    return _FREE_IMAGES[key]


def email_image_url(issue: Issue, settings: Settings, found: Path) -> str | None:
    """Where the web edition serves a local image, for an email to point at; None when the
    site does not publish it (a premium-only image is never on the public site)."""
    site_url = settings.site.url
    if not site_url or found.resolve() not in free_images(issue, settings):
        return None
    return f"{site_url.rstrip('/')}/{ASSETS}/{asset_name(found)}"
