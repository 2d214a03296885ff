"""`postcli site`: what is published, the pages and their metadata, the feed and sitemap, the
images, the incremental build, the hooks into the emails and `check`, and `--serve`."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from postcli import config
from site_helpers import (
    BETWEEN,
    FIRST,
    SECOND,
    SITE_URL,
    Head,
    add_site_url,
    build,
    files_of,
    write_issue,
)

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
PREMIUM_SENTENCE = "동남아시아는 중국 AI 기업에게 가장 자연스러운"  # below the sample's paywall


@pytest.fixture
def site_root(workspace: Path) -> Path:
    """The sample workspace with [site] url, and its second issue given a send_at too."""
    second = workspace / "issues" / f"{SECOND}.md"
    text = second.read_text(encoding="utf-8")
    second.write_text(
        text.replace("---\n", '---\nsend_at: "2026-12-08 09:00"\n', 1), encoding="utf-8"
    )
    return add_site_url(workspace)


# --- what is published ---------------------------------------------------------------------------


def test_site_without_a_site_url_exits_1_and_says_what_to_add(workspace: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("-C", workspace, "site")
    assert result.exit_code == 1
    assert "[site] url is not set" in result.stderr
    assert "Traceback" not in result.output
    assert not (workspace / "site").exists()


def test_a_site_url_that_is_not_http_is_a_config_error(workspace: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    add_site_url(workspace, "ftp://example.com/x")
    result = run_cli("-C", workspace, "site")
    assert result.exit_code == 1
    assert "postcli.toml" in result.stderr and "[site]" in result.stderr


def test_only_issues_whose_time_has_come_are_published(site_root: Path) -> None:
    write_issue(
        site_root,
        "2026-11-20-held-back",
        "title: Held back\ndraft: true\nsend_at: 2026-11-20 09:00",
        "Draft text.\n",
    )
    write_issue(
        site_root, "2027-01-10-future", "title: Future\nsend_at: 2027-01-10 09:00", "Later.\n"
    )
    write_issue(site_root, "2026-11-25-unsent", "title: Never sent, no send_at", "Nothing.\n")
    report = build(site_root, now=BETWEEN)
    site = site_root / "site"
    assert [e.id for e in report.entries] == [FIRST]
    assert (site / FIRST / "index.html").is_file()
    for absent in (SECOND, "2026-11-20-held-back", "2027-01-10-future", "2026-11-25-unsent"):
        assert not (site / absent).exists()
        assert absent not in (site / "index.html").read_text(encoding="utf-8")
        assert absent not in (site / "feed.xml").read_text(encoding="utf-8")
        assert absent not in (site / "sitemap.xml").read_text(encoding="utf-8")


def test_an_issue_sent_per_the_ledger_is_published_at_its_send_time(
    site_root: Path, run_cli
) -> None:  # type: ignore[no-untyped-def]
    write_issue(
        site_root, "2026-11-02-sent-now", "title: Sent with --now", "Body of a sent issue.\n"
    )
    assert run_cli("-C", site_root, "send", "2026-11-02-sent-now", "--now", "--yes").exit_code == 0
    report = build(site_root, now=BETWEEN)
    entry = next(e for e in report.entries if e.id == "2026-11-02-sent-now")
    assert abs((entry.when - datetime.now(UTC)).total_seconds()) < 120
    assert (site_root / "site" / "2026-11-02-sent-now" / "index.html").is_file()


def test_drafts_build_into_their_own_folder_marked_and_noindex(site_root: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    write_issue(site_root, "2026-11-20-held-back", "title: Held back\ndraft: true", "Draft text.\n")
    build(site_root, now=BETWEEN)
    build(site_root, now=BETWEEN, drafts=True)
    drafts = site_root / "site-drafts"
    page = (drafts / "2026-11-20-held-back" / "index.html").read_text(encoding="utf-8")
    assert Head(page).meta["robots"] == "noindex, nofollow"
    assert 'class="badge">Draft' in page or "초안" in page
    future = (drafts / SECOND / "index.html").read_text(encoding="utf-8")
    assert "발행 전" in future  # not published yet
    index = (drafts / "index.html").read_text(encoding="utf-8")
    assert Head(index).meta["robots"] == "noindex, nofollow" and "검토용 사본" in index
    # The public folder was left alone: still only the published issue.
    assert not (site_root / "site" / "2026-11-20-held-back").exists()
    assert "noindex" not in (site_root / "site" / FIRST / "index.html").read_text(encoding="utf-8")


def test_send_refuses_a_draft_and_send_due_skips_it(site_root: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    write_issue(
        site_root,
        "2026-11-20-held-back",
        "title: Held back\ndraft: true\nsend_at: 2026-11-20 09:00",
        "Draft.\n",
    )
    result = run_cli("-C", site_root, "send", "2026-11-20-held-back", "--now", "--yes")
    assert result.exit_code == 1 and "draft" in result.stderr
    assert not (site_root / "outbox" / "2026-11-20-held-back").exists()


# --- pages and metadata --------------------------------------------------------------------------


def test_issue_page_metadata_is_complete_absolute_and_escaped(site_root: Path) -> None:
    build(site_root)
    html = (site_root / "site" / FIRST / "index.html").read_text(encoding="utf-8")
    head = Head(html)
    canonical = f"{SITE_URL}/{FIRST}/"
    assert head.lang == "ko"
    assert head.title == "'글로벌 시장'을 향한 '중국 AI'의 탐험 · AI 글로벌 브리프"
    assert head.links["canonical"] == canonical and head.meta["og:url"] == canonical
    assert head.links["alternate"] == f"{SITE_URL}/feed.xml"
    assert head.meta["description"].startswith("오픈 웨이트 공개부터")  # the preheader
    assert head.meta["og:type"] == "article" and head.meta["twitter:card"] == "summary_large_image"
    image = head.meta["og:image"]
    assert image.startswith(f"{SITE_URL}/assets/") and head.meta["twitter:image"] == image
    assert (site_root / "site" / "assets" / image.rsplit("/", 1)[1]).is_file()
    assert head.meta["og:image:alt"].startswith("2024년부터 2026년까지")  # the first free image
    article = json.loads("".join(head.json_ld))
    assert (
        article["@type"] == "Article"
        and article["headline"] == "'글로벌 시장'을 향한 '중국 AI'의 탐험"
    )
    assert article["url"] == canonical and article["datePublished"] == "2026-12-01T09:00:00+09:00"
    assert "\\u0027" not in html and "&#39;글로벌" in html  # autoescaped in the markup
    assert '<a class="skip" href="#main">' in html and '<main id="main"' in html
    assert "<script" not in html.replace('<script type="application/ld+json">', "")


def test_values_cannot_break_out_of_the_markup_or_the_json_ld(site_root: Path) -> None:
    from postcli.site.meta import script_json

    hostile = '</script><!-- "quoted" & <b>bold</b>'
    write_issue(
        site_root,
        "2026-11-03-hostile",
        f"title: '{hostile}'\nsubtitle: '<img src=x onerror=alert(1)>'\nsend_at: 2026-11-03 09:00",
        "Text.\n",
    )
    build(site_root)
    html = (site_root / "site" / "2026-11-03-hostile" / "index.html").read_text(encoding="utf-8")
    script = html.split('<script type="application/ld+json">', 1)[1].split("</script>", 1)[0]
    assert "<" not in script and ">" not in script and "&" not in script and "\u2028" not in script
    assert json.loads(script)["headline"] == hostile
    assert str(script_json({"a": "x\u2028y"})) == '{"a":"x\\u2028y"}'
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>bold</b>" not in html


def test_the_free_page_ends_with_the_upgrade_block_and_holds_no_premium_text(
    site_root: Path,
) -> None:
    build(site_root)
    html = (site_root / "site" / FIRST / "index.html").read_text(encoding="utf-8")
    article = html.split('<article class="issue">', 1)[1].split("</article>", 1)[0]
    assert article.rstrip().endswith("</section>") and 'class="upgrade"' in article
    assert "https://example.com/upgrade" in article
    assert PREMIUM_SENTENCE not in html
    assert "map.png" not in html and "chart-3" not in html


def test_an_all_free_issue_is_whole_and_a_premium_issue_is_title_and_pitch(site_root: Path) -> None:
    write_issue(
        site_root,
        "2026-11-04-all-free",
        "title: All free\nsend_at: 2026-11-04 09:00",
        "Everyone reads FREEWHOLE text.\n\nAnd the end.\n",
    )
    write_issue(
        site_root,
        "2026-11-05-premium",
        "title: Premium only\nsubtitle: For paying readers\naudience: premium\n"
        "send_at: 2026-11-05 09:00",
        "PREMIUMBODY paragraph only premium readers get.\n\n"
        "![a chart](../assets/2026-12-01/chart-4.png)\n",
    )
    build(site_root)
    free = (site_root / "site" / "2026-11-04-all-free" / "index.html").read_text(encoding="utf-8")
    assert "FREEWHOLE" in free and "And the end." in free and 'class="upgrade"' not in free
    premium = (site_root / "site" / "2026-11-05-premium" / "index.html").read_text(encoding="utf-8")
    assert "Premium only" in premium and "For paying readers" in premium
    assert 'class="upgrade"' in premium and "PREMIUMBODY" not in premium
    assert "og:image" not in premium
    feed = (site_root / "site" / "feed.xml").read_text(encoding="utf-8")
    assert "PREMIUMBODY" not in feed
    from postcli.site.assets import asset_name

    chart = asset_name(site_root / "assets" / "2026-12-01" / "chart-4.png")
    assert not (site_root / "site" / "assets" / chart).exists()


def test_index_tag_pages_and_pagination(site_root: Path) -> None:
    for number in range(1, 52):
        write_issue(
            site_root,
            f"2026-10-{(number % 28) + 1:02d}-n{number:02d}",
            f"title: Issue {number}\ntags: [모음, 'Deep Dive']\n"
            f"send_at: 2026-10-{(number % 28) + 1:02d} 09:{number:02d}",
            f"Text {number}.\n",
        )
    build(site_root)
    site = site_root / "site"
    first = (site / "index.html").read_text(encoding="utf-8")
    second = (site / "page" / "2" / "index.html").read_text(encoding="utf-8")
    assert first.count("<li>\n<article>") == 50 and second.count("<li>\n<article>") == 3
    assert first.index(SECOND) < first.index(FIRST)  # newest first
    assert 'href="page/2/" rel="next"' in first and 'href="../../" rel="prev"' in second
    tag = (site / "tags" / "모음" / "index.html").read_text(encoding="utf-8")
    assert (
        "‘모음’ 태그의 호" in tag
        and (site / "tags" / "모음" / "page" / "2" / "index.html").is_file()
    )
    assert (site / "tags" / "deep-dive" / "index.html").is_file()
    assert f"{SITE_URL}/tags/%EB%AA%A8%EC%9D%8C/" in (site / "sitemap.xml").read_text(
        encoding="utf-8"
    )


def test_404_page_uses_absolute_paths(site_root: Path) -> None:
    build(site_root)
    page = (site_root / "site" / "404.html").read_text(encoding="utf-8")
    head = Head(page)
    assert head.meta["robots"] == "noindex, nofollow"
    assert any(u.startswith("/archive/assets/") and u.endswith(".css") for u in head.urls)
    assert 'href="/archive/"' in page


# --- feed and sitemap ----------------------------------------------------------------------------


def test_feed_is_atom_with_the_required_elements_and_feedparser_reads_it(site_root: Path) -> None:
    import feedparser

    for number in range(1, 25):
        write_issue(
            site_root,
            f"2026-11-{number:02d}-f{number}",
            f"title: F{number}\nsend_at: 2026-11-{number:02d} 08:00",
            f"Body {number} & <more>.\n",
        )
    build(site_root)
    data = (site_root / "site" / "feed.xml").read_bytes()
    root = ET.fromstring(data)
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated", "author"):  # RFC 4287 4.1.1
        assert root.find(f"{ATOM}{name}") is not None, name
    assert root.find(f"{ATOM}link[@rel='self']").get("href") == f"{SITE_URL}/feed.xml"  # type: ignore[union-attr]
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 20
    for entry in entries:  # RFC 4287 4.1.2
        for name in ("id", "title", "updated", "content"):
            assert entry.find(f"{ATOM}{name}") is not None, name
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href").startswith(SITE_URL)  # type: ignore[union-attr]
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", entry.findtext(f"{ATOM}updated") or ""
        )
    assert root.findtext(f"{ATOM}updated") == entries[0].findtext(f"{ATOM}updated")
    parsed = feedparser.parse(data)
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10" and len(parsed.entries) == 20
    assert parsed.entries[0].title == SECOND.replace(SECOND, parsed.entries[0].title)
    first = next(e for e in parsed.entries if e.link == f"{SITE_URL}/{FIRST}/")
    content = first.content[0].value
    assert "세계 무대로" in content and PREMIUM_SENTENCE not in content
    assert f'src="{SITE_URL}/assets/' in content  # absolute image URLs in the feed


def test_sitemap_lists_every_page_absolutely(site_root: Path) -> None:
    build(site_root)
    root = ET.fromstring((site_root / "site" / "sitemap.xml").read_bytes())
    assert root.tag == f"{SITEMAP}urlset"
    locs = {u.findtext(f"{SITEMAP}loc"): u.findtext(f"{SITEMAP}lastmod") for u in root}
    assert locs[f"{SITE_URL}/{FIRST}/"] == "2026-12-01T00:00:00Z"
    assert f"{SITE_URL}/" in locs and f"{SITE_URL}/tags/china/" in locs
    assert all(loc and loc.startswith(SITE_URL + "/") for loc in locs)
    assert f"{SITE_URL}/404.html" not in locs


# --- images --------------------------------------------------------------------------------------


def _gps_jpeg(path: Path, size: tuple[int, int], orientation: int = 1) -> None:
    image = Image.new("RGB", size, (200, 30, 30))
    for x in range(0, size[0], 50):
        image.paste((20, 20, 200), (x, 0, x + 10, size[1]))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "SECRETPHONE-9"  # Model
    exif[0x0112] = orientation
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (37.0, 33.0, 58.0), 3: "E", 4: (126.0, 58.0, 40.0)})
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", exif=exif, quality=90, comment=b"EDITORCOMMENT")


def test_images_lose_every_metadata_and_wide_ones_are_resized_with_the_original_kept(
    site_root: Path,
) -> None:
    photo = site_root / "assets" / "phone" / "IMG_2041.jpg"
    _gps_jpeg(photo, (2400, 1600), orientation=6)
    assert b"SECRETPHONE" in photo.read_bytes()
    write_issue(
        site_root,
        "2026-11-06-photo",
        "title: Photo\nsend_at: 2026-11-06 09:00",
        "![a street](../assets/phone/IMG_2041.jpg)\n",
    )
    build(site_root)
    assets = site_root / "site" / "assets"
    published = sorted(p for p in assets.iterdir() if p.suffix == ".jpg")
    assert len(published) == 2 and not any("IMG_2041" in p.name for p in published)
    for path in published:
        data = path.read_bytes()
        for secret in (b"SECRETPHONE", b"PhoneMaker", b"EDITORCOMMENT", b"Exif"):
            assert secret not in data, (path.name, secret)
        with Image.open(path) as image:
            assert not image.getexif() and "exif" not in image.info and "comment" not in image.info
            assert image.height > image.width  # orientation 6 was applied before it was dropped
    sizes = []
    for path in published:
        with Image.open(path) as image:
            sizes.append(image.size)
    sizes.sort()
    assert sizes == [(1200, 1800), (1600, 2400)]
    page = (site_root / "site" / "2026-11-06-photo" / "index.html").read_text(encoding="utf-8")
    main = next(p.name for p in published if "-" not in p.name)
    original = next(p.name for p in published if "-" in p.name)
    assert f'srcset="../assets/{main} 1200w, ../assets/{original} 1600w"' in page
    assert 'width="552" height="828"' in page


def test_emails_point_at_the_published_images_and_view_in_browser_at_the_page(
    workspace: Path,
) -> None:
    toml = workspace / "postcli.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            'assets_url = "https://cdn.example.com/newsletter/"\n', ""
        ),
        encoding="utf-8",
    )
    add_site_url(workspace)
    from postcli.build import build_issue
    from postcli.check import check_issue
    from postcli.issues import Variant
    from postcli.site.assets import asset_name

    settings = config.load(workspace)
    emails = build_issue(settings, FIRST, out_dir=workspace / "out").emails
    chart1 = f"{SITE_URL}/assets/{asset_name(workspace / 'assets/2026-12-01/chart-1.png')}"
    for variant in (Variant.FREE, Variant.PREMIUM):
        assert f'href="{SITE_URL}/{FIRST}/"' in emails[variant].html  # view in browser
        assert chart1 in emails[variant].html
    assert "chart-3" not in emails[Variant.FREE].html
    # The premium-only chart is not on the public site: its email cannot load it, and check says so.
    report = check_issue(settings, FIRST)
    unresolved = [f for f in report.findings if f.rule == "unresolved-url"]
    assert unresolved and all("premium-only" in f.message for f in unresolved)
    assert all(f.variant is Variant.PREMIUM for f in unresolved)
    build(workspace)
    assert (workspace / "site" / "assets" / chart1.rsplit("/", 1)[1]).is_file()


def test_check_warns_about_images_wider_than_1200_px(site_root: Path) -> None:
    from postcli.check import check_issue

    Image.new("RGB", (1300, 100), "white").save(site_root / "assets" / "wide.png")
    write_issue(
        site_root, "2026-11-07-wide", "title: Wide\nsubtitle: s", "![wide](../assets/wide.png)\n"
    )
    findings = check_issue(config.load(site_root), "2026-11-07-wide").findings
    wide = [f for f in findings if f.rule == "wide-image"]
    assert len(wide) == 1 and wide[0].level == "warning" and "1,300 px" in wide[0].message


# --- incremental and deterministic ---------------------------------------------------------------


def test_two_builds_give_identical_bytes_and_the_second_writes_nothing(
    site_root: Path, tmp_path: Path
) -> None:
    first = build(site_root)
    assert first.rendered and first.written
    before = files_of(site_root / "site")
    mtimes = {p: p.stat().st_mtime_ns for p in (site_root / "site").rglob("*") if p.is_file()}
    again = build(site_root)
    assert again.rendered == [] and again.written == [] and again.removed == []
    assert files_of(site_root / "site") == before
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    # A fresh build elsewhere, with no state at all: the same bytes.
    fresh = build(site_root, out_dir=tmp_path / "elsewhere")
    assert fresh.rendered and files_of(tmp_path / "elsewhere") == before


def test_editing_one_issue_renders_and_writes_only_what_it_changes(site_root: Path) -> None:
    build(site_root)
    site = site_root / "site"
    other = site / SECOND / "index.html"
    other_mtime = other.stat().st_mtime_ns
    path = site_root / "issues" / f"{FIRST}.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace(
            "안녕하세요, AI 글로벌 브리프 구독자 여러분.", "안녕하세요, 독자 여러분. EDITED."
        ),
        encoding="utf-8",
    )
    report = build(site_root)
    assert report.rendered == [FIRST]
    assert f"{FIRST}/index.html" in report.written and f"{SECOND}/index.html" not in report.written
    assert set(report.written) <= {f"{FIRST}/index.html", "feed.xml"}
    assert other.stat().st_mtime_ns == other_mtime
    assert "EDITED" in (site / FIRST / "index.html").read_text(encoding="utf-8")


def _stamps(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {
        p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
        for p in folder.rglob("*")
        if p.is_file()
    }


def _changed(before: dict[str, tuple[int, bytes]], after: dict[str, tuple[int, bytes]]) -> set[str]:
    return {name for name in before.keys() | after.keys() if before.get(name) != after.get(name)}


def test_a_rebuild_touches_only_the_edited_page_and_the_pages_that_list_it(
    site_root: Path,
) -> None:
    """Every other file of site/ keeps its bytes and its mtime: a static host's sync uploads
    the edited page, and the listings only when what they show of it changed."""
    build(site_root)
    site = site_root / "site"
    path = site_root / "issues" / f"{FIRST}.md"
    text = path.read_text(encoding="utf-8")

    # A body edit: the page and the feed's full content; no listing shows the body.
    before = _stamps(site)
    path.write_text(text.replace("안녕하세요, AI", "안녕하세요, BODY-EDIT AI", 1), encoding="utf-8")
    report = build(site_root)
    assert report.rendered == [FIRST]
    assert _changed(before, _stamps(site)) == {f"{FIRST}/index.html", "feed.xml"}

    # A title edit: also the index and the page of each of its tags, and nothing else (the
    # other issue's page, the tag pages it alone is on, 404, sitemap, assets stay as they are).
    before = _stamps(site)
    path.write_text(text.replace("'중국 AI'의 탐험", "'중국 AI'의 TITLE-EDIT", 1), encoding="utf-8")
    report = build(site_root)
    assert report.rendered == [FIRST]
    tags = {f"tags/{tag}/index.html" for tag in ("global-ai", "china", "open-weights")}
    assert _changed(before, _stamps(site)) == {
        f"{FIRST}/index.html",
        "feed.xml",
        "index.html",
        *tags,
    }
    assert set(report.written) == _changed(before, _stamps(site))
    assert "TITLE-EDIT" in (site / "index.html").read_text(encoding="utf-8")


def test_a_page_with_premium_text_is_never_published_and_site_exits_1(
    site_root: Path, run_cli, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """The site's own premium-leak check reads the page it would publish: with the variant
    filter broken (the page made from the premium variant), the issue is left out of every
    file, the page an earlier build wrote is removed, and the command fails."""
    from postcli.model import Variant
    from postcli.render import body

    assert run_cli("-C", site_root, "site").exit_code == 0
    assert (site_root / "site" / FIRST / "index.html").is_file()
    real = body.parse_variant
    monkeypatch.setattr(body, "parse_variant", lambda issue, _variant: real(issue, Variant.PREMIUM))
    path = site_root / "issues" / f"{FIRST}.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("안녕하세요, AI", "안녕하세요, 다시 AI", 1),
        encoding="utf-8",
    )

    result = run_cli("-C", site_root, "site")
    assert result.exit_code == 1
    assert f"error: not published: {site_root / 'issues' / FIRST}.md:" in result.stderr
    assert "[premium-leak]" in result.stderr and "Traceback" not in result.stderr
    files = files_of(site_root / "site")
    assert f"{FIRST}/index.html" not in files
    for name, data in files.items():
        text = data.decode("utf-8", "replace")
        assert PREMIUM_SENTENCE not in text, name
        assert FIRST not in text or name.startswith("assets/"), name
    # Never cached as done: the next build checks it again and refuses again.
    again = run_cli("-C", site_root, "site")
    assert again.exit_code == 1 and "[premium-leak]" in again.stderr


def test_an_audience_premium_page_with_its_body_is_never_published(
    site_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Such a page is title, subtitle and pitch: the leak rule counts its whole body as
    premium-only, so a page builder that put the body in is caught."""
    from types import SimpleNamespace

    from postcli.site import pages

    body = "Only paying readers may read this whole sentence about the market."
    write_issue(
        site_root,
        "2026-11-09-paid",
        "title: Paid\nsubtitle: For members\naudience: premium\nsend_at: 2026-11-09 09:00",
        f"{body}\n",
    )
    assert build(site_root).errors == []
    monkeypatch.setattr(pages, "Audience", SimpleNamespace(PREMIUM=object()))  # body rendered
    path = site_root / "issues" / "2026-11-09-paid.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nAnother line.\n", encoding="utf-8")
    report = build(site_root)
    assert report.errors and all("[premium-leak]" in e for e in report.errors)
    assert "2026-11-09-paid" not in {e.id for e in report.entries}
    for name, data in files_of(site_root / "site").items():
        assert body.encode() not in data, name


def test_site_reports_the_web_pages_rules_not_the_emails(site_root: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    """`check` refuses an email without an unsubscribe link; the web page has none to miss,
    so `site` does not report it (it reports a `javascript:` link, which the page carries)."""
    from postcli.check import check_issue

    config_path = site_root / "postcli.toml"
    text = config_path.read_text(encoding="utf-8")
    line = 'unsubscribe_url = "https://example.com/unsubscribe?email={email}"\n'
    assert line in text
    config_path.write_text(text.replace(line, ""), encoding="utf-8")
    write_issue(
        site_root,
        "2026-11-08-js",
        "title: JS\nsubtitle: s\nsend_at: 2026-11-08 09:00",
        'Click <a href="javascript:alert(1)">here</a>.\n',
    )
    rules = {f.rule for f in check_issue(config.load(site_root), FIRST).findings}
    assert "no-unsubscribe" in rules
    result = run_cli("-C", site_root, "site")
    assert result.exit_code == 0
    assert "[javascript-link]" in result.stderr
    assert "no-unsubscribe" not in result.stderr and "gmail-clip" not in result.stderr


def test_an_issue_no_longer_published_is_removed(site_root: Path) -> None:
    build(site_root)
    path = site_root / "issues" / f"{SECOND}.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("---\n", "---\ndraft: true\n", 1), encoding="utf-8"
    )
    report = build(site_root)
    assert f"{SECOND}/index.html" in report.removed
    assert not (site_root / "site" / SECOND).exists()
    assert SECOND not in (site_root / "site" / "index.html").read_text(encoding="utf-8")
    # Files postcli did not write are never touched.
    keep = site_root / "site" / "CNAME"
    keep.write_text("example.com\n", encoding="utf-8")
    build(site_root, now=BETWEEN)
    assert keep.is_file()


def test_the_output_folder_cannot_be_the_workspace(site_root: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    for out in (".", "issues", "assets/site"):
        result = run_cli("-C", site_root, "site", "--out", site_root / out)
        assert result.exit_code == 2, out
    assert (site_root / "issues" / f"{FIRST}.md").is_file()


# --- findings and check --------------------------------------------------------------------------


def test_site_prints_error_findings_of_published_issues_and_publishes_them(
    site_root: Path, run_cli
) -> None:  # type: ignore[no-untyped-def]
    write_issue(
        site_root,
        "2026-11-08-js",
        "title: JS\nsubtitle: s\nsend_at: 2026-11-08 09:00",
        'Click <a href="javascript:alert(1)">here</a>.\n',
    )
    result = run_cli("-C", site_root, "site")
    assert result.exit_code == 0
    assert (
        "warning: published with an error:" in result.stderr
        and "[javascript-link]" in result.stderr
    )
    assert (site_root / "site" / "2026-11-08-js" / "index.html").is_file()
    # Cached: the next run says it again without rendering.
    again = run_cli("-C", site_root, "site")
    assert "[javascript-link]" in again.stderr and "0 rendered" in again.stderr


def test_check_reads_the_built_page_for_premium_text(site_root: Path) -> None:
    from postcli.check import check_issue

    build(site_root)
    settings = config.load(site_root)
    assert not [f for f in check_issue(settings, FIRST).findings if f.rule == "premium-leak"]
    page = site_root / "site" / FIRST / "index.html"
    page.write_text(
        page.read_text(encoding="utf-8").replace(
            "</article>",
            f"<p>{PREMIUM_SENTENCE} 첫 번째 해외 시장이었습니다.</p></article>",
        ),
        encoding="utf-8",
    )
    source = (site_root / "issues" / f"{FIRST}.md").read_text(encoding="utf-8")
    assert PREMIUM_SENTENCE in source.split("<!-- paywall -->")[1]
    leaks = [f for f in check_issue(settings, FIRST).findings if f.rule == "premium-leak"]
    assert leaks and all(f"site/{FIRST}/index.html" in f.message for f in leaks)


# --- --serve -------------------------------------------------------------------------------------


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def test_serve_answers_under_the_site_path_and_rebuilds_on_save(site_root: Path) -> None:
    from postcli.site.serve import start

    settings = config.load(site_root)
    report = build(site_root, now=datetime.now(UTC))
    messages: list[str] = []
    running = start(settings, report.out_dir, drafts=False, port=0, say=messages.append)
    try:
        assert running.watcher.ready.wait(10)
        base = running.url
        assert base.endswith("/archive/")
        status, body = _get(base + f"{FIRST}/")
        assert status == 200 and "세계 무대로" in body
        assert (
            _get(base + "nope/")[0] == 404
            and "페이지를 찾을 수 없습니다" in _get(base + "nope/")[1]
        )
        assert _get(base + "../postcli.toml")[0] == 404
        assert _get(base.replace("/archive/", "/.postcli/"))[0] == 404
        path = site_root / "issues" / f"{FIRST}.md"
        path.write_text(
            path.read_text(encoding="utf-8").replace("안녕하세요", "SAVEDNOW 안녕하세요", 1),
            encoding="utf-8",
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "SAVEDNOW" not in _get(base + f"{FIRST}/")[1]:
            time.sleep(0.1)
        assert "SAVEDNOW" in _get(base + f"{FIRST}/")[1]
        assert any(m.startswith("Rebuilt:") for m in messages)
    finally:
        running.stop()


def test_site_command_help_names_every_option(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("site", "--help")
    assert result.exit_code == 0
    for option in ("--out", "--drafts", "--serve", "--port"):
        assert option in result.stdout
