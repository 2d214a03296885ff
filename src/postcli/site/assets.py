"""The images of the web edition: published under site/assets/ with content-hashed names,
resized when wider than 1200 px (the original kept for `srcset`), every byte of metadata gone.

Owns the asset names (so the emails can point at the same files) and the image processing
(Pillow). A JPEG straight from a phone carries the editor's GPS position, camera and time in
EXIF; every image is therefore decoded and encoded again from its pixels alone, after applying
its EXIF orientation and converting its colours to sRGB, so no EXIF, XMP, IPTC, ICC profile or
text chunk survives. Only images the free variant uses are ever handed to this module.

Names are `<hash>.<ext>` for the version pages and emails show (at most 1200 px wide) and
`<hash>-<width>w.<ext>` for the larger original (render/webassets.py makes the hash, so the
emails can point at the same files); a static host may cache them forever.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from postcli.render.webassets import (
    ASSETS,
    PROCESSING,
    asset_name,
    content_hash,
    content_hash_of,
    output_suffix,
)

__all__ = ["ASSETS", "PROCESSING", "asset_name", "content_hash", "content_hash_of", "plan"]

MAX_WIDTH = 1200  # twice the email column: sharp on a high-density screen
_FORMATS = {".jpg": "JPEG", ".png": "PNG", ".gif": "GIF", ".webp": "WEBP"}
_ORIENTATION = 0x0112  # the EXIF tag


class ImageProblem(Exception):
    """An image that cannot be published (not an image Pillow reads); the message says why."""


@dataclass(frozen=True)
class PublishedImage:
    """One source image as the site serves it."""

    name: str  # under assets/: the version at most MAX_WIDTH wide
    width: int  # of that version (0 for SVG: unknown)
    height: int
    original: str | None = None  # the wider original, when `name` is a resized copy
    original_width: int = 0

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, self.original) if self.original else (self.name,)


# --- processing -----------------------------------------------------------------------------------


def plan(source: Path) -> PublishedImage:
    """Names and sizes of a source image's published files, from its header alone (pages are
    rendered before, and apart from, the encoding). Raises ImageProblem."""
    stat = source.stat()
    return _plan(source, stat.st_mtime_ns, stat.st_size)


@cache
def _plan(source: Path, mtime_ns: int, size: int) -> PublishedImage:
    del mtime_ns, size  # part of the cache key only
    suffix, key = output_suffix(source), content_hash(source)
    main = key + suffix
    if suffix == ".svg":
        return PublishedImage(main, 0, 0)
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as image:
            width, height = image.size
            orientation = image.getexif().get(_ORIENTATION, 1)
            animated = bool(getattr(image, "is_animated", False))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise ImageProblem(f"not an image postcli can publish ({exc})") from None
    if orientation in (5, 6, 7, 8):  # turned a quarter: exif_transpose swaps the sides
        width, height = height, width
    if animated or width <= MAX_WIDTH:
        return PublishedImage(main, width, height)
    resized_height = max(1, round(height * MAX_WIDTH / width))
    return PublishedImage(main, MAX_WIDTH, resized_height, f"{key}-{width}w{suffix}", width)


def process(source: Path) -> dict[str, bytes]:
    """The published files of one source image, as `plan` names them: name -> bytes."""
    target = plan(source)
    data = source.read_bytes()
    if target.name.endswith(".svg"):
        return {target.name: data}  # text: no EXIF; shown through <img>, scripts never run
    from PIL import Image, ImageOps, UnidentifiedImageError

    fmt = _FORMATS[output_suffix(source)]
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            if getattr(opened, "is_animated", False):
                return {target.name: _animated(opened, fmt)}
            image = _srgb(ImageOps.exif_transpose(opened) or opened)
    except (UnidentifiedImageError, OSError, ValueError, KeyError) as exc:
        raise ImageProblem(f"not an image postcli can publish ({exc})") from None
    if target.original is None:
        return {target.name: _encode(image, fmt)}
    resized = image.resize((target.width, target.height), Image.Resampling.LANCZOS)
    return {target.name: _encode(resized, fmt), target.original: _encode(image, fmt)}


def _srgb(image: Any) -> Any:
    """Pixels in sRGB without the profile: colours stay right once the profile is dropped."""
    profile = image.info.get("icc_profile")
    if profile:
        try:
            from PIL import ImageCms

            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            mode = "RGBA" if "A" in image.getbands() else "RGB"
            image = ImageCms.profileToProfile(
                image, source, ImageCms.createProfile("sRGB"), outputMode=mode
            )
        except Exception:  # a broken profile: keep the pixels as they are
            pass
    clean = image.copy()
    clean.info = {}
    return clean


def _encode(image: Any, fmt: str) -> bytes:
    """The pixels alone, in `fmt`: no metadata argument is ever passed, and info is empty."""
    out = io.BytesIO()
    image = image.copy()
    image.info = {}
    if fmt == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    elif fmt == "PNG":
        image.save(out, "PNG", compress_level=9)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=85, method=4)
    else:
        image.save(out, fmt)
    return out.getvalue()


def _animated(image: Any, fmt: str) -> bytes:
    """An animated GIF, PNG or WebP: every frame again, with only the timing kept."""
    from PIL import ImageSequence

    frames, durations = [], []
    for frame in ImageSequence.Iterator(image):
        durations.append(int(frame.info.get("duration", 100)))
        copy = frame.copy()
        copy.info = {}
        frames.append(copy)
    out = io.BytesIO()
    frames[0].save(
        out,
        fmt,
        save_all=True,
        append_images=frames[1:],
        duration=durations,
        loop=int(image.info.get("loop", 0)),
    )
    return out.getvalue()
