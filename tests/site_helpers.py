"""What the web edition's tests share: a sample workspace with `[site] url`, a fixed clock, a
build, and an HTML reader for the head's metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

from postcli import config
from postcli.site.build import SiteReport, build_site

SITE_URL = "https://example.com/archive"
# After both sample issues' send_at (2026-12-01 and 2026-12-08, 09:00 Asia/Seoul).
AFTER_BOTH = datetime(2026, 12, 31, tzinfo=UTC)
BETWEEN = datetime(2026, 12, 5, tzinfo=UTC)
FIRST = "2026-12-01-china-ai-global"
SECOND = "2026-12-08-open-weights-week"


def add_site_url(root: Path, url: str = SITE_URL, extra: str = "") -> Path:
    with (root / "postcli.toml").open("a", encoding="utf-8") as handle:
        handle.write(f'\n[site]\nurl = "{url}"\n{extra}')
    return root


def build(root: Path, now: datetime = AFTER_BOTH, **options: object) -> SiteReport:
    return build_site(config.load(root), now=now, **options)  # type: ignore[arg-type]


def write_issue(root: Path, issue_id: str, front: str, body: str) -> Path:
    path = root / "issues" / f"{issue_id}.md"
    path.write_text(f"---\n{front.strip()}\n---\n{body}", encoding="utf-8")
    return path


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


class Head(HTMLParser):
    """The <meta>, <link> and JSON-LD of a page, and every href/src/srcset in it."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.urls: list[str] = []
        self.json_ld: list[str] = []
        self.title = ""
        self.lang = ""
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.lang = a.get("lang", "")
        if tag == "meta":
            key = a.get("property") or a.get("name")
            if key:
                self.meta.setdefault(key, a.get("content", ""))
        if tag == "link" and a.get("rel"):
            self.links.setdefault(a["rel"], a.get("href", ""))
        for name in ("href", "src"):
            if a.get(name):
                self.urls.append(a[name])
        if a.get("srcset"):
            self.urls += [part.strip().split(" ")[0] for part in a["srcset"].split(",")]
        if tag == "script" and a.get("type") == "application/ld+json":
            self._in = "json"
        elif tag == "title":
            self._in = "title"

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "json":
            self.json_ld.append(data)
        elif self._in == "title":
            self.title += data
