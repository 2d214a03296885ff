"""Pre-flight checks: the parsed issue and its rendered emails -> findings.

Owns every rule of `postcli check` (docs/checks.md) and nothing else: it renders nothing
itself, sends nothing and never touches the ledger. The rules are pure functions of values;
the only look-ups outside those values (is there a local file for this relative URL, how big
is it) go through two small callables that default to the file system and that tests replace.

The API other commands use:

    findings = run_checks(issue, emails, settings, unsubscribe_url=provider.unsubscribe_tag)
    has_errors(findings)          # True: refuse to send

    report = check_issue(settings, "2026-12-01-slug", unsubscribe_url=provider.unsubscribe_tag)
    report.findings, report.has_errors, report.as_dict()   # as_dict() is the --json shape

`send` runs `run_checks` on the very emails it is about to hand to the provider, rendered with
the provider's unsubscribe merge tag (pass that tag as `unsubscribe_url`; the tags of the
built-in providers are known without it), and refuses when `has_errors` is true. `preview`
shows the same findings. The order of the list is the order `postcli check` prints.

A Finding's `variant` is None when it concerns the issue as a whole or every variant checked
alike, else the one variant it concerns. `path` and `line` point into the issue's Markdown
where the finding comes from it.

The premium-leak rule is deliberately independent of the renderer's variant filter: it
collects the premium-only passages from the issue's own tokens and searches every free
output for them, so a bug in the filter or a template cannot hide itself.
"""

from __future__ import annotations

import contextlib
import html as html_lib
import ipaddress
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from markdown_it.rules_core import block as block_rule
from markdown_it.rules_core import normalize as normalize_rule
from markdown_it.rules_core.state_core import StateCore
from markdown_it.token import Token

from postcli.config import UNSUBSCRIBE_MERGE_TAGS, Settings
from postcli.errors import IssueError
from postcli.issues import (
    PAYWALL_RE,
    Audience,
    Issue,
    Variant,
    markdown,
    parse_issue,
    read_text,
    resolve_issue_path,
)
from postcli.render import RenderedEmail, is_absolute_url, local_file, make_resolver

GMAIL_CLIP_BYTES = 102_000  # Gmail clips a message whose HTML is larger than this
LONG_SUBJECT_CHARS = 80
LARGE_IMAGE_BYTES = 1_000_000  # 1 MB
WIDE_IMAGE_PX = 1200  # twice the email's 600 px column
MIN_PASSAGE_CHARS = 12  # shorter premium fragments are too common to mean a leak
MAX_LEAKS_PER_VARIANT = 10  # beyond this, one summary finding: the cause is the same


class Level(StrEnum):
    ERROR = "error"
    WARNING = "warning"


# Every rule id, stable across releases, with its level. docs/checks.md describes each.
RULES: dict[str, Level] = {
    "premium-leak": Level.ERROR,
    "gmail-clip": Level.ERROR,
    "no-unsubscribe": Level.ERROR,
    "empty-subject": Level.ERROR,
    "unresolved-url": Level.ERROR,
    "javascript-link": Level.ERROR,
    "paywall-twice": Level.ERROR,
    "premium-in-free-audience": Level.ERROR,
    "missing-alt": Level.WARNING,
    "long-subject": Level.WARNING,
    "no-preheader": Level.WARNING,
    "placeholder": Level.WARNING,
    "local-link": Level.WARNING,
    "large-image": Level.WARNING,
    "wide-image": Level.WARNING,
    "image-no-width": Level.WARNING,
}

# Relative URL -> the workspace file it names, or None; and a file's size in bytes.
FindFile = Callable[[str], Path | None]
FileSize = Callable[[Path], int]


@dataclass(frozen=True)
class Finding:
    """One problem: how bad, which rule, what to do, and where it comes from."""

    level: Level
    rule: str
    message: str  # plain words: what is wrong, then what to do
    variant: Variant | None = None  # None: the issue as a whole, or every variant alike
    path: Path | None = None
    line: int | None = None

    @property
    def location(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else str(self.path)

    def as_dict(self) -> dict[str, Any]:
        return {
            "level": self.level.value,
            "rule": self.rule,
            "variant": self.variant.value if self.variant else None,
            "path": str(self.path) if self.path else None,
            "line": self.line,
            "message": self.message,
        }


def has_errors(findings: Iterable[Finding]) -> bool:
    return any(f.level is Level.ERROR for f in findings)


def _finding(rule: str, message: str, **where: Any) -> Finding:
    return Finding(RULES[rule], rule, message, **where)


# --- The entry point for commands ---------------------------------------------------------


@dataclass(frozen=True)
class Report:
    issue: Issue
    emails: dict[Variant, RenderedEmail]
    findings: list[Finding]

    @property
    def has_errors(self) -> bool:
        return has_errors(self.findings)

    @property
    def errors(self) -> int:
        return sum(f.level is Level.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.level is Level.WARNING for f in self.findings)

    def as_dict(self, display_path: Callable[[Path], str] = str) -> dict[str, Any]:
        """The stable JSON shape of `postcli check --json` (docs/checks.md)."""
        findings = []
        for finding in self.findings:
            item = finding.as_dict()
            if finding.path is not None:
                item["path"] = display_path(finding.path)
            findings.append(item)
        return {
            "issue": self.issue.id,
            "path": display_path(self.issue.path),
            "variants": [v.value for v in self.emails],
            "ok": not self.has_errors,
            "errors": self.errors,
            "warnings": self.warnings,
            "findings": findings,
        }


def check_issue(
    settings: Settings,
    issue_arg: str | Path,
    *,
    unsubscribe_url: str | None = None,
    find_file: FindFile | None = None,
    file_size: FileSize | None = None,
) -> Report:
    """Load ISSUE (a path or an id), render what its audience gets, and run every check.

    A second paywall marker becomes a finding rather than an IssueError, so the rest of the
    issue is still checked. `unsubscribe_url` is what a send would put in: the provider's merge
    tag (pass it for a provider not listed in UNSUBSCRIBE_MERGE_TAGS), else
    newsletter.unsubscribe_url.
    """
    from postcli.render import render_issue

    path = resolve_issue_path(str(issue_arg), settings.issues_dir)
    issue, structure = load_tolerant(path)
    if unsubscribe_url is None:
        unsubscribe_url = (
            UNSUBSCRIBE_MERGE_TAGS.get(settings.provider) or settings.newsletter.unsubscribe_url
        )
    emails = render_issue(issue, settings, unsubscribe_url=unsubscribe_url)
    findings = structure + run_checks(
        issue,
        emails,
        settings,
        unsubscribe_url=unsubscribe_url,
        find_file=find_file,
        file_size=file_size,
    )
    findings += site_page_leaks(issue, settings)
    return Report(issue, emails, _sorted(findings))


def site_page_leaks(issue: Issue, settings: Settings) -> list[Finding]:
    """The premium-leak rule over the issue's page in the web edition, when one was built
    (site/ and site-drafts/): the page is public, so it is held to the free email's rule."""
    findings: list[Finding] = []
    for folder in ("site", "site-drafts"):
        page = settings.root / folder / issue.id / "index.html"
        if not page.is_file():
            continue
        html = page.read_text(encoding="utf-8", errors="replace")
        as_email = RenderedEmail(issue.id, Variant.FREE, "", None, html, "", True)
        doc = _Document(issue, (Variant.FREE,))
        findings += _premium_leaks(doc, as_email, settings, where=f"{folder}/{issue.id}/index.html")
    return findings


def load_tolerant(path: Path) -> tuple[Issue, list[Finding]]:
    """Parse the issue; each extra paywall marker becomes a paywall-twice finding and is
    ignored, where `load_issue` would stop at it. Any other problem raises IssueError."""
    text = read_text(path)
    findings: list[Finding] = []
    while True:
        try:
            return parse_issue(text, path), findings
        except IssueError as exc:
            lines = text.split("\n")
            line = exc.line or 0
            if not (
                exc.message.startswith("a second paywall marker")
                and 0 < line <= len(lines)
                and PAYWALL_RE.match(lines[line - 1].strip())
            ):
                raise
            findings.append(
                _finding(
                    "paywall-twice",
                    f"a second paywall marker ({exc.hint or 'an issue has one'}); "
                    "delete one of them: everything below the first is premium-only anyway",
                    path=path,
                    line=line,
                )
            )
            lines[line - 1] = ""
            text = "\n".join(lines)


# --- All the rules ------------------------------------------------------------------------


def run_checks(
    issue: Issue,
    emails: dict[Variant, RenderedEmail],
    settings: Settings,
    *,
    unsubscribe_url: str | None = None,
    find_file: FindFile | None = None,
    file_size: FileSize | None = None,
) -> list[Finding]:
    """Every rule on one issue and the emails rendered from it.

    `unsubscribe_url` is the unsubscribe link the emails were rendered with, when a provider
    passed its own merge tag; the known tags and newsletter.unsubscribe_url count anyway.

    Sorted as `postcli check` shows them: the issue as a whole, then free, then premium; in
    each group errors first, then by line.
    """
    if find_file is None:

        def find_file(url: str) -> Path | None:
            return local_file(issue, settings, url)

    if file_size is None:

        def file_size(path: Path) -> int:
            return path.stat().st_size

    doc = _Document(issue, tuple(emails))
    per_variant: list[Finding] = []
    for variant, email in emails.items():
        per_variant += _email_rules(doc, variant, email, settings, unsubscribe_url)
    findings = [
        *_structure_rules(doc),
        *_source_rules(doc, settings, find_file, file_size),
        *_merge_variants(per_variant, set(emails)),
    ]
    if Variant.FREE in emails:
        findings += _premium_leaks(doc, emails[Variant.FREE], settings)
    return _sorted(findings)


def _sorted(findings: list[Finding]) -> list[Finding]:
    order = {None: 0, Variant.FREE: 1, Variant.PREMIUM: 2}
    return sorted(
        findings,
        key=lambda f: (order[f.variant], f.level is not Level.ERROR, f.line or 0, f.rule),
    )


def _merge_variants(findings: list[Finding], checked: set[Variant]) -> list[Finding]:
    """A finding that every checked variant shares, word for word, is reported once."""
    if len(checked) < 2:
        return findings
    out: list[Finding] = []
    seen: dict[tuple[Any, ...], set[Variant | None]] = {}
    for f in findings:
        seen.setdefault((f.rule, f.message, f.path, f.line), set()).add(f.variant)
    for f in findings:
        variants = seen[(f.rule, f.message, f.path, f.line)]
        if variants >= checked:
            if f.variant is min(checked):
                out.append(Finding(f.level, f.rule, f.message, None, f.path, f.line))
        else:
            out.append(f)
    return out


# --- The issue, parsed for checking --------------------------------------------------------


@dataclass
class _Item:
    """Something in the body a rule looks at: a link, an image, a run of text."""

    kind: str  # "text" | "link" | "image" | "code"
    value: str  # the text, the URL, the image's src
    line: int  # file line
    alt: str = ""
    raw: bool = False  # written as HTML: sent exactly as written, never resolved


@dataclass
class _Document:
    """The issue parsed once for the rules, with each body line's variants known."""

    issue: Issue
    checked: tuple[Variant, ...]
    premium_only: list[tuple[int, int]] = field(default_factory=list)  # body line ranges
    free_only: list[tuple[int, int]] = field(default_factory=list)
    items: list[_Item] = field(default_factory=list)  # the whole body, all references kept
    code_lines: set[int] = field(default_factory=set)  # body lines inside code blocks

    def __post_init__(self) -> None:
        issue = self.issue
        for block in issue.blocks:
            span = issue.tokens[block.start].map or [0, 0]
            target = self.premium_only if block.kind is Variant.PREMIUM else self.free_only
            target.append((span[0], span[1]))
        if issue.paywall is not None:
            span = issue.tokens[issue.paywall].map or [0, 0]
            self.premium_only.append((span[0], 1 << 30))
        for token in issue.tokens:
            if token.type in ("fence", "code_block") and token.map:
                self.code_lines.update(range(token.map[0], token.map[1]))
        self.items = list(self._collect(issue.env))

    def body_index(self, line: int) -> int:
        return line - self.issue.body_line

    def is_premium_only(self, line: int) -> bool:
        index = self.body_index(line)
        return any(start <= index < end for start, end in self.premium_only)

    def variants_of(self, line: int) -> set[Variant]:
        """The checked variants that carry this file line."""
        index = self.body_index(line)
        if index < 0:  # front matter: every variant
            return set(self.checked)
        out = set(self.checked)
        if any(start <= index < end for start, end in self.premium_only):
            out.discard(Variant.FREE)
        if any(start <= index < end for start, end in self.free_only):
            out.discard(Variant.PREMIUM)
        return out

    def variant_of(self, line: int) -> tuple[bool, Variant | None]:
        """(sent at all, the variant to name or None for every variant checked)."""
        variants = self.variants_of(line)
        if not variants:
            return False, None
        if len(variants) == len(self.checked) and len(variants) > 1:
            return True, None
        return True, next(iter(sorted(variants)))

    def parse(self, env: dict[str, Any]) -> list[Token]:
        """The whole body with its inline content parsed (nothing cut), given references."""
        md = markdown()
        state = StateCore(self.issue.source, md, env)
        state.tokens = [t.copy(children=None) for t in self.issue.tokens]
        for rule in md.core.ruler.getRules(""):
            if rule not in (normalize_rule, block_rule):
                rule(state)
        return state.tokens

    def _collect(self, env: dict[str, Any]) -> Iterable[_Item]:
        lines = self.issue.source.split("\n")
        for token in self.parse(_copy_env(env)):
            if not token.map:
                continue
            line = self.issue.line_of(token)
            if token.type in ("fence", "code_block"):
                for offset, text in enumerate(token.content.split("\n")):
                    first = line + 1 if token.type == "fence" else line  # after the ``` line
                    yield _Item("code", text, first + offset)
            elif token.type == "html_block":
                yield _Item("text", _strip_tags(token.content), line)
                yield from _html_inline_items(token.content, line)
            elif token.type == "inline":
                yield from _inline_items(token, line, lines, self.issue.body_line)


def _copy_env(env: dict[str, Any]) -> dict[str, Any]:
    return {
        "references": dict(env.get("references", {})),
        "duplicate_refs": list(env.get("duplicate_refs", [])),
        "footnotes": {"refs": dict(env.get("footnotes", {}).get("refs", {}))},
    }


def _inline_items(token: Token, line: int, lines: list[str], body_line: int) -> Iterable[_Item]:
    """Text runs (split where formatting starts or ends), links and images of one inline."""
    span = token.map or [line - body_line, line - body_line + 1]

    def exact_line(needle: str) -> int:
        # An inline may span lines; name the one that holds the thing, when it can be told.
        for index in range(span[0], min(span[1], len(lines))):
            if needle and needle in lines[index]:
                return body_line + index
        return line

    run: list[str] = []

    def flush() -> Iterable[_Item]:
        text = "".join(run)
        run.clear()
        if text.strip():
            yield _Item("text", text, exact_line(text.split("\n")[0].strip()[:40]))

    for child in token.children or []:
        if child.type == "text":
            run.append(child.content)
            continue
        if child.type in ("softbreak", "hardbreak"):
            run.append("\n")
            continue
        yield from flush()
        if child.type == "code_inline":
            yield _Item("code", child.content, exact_line(child.content))
        elif child.type == "link_open":
            href = str(child.attrGet("href") or "")
            yield _Item("link", href, exact_line(href))
        elif child.type == "image":
            src = str(child.attrGet("src") or "")
            alt = child.content or "".join(c.content for c in child.children or [])
            yield _Item("image", src, exact_line(src), alt=alt)
            if alt.strip():
                yield _Item("text", alt, exact_line(src))
            title = child.attrGet("title")
            if title:
                yield _Item("text", str(title), exact_line(src))
        elif child.type == "html_inline":
            yield from _html_inline_items(child.content, exact_line(child.content))
    yield from flush()


def _html_inline_items(content: str, line: int) -> Iterable[_Item]:
    for tag in _HtmlTags.of(content):
        if tag.name == "a" and tag.attrs.get("href") is not None:
            yield _Item("link", tag.attrs["href"] or "", line, raw=True)
        elif tag.name == "img":
            alt = tag.attrs.get("alt") or ""
            yield _Item("image", tag.attrs.get("src") or "", line, alt=alt, raw=True)


# --- HTML, read with the standard library ---------------------------------------------------


@dataclass(frozen=True)
class _Tag:
    name: str
    attrs: dict[str, str | None]


class _HtmlTags(HTMLParser):
    """The <a> and <img> tags of an HTML document, attribute values unescaped."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[_Tag] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "img"):
            self.tags.append(_Tag(tag, dict(attrs)))

    handle_startendtag = handle_starttag

    @classmethod
    def of(cls, html: str) -> list[_Tag]:
        parser = cls()
        parser.feed(html)
        parser.close()
        return parser.tags


_TAG_RE = re.compile(r"<!--.*?-->|<[^>]*>", re.S)
_HEAD_RE = re.compile(r"<(style|script|title|head)\b.*?</\1\s*>", re.S | re.I)


def _strip_tags(html: str) -> str:
    return html_lib.unescape(_TAG_RE.sub(" ", html))


def _normalise(text: str) -> str:
    return " ".join(text.split())


# --- Rules on the issue's structure ---------------------------------------------------------


def _structure_rules(doc: _Document) -> list[Finding]:
    issue = doc.issue
    if issue.front.audience is not Audience.FREE:
        return []
    out = []
    what_to_do = (
        "free readers get nothing premium: remove it, or set 'audience: all' to send both variants"
    )
    if issue.paywall is not None:
        out.append(
            _finding(
                "premium-in-free-audience",
                f"a paywall marker in an issue for 'audience: free'; {what_to_do}",
                path=issue.path,
                line=issue.paywall_line,
            )
        )
    for block in issue.blocks:
        if block.kind is Variant.PREMIUM:
            out.append(
                _finding(
                    "premium-in-free-audience",
                    f"a '::: premium' block in an issue for 'audience: free'; {what_to_do}",
                    path=issue.path,
                    line=block.line,
                )
            )
    return out


# --- Rules on the Markdown source -----------------------------------------------------------

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
_BARE_DOMAIN_RE = re.compile(
    r"^(www\.|([a-z0-9-]+\.)+(com|org|net|io|dev|co|kr|jp|ai|app|me|news|blog)(/|$))", re.I
)
_PAGE_SUFFIXES = ("", ".html", ".htm", ".php", ".asp", ".aspx")


def _source_rules(
    doc: _Document, settings: Settings, find_file: FindFile, file_size: FileSize
) -> list[Finding]:
    issue = doc.issue
    out: list[Finding] = []

    def add(rule: str, message: str, line: int) -> None:
        sent, variant = doc.variant_of(line)
        if sent:
            out.append(_finding(rule, message, variant=variant, path=issue.path, line=line))

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
    for line_no, raw in lines:
        text = _CODE_SPAN_RE.sub("", raw)
        if _JS_LINK_RE.search(text):
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
                f"image '{_short(shown)}' has no alt text; describe it in the brackets, "
                "![like this](...): many readers see images off",
                item.line,
            )
        if url.lower().startswith(("javascript:", "vbscript:")):
            continue  # reported from the source line above
        if _is_local_host(url):
            add(
                "local-link",
                f"{noun} to a local address '{_short(shown)}' that readers cannot reach; "
                "use the public URL",
                item.line,
            )
        if not url or url.startswith("#") or is_absolute_url(url) or _is_merge_tag(url):
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
                    else (
                        "is premium-only, and the web edition never publishes those: set "
                        "newsletter.assets_url to where assets/ is served"
                    )
                )
            if problem is None and not is_absolute_url(sent):
                problem = "cannot be resolved for sending; write the full URL"
        if problem:
            add("unresolved-url", f"relative {noun} '{_short(shown)}' {problem}", item.line)
        if item.kind == "image" and found is not None:
            size = file_size(found)
            if size > LARGE_IMAGE_BYTES:
                add(
                    "large-image",
                    f"image '{_short(shown)}' is {size / 1_000_000:.1f} MB; resize or compress "
                    "it under 1 MB: big images load slowly and some clients skip them",
                    item.line,
                )
            width = _image_width(found)
            if width > WIDE_IMAGE_PX:
                add(
                    "wide-image",
                    f"image '{_short(shown)}' is {width:,} px wide, over {WIDE_IMAGE_PX:,} (twice "
                    "the email's width); resize it: the email downloads every pixel",
                    item.line,
                )
    return out


def _image_width(path: Path) -> int:
    """Pixels across, read from the file's header; 0 when it is no image Pillow knows."""
    try:
        from PIL import Image

        with Image.open(path) as image:
            return int(image.width)
    except Exception:  # not an image, or no Pillow: the size rule still applies
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
    if _BARE_DOMAIN_RE.match(url):
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


def _is_merge_tag(url: str) -> bool:
    return url.startswith(("{", "*|", "%", "$"))


def _is_local_host(url: str) -> bool:
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


def _short(text: str, limit: int = 60) -> str:
    text = _normalise(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- Rules on each rendered email -----------------------------------------------------------


def _visible(text: str) -> str:
    """The text without whitespace and invisible format characters (zero-width and such)."""
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] != "C")


def _email_rules(
    doc: _Document,
    variant: Variant,
    email: RenderedEmail,
    settings: Settings,
    unsubscribe_url: str | None,
) -> list[Finding]:
    issue, front = doc.issue, doc.issue.front
    out: list[Finding] = []
    subject_line = front.lines.get("subject") or front.lines.get("title")

    def add(rule: str, message: str, line: int | None = None) -> None:
        where = {"path": issue.path, "line": line} if line else {}
        out.append(_finding(rule, message, variant=variant, **where))

    if not _visible(email.subject):
        add(
            "empty-subject",
            "the subject is empty; give the issue a 'subject:' or 'title:'",
            subject_line,
        )
    elif len(email.subject) > LONG_SUBJECT_CHARS:
        add(
            "long-subject",
            f"the subject is {len(email.subject)} characters; inboxes cut it near "
            f"{LONG_SUBJECT_CHARS}, so shorten it or set a shorter 'subject:'",
            subject_line,
        )
    if not email.preheader or not _visible(email.preheader):
        add(
            "no-preheader",
            "no preheader: inboxes will show the first words of the email instead; add "
            "'preheader:' (or 'subtitle:') to the front matter",
            front.lines.get("title"),
        )
    if email.html_bytes > GMAIL_CLIP_BYTES:
        add(
            "gmail-clip",
            f"the HTML is {email.html_bytes:,} bytes, over Gmail's {GMAIL_CLIP_BYTES:,}: Gmail "
            "hides the rest behind 'View entire message', unsubscribe link included; shorten "
            "the issue or its templates",
        )

    tags = _HtmlTags.of(email.html)
    hrefs = [t.attrs.get("href") or "" for t in tags if t.name == "a"]
    if not any(_is_unsubscribe(href, settings, unsubscribe_url) for href in hrefs):
        add(
            "no-unsubscribe",
            "no unsubscribe link in the HTML; set newsletter.unsubscribe_url in postcli.toml "
            "(the file and smtp providers need it) and keep the template's unsubscribe link",
        )

    # What the source rules saw, by the URL that is sent, to name a line and not repeat them.
    resolve = make_resolver(issue, settings)
    source_urls: dict[str, tuple[int, str]] = {}  # URL as sent -> (line, URL as written)
    for item in doc.items:
        if item.kind in ("link", "image"):
            written = item.value.strip()
            source_urls.setdefault(written, (item.line, written))
            sent = resolve("img" if item.kind == "image" else "a", written)
            source_urls.setdefault(sent, (item.line, written))
    for tag in tags:
        url = (tag.attrs.get("src" if tag.name == "img" else "href") or "").strip()
        line, written = source_urls.get(url, (None, url))
        if tag.name == "img" and not tag.attrs.get("width"):
            add(
                "image-no-width",
                f"image '{_short(written)}' has no width, so Outlook shows it at its full size; "
                "put it in a paragraph of its own (it becomes a full-width figure), or give "
                "the <img> a width",
                line,
            )
        if line is not None:
            continue  # its other problems were reported from the Markdown, with the line
        if tag.name == "img" and tag.attrs.get("alt") is None:
            add(
                "missing-alt",
                f"image '{_short(url)}' has no alt attribute (from a template?); add "
                'alt="..." describing it',
            )
        lowered = url.lower()
        if lowered.startswith(("javascript:", "vbscript:")):
            add(
                "javascript-link",
                "a 'javascript:' link in the HTML (from a template?); link to a web page instead",
            )
        elif _is_local_host(url):
            add(
                "local-link",
                f"a link to a local address '{_short(url)}' in the HTML (from "
                "postcli.toml or a template?); use the public URL",
            )
        elif (
            url and not url.startswith("#") and not is_absolute_url(url) and not _is_merge_tag(url)
        ):
            add(
                "unresolved-url",
                f"relative URL '{_short(url)}' in the HTML (from a "
                "template?) cannot be followed from an inbox; write the full URL",
            )
    return out


def _is_unsubscribe(href: str, settings: Settings, rendered_with: str | None) -> bool:
    href = href.strip()
    if not href:
        return False
    if rendered_with and href == rendered_with.strip():
        return True
    compact = href.replace(" ", "")
    for tag in UNSUBSCRIBE_MERGE_TAGS.values():
        if tag.replace(" ", "") in compact:
            return True
    if _is_merge_tag(href) and "unsub" in href.lower():
        return True  # another provider's tag, like {{unsubscribe_link}} or %%unsubscribe%%
    configured = settings.newsletter.unsubscribe_url
    if not configured:
        return False
    # A per-recipient link has its {email} filled in: each {placeholder} matches any text.
    pattern = ".+".join(re.escape(part) for part in re.split(r"\{[^{}]*\}", configured))
    return href == configured or re.fullmatch(pattern, href) is not None


# --- premium-leak: the independent check ----------------------------------------------------

_SENTENCE_RE = re.compile(r"(?<=[.!?。！？…])\s+|\n\s*\n")


def _passages(text: str) -> Iterable[str]:
    for sentence in _SENTENCE_RE.split(text):
        sentence = _normalise(sentence)
        if len(sentence) >= MIN_PASSAGE_CHARS:
            yield sentence


def _free_visible(doc: _Document, settings: Settings) -> str:
    """Everything a free reader may legitimately see, as one normalised string."""
    from postcli.render import markdown as render_markdown
    from postcli.render import templates

    issue = doc.issue
    # References defined in premium-only lines do not resolve for free readers.
    env = _copy_env(issue.env)
    env["references"] = {
        label: ref
        for label, ref in env["references"].items()
        if not doc.is_premium_only(issue.body_line + ref["map"][0])
    }
    resolve = make_resolver(issue, settings)
    parts: list[str] = []
    lines = issue.source.split("\n")
    for token in doc.parse(env):
        if not token.map or doc.is_premium_only(issue.line_of(token)):
            continue
        if token.type in ("fence", "code_block", "html_block"):
            parts.append(token.content)
        elif token.type == "inline":
            for item in _inline_items(token, issue.line_of(token), lines, issue.body_line):
                parts.append(item.value)
                if item.kind in ("link", "image"):
                    parts.append(resolve("img" if item.kind == "image" else "a", item.value))
    front = issue.front
    pitch = settings.premium.merged(front.upgrade)
    newsletter = settings.newsletter
    parts += [front.title, front.subtitle or "", issue.id, *front.tags]
    parts += [pitch.heading, pitch.text, pitch.button, pitch.upgrade_url, *pitch.benefits]
    parts.append(render_markdown.markdown_text(pitch.text))  # the pitch as its email shows it
    parts += [
        settings.site.url or "",
        settings.site.title or "",
        settings.site.issue_url(issue.id) or "",
    ]
    if newsletter.web_url:
        with contextlib.suppress(KeyError, IndexError, ValueError):
            parts.append(newsletter.web_url.format(id=issue.id))  # the "view in browser" link
    parts += [
        str(v or "")
        for v in (
            newsletter.name,
            newsletter.from_,
            newsletter.url,
            newsletter.web_url,
            newsletter.unsubscribe_url,
            newsletter.reply_to,
        )
    ]
    try:
        words = templates.strings(newsletter.lang, settings.templates_dir)
    except Exception:  # a broken strings.toml is reported by the render, not here
        words = {}
    parts += [str(v) for v in words.values() if isinstance(v, str)]
    return "\x00".join(_normalise(p) for p in parts)


def _premium_passages(doc: _Document, settings: Settings) -> list[tuple[str, int, str]]:
    """(passage, file line, what it is) for every distinctive premium-only passage."""
    issue = doc.issue
    resolve = make_resolver(issue, settings)
    out: list[tuple[str, int, str]] = []
    for item in doc.items:
        if not doc.is_premium_only(item.line):
            continue
        if item.kind in ("text", "code"):
            for passage in _passages(item.value):
                out.append((passage, item.line, "text"))
        else:
            kind = "img" if item.kind == "image" else "a"
            noun = "image" if item.kind == "image" else "link"
            for url in {item.value.strip(), resolve(kind, item.value.strip())}:
                if len(url) >= MIN_PASSAGE_CHARS and not url.startswith("#"):
                    out.append((url, item.line, noun))
    for ref in [*issue.env.get("references", {}).values(), *issue.env.get("duplicate_refs", [])]:
        line = issue.body_line + ref["map"][0]
        href = str(ref.get("href", "")).strip()
        if doc.is_premium_only(line) and len(href) >= MIN_PASSAGE_CHARS:
            out.append((href, line, "link"))
            out.append((resolve("a", href), line, "link"))
    return out


def _premium_leaks(
    doc: _Document, email: RenderedEmail, settings: Settings, where: str = "the free email"
) -> list[Finding]:
    passages = _premium_passages(doc, settings)
    if not passages:
        return []
    allowed = _free_visible(doc, settings)
    body_html = _HEAD_RE.sub(" ", email.html)
    outputs = (
        ("the HTML", _normalise(_strip_tags(body_html))),
        ("the plain text", _normalise(email.text)),
        ("the subject", _normalise(email.subject)),
        ("the preheader", _normalise(email.preheader or "")),
        (
            "the HTML source (an attribute, comment or the head)",
            _normalise(html_lib.unescape(email.html)),
        ),
    )
    leaks: list[Finding] = []
    reported: set[str] = set()
    for passage, line, what in passages:
        if passage in reported or passage in allowed:
            continue
        found_in = [name for name, text in outputs if passage in text]
        if not found_in:
            continue
        reported.add(passage)
        leaks.append(
            _finding(
                "premium-leak",
                f"premium-only {what} \u201c{_short(passage)}\u201d is in {where} "
                f"({', '.join(found_in)}); free readers must not get it: look for it in the "
                "front matter and templates, and report a bug if it comes from postcli",
                variant=Variant.FREE,
                path=doc.issue.path,
                line=line,
            )
        )
    if len(leaks) > MAX_LEAKS_PER_VARIANT:
        extra = len(leaks) - MAX_LEAKS_PER_VARIANT
        first_hidden = leaks[MAX_LEAKS_PER_VARIANT]
        leaks = [
            *leaks[:MAX_LEAKS_PER_VARIANT],
            _finding(
                "premium-leak",
                f"and {extra} more premium-only passages in {where}; fix the ones "
                "above first: they likely share one cause",
                variant=Variant.FREE,
                path=doc.issue.path,
                line=first_hidden.line,
            ),
        ]
    return leaks
