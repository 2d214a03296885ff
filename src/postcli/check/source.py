"""Rules on the issue itself: its structure (premium content in a free-only issue) and its
Markdown source (script links, placeholders, links and images that cannot be sent as written)."""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from postcli.check.document import Document
from postcli.check.html import normalise
from postcli.check.rules import (
    LARGE_IMAGE_BYTES,
    WIDE_IMAGE_PX,
    FileSize,
    FindFile,
    Finding,
    finding,
)
from postcli.config import Settings
from postcli.issues import Audience, Variant
from postcli.render import dangerous_scheme, is_absolute_url, make_resolver


def structure_rules(doc: Document) -> list[Finding]:
    issue = doc.issue
    if issue.front.audience is not Audience.FREE:
        return []
    out = []
    what_to_do = (
        "free readers get nothing premium: remove it, or set 'audience: all' to send both variants"
    )
    if issue.paywall is not None:
        out.append(
            finding(
                "premium-in-free-audience",
                f"a paywall marker in an issue for 'audience: free'; {what_to_do}",
                path=issue.path,
                line=issue.paywall_line,
            )
        )
    for block in issue.blocks:
        if block.kind is Variant.PREMIUM:
            out.append(
                finding(
                    "premium-in-free-audience",
                    f"a '::: premium' block in an issue for 'audience: free'; {what_to_do}",
                    path=issue.path,
                    line=block.line,
                )
            )
    return out


_JS_LINK_RE = re.compile(
    r"(\]\(\s*<?|^\s{0,3}\[[^\]]+\]:\s*<?|<|\b(?:href|src)\s*=\s*[\"']?)\s*(javascript|vbscript)\s*:",
    re.I,
)
_CODE_SPAN_RE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_PLACEHOLDERS = (
    re.compile(r"(?<![A-Za-z0-9])(TK|TODO|FIXME)(?![A-Za-z0-9])"),
    re.compile(r"lorem\s+ipsum", re.I),
    re.compile(r"\[link\](?![(\[:])", re.I),
)
BARE_DOMAIN_RE = re.compile(
    r"^(www\.|([a-z0-9-]+\.)+(com|org|net|io|dev|co|kr|jp|ai|app|me|news|blog)(/|$))", re.I
)
_PAGE_SUFFIXES = ("", ".html", ".htm", ".php", ".asp", ".aspx")


def source_rules(
    doc: Document, settings: Settings, find_file: FindFile, file_size: FileSize
) -> list[Finding]:
    issue = doc.issue
    out: list[Finding] = []

    def add(rule: str, message: str, line: int) -> None:
        sent, variant = doc.variant_of(line)
        if sent:
            out.append(finding(rule, message, variant=variant, path=issue.path, line=line))

    if issue.front.draft:
        out.append(
            finding(
                "draft",
                "the issue is a draft (draft: true): 'postcli send' refuses it and cron skips "
                "it; delete the line once it may go out",
                path=issue.path,
                line=issue.front.lines.get("draft"),
            )
        )

    # Raw lines: javascript: links markdown-it refuses to render as links, and placeholders
    # (in the body outside code, and in the front matter's texts).
    front = issue.front
    lines = [
        (front.lines[key], str(getattr(front, key)))
        for key in ("title", "subtitle", "subject", "preheader")
        if key in front.lines and getattr(front, key)
    ]
    lines += [
        (issue.line_of_body_line(index), text)
        for index, text in enumerate(issue.source.split("\n"))
        if index not in doc.code_lines
    ]
    script_lines: set[int] = set()
    for line_no, raw in lines:
        text = _CODE_SPAN_RE.sub("", raw)
        if _JS_LINK_RE.search(text):
            script_lines.add(line_no)
            add(
                "javascript-link",
                "a 'javascript:' link; email clients strip or block scripts, and spam filters "
                "flag them: link to a web page instead",
                line_no,
            )
        for pattern in _PLACEHOLDERS:
            match = pattern.search(text)
            if match and not (
                match.group(0).lower() == "[link]" and "LINK" in issue.env.get("references", {})
            ):
                add(
                    "placeholder",
                    f"placeholder text '{match.group(0)}' left in; write the real thing "
                    "before sending",
                    line_no,
                )
                break

    # Links and images.
    site_url = settings.newsletter.url
    assets_url = settings.newsletter.assets_url
    assets_dir = settings.assets_dir.resolve()
    resolve = make_resolver(issue, settings)
    seen: set[tuple[str, str, int]] = set()
    for item in doc.items:
        if item.kind not in ("link", "image"):
            continue
        key = (item.kind, item.value, item.line)
        if key in seen:
            continue
        seen.add(key)
        url = item.value.strip()
        shown = unquote(url)  # as the writer wrote it, not as the parser encoded it
        noun = "image" if item.kind == "image" else "link"
        if item.kind == "image" and not item.alt.strip():
            add(
                "missing-alt",
                f"image '{short(shown)}' has no alt text; describe it in the brackets, "
                "![like this](...): many readers see images off",
                item.line,
            )
        scheme = dangerous_scheme(url)  # judged after character references are decoded
        if scheme:
            if item.line not in script_lines:  # not reported from the raw line above
                script_lines.add(item.line)
                add(
                    "javascript-link",
                    f"a '{scheme}:' {noun} (spelled to hide it, but browsers read it so); "
                    "it is removed from what is sent: link to a web page instead",
                    item.line,
                )
            continue
        if is_local_host(url):
            add(
                "local-link",
                f"{noun} to a local address '{short(shown)}' that readers cannot reach; "
                "use the public URL",
                item.line,
            )
        if not url or url.startswith("#") or is_absolute_url(url) or is_merge_tag(url):
            continue
        found = find_file(url)
        problem: str | None
        if item.raw:
            problem = "in raw HTML is sent as written, and breaks in the inbox; write the full URL"
        else:
            problem = _unresolved(item.kind, url, found, assets_dir, assets_url, site_url)
            sent = resolve("img" if item.kind == "image" else "a", url)
            if item.kind == "image" and found is not None and settings.site.url and not assets_url:
                # The web edition hosts the free variant's images; a premium-only one it never
                # publishes, so the premium email has nowhere to load it from.
                problem = (
                    None
                    if is_absolute_url(sent)
                    else "is premium-only, and the web edition never publishes those: set "
                    "newsletter.assets_url to where assets/ is served"
                )
            if problem is None and not is_absolute_url(sent):
                problem = "cannot be resolved for sending; write the full URL"
        if problem:
            add("unresolved-url", f"relative {noun} '{short(shown)}' {problem}", item.line)
        if item.kind == "image" and found is not None:
            size = file_size(found)
            if size > LARGE_IMAGE_BYTES:
                add(
                    "large-image",
                    f"image '{short(shown)}' is {size / 1_000_000:.1f} MB; resize or compress "
                    "it under 1 MB: big images load slowly and some clients skip them",
                    item.line,
                )
            width = _image_width(found)
            if width > WIDE_IMAGE_PX:
                add(
                    "wide-image",
                    f"image '{short(shown)}' is {width:,} px wide, over {WIDE_IMAGE_PX:,} (twice "
                    "the email's width); resize it: the email downloads every pixel",
                    item.line,
                )
    return out


def _image_width(path: Path) -> int:
    """Pixels across, read from the file's header; 0 when it is no image Pillow knows."""
    try:
        stat = path.stat()
    except OSError:
        return 0
    return _header_width(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=4096)
def _header_width(path: Path, mtime_ns: int, size: int) -> int:
    """(`mtime_ns` and `size` are part of the cache key only: an edited image is read again;
    500 issues of a site build share a handful of images.)"""
    del mtime_ns, size
    try:
        from PIL import Image

        with Image.open(path) as image:
            return int(image.width)
    except Exception:  # not an image: the size rule still applies
        return 0


def _unresolved(
    kind: str,
    url: str,
    found: Path | None,
    assets_dir: Path,
    assets_url: str | None,
    site_url: str | None,
) -> str | None:
    """Why a relative URL cannot be made absolute for sending, or None when it can."""
    if BARE_DOMAIN_RE.match(url):
        return "looks like a web address without its https://; write the full URL"
    in_assets = found is not None and found.resolve().is_relative_to(assets_dir)
    if found is not None:
        if not in_assets:
            return "names a file outside the assets/ folder; move the file into assets/"
        if not assets_url:
            return (
                "cannot be sent: set newsletter.assets_url in postcli.toml to where assets/ "
                "is served"
            )
        return None
    path = PurePosixPath(urlsplit(url).path)
    looks_like_file = (
        kind == "image"
        or url.startswith(("./", "../", "assets/"))
        or path.suffix.lower() not in _PAGE_SUFFIXES
    )
    if looks_like_file:
        return "names a file that does not exist; fix the path or add the file"
    if not site_url:
        return "cannot be sent: set newsletter.url in postcli.toml, or write the full URL"
    return None


def is_merge_tag(url: str) -> bool:
    return url.startswith(("{", "*|", "%", "$"))


def is_local_host(url: str) -> bool:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return False
    if not host:
        return False
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith((".localhost", ".local")):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return (
        address.is_loopback or address.is_private or address.is_link_local or address.is_unspecified
    )


def short(text: str, limit: int = 60) -> str:
    text = normalise(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
