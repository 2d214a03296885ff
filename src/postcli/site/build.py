"""`postcli site`: the published issues -> site/ (or site-drafts/ with `--drafts`).

The order of a build: read every issue's front matter (from the state when its file is
unchanged), decide what is published, render the pages whose key changed (in two processes
when there are many), publish the images those pages use, then the index, tag pages, 404,
feed and sitemap; write only files whose bytes changed, and remove what is no longer made.
The output depends on the issues, the ledger, the templates, the settings and `now` alone:
two builds of the same input are identical byte for byte.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from postcli import __version__
from postcli.config import Settings
from postcli.errors import ConfigError, PostcliError, UsageError
from postcli.site import assets, listing, pages
from postcli.site.feeds import FEED_ENTRIES, feed_xml, sitemap_xml
from postcli.site.output import Output, files_of_lost_build, write_if_changed
from postcli.site.published import Entry, Summary, select, sent_times, summarize
from postcli.site.state import IssueRecord, SiteState, digest

log = logging.getLogger("postcli.site")

PARALLEL_FROM = 24  # issues to render before a second process pays for its start
SITE_TEMPLATES = "site"
CSS = "site/site.css"


@dataclass
class SiteReport:
    out_dir: Path
    entries: list[Entry] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)  # ids whose page was rendered again
    written: list[str] = field(default_factory=list)  # files written (their bytes changed)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # issues left out: `site` exits 1


def default_out(settings: Settings, drafts: bool) -> Path:
    return settings.root / ("site-drafts" if drafts else "site")


def _check_out(settings: Settings, out: Path) -> Path:
    out = out.resolve()
    root = settings.root.resolve()
    if root.is_relative_to(out):
        raise UsageError(
            f"--out {out} would hold the workspace itself",
            hint="give the site a folder of its own, like site/",
        )
    for own in ("issues", "templates", "assets", ".postcli"):
        if out.is_relative_to((root / own).resolve()):
            raise UsageError(f"--out {out} is inside the workspace's {own}/ folder")
    return out


def _template_hash(settings: Settings) -> str:
    """Every file the pages are made from: the site templates (built-in and the workspace's)
    and the strings the dates use."""
    from postcli.render.templates import BUILTIN_DIR

    h = hashlib.sha256()
    for folder in (BUILTIN_DIR, settings.templates_dir):
        for path in [*sorted((folder / SITE_TEMPLATES).glob("*")), folder / "strings.toml"]:
            if path.is_file():
                h.update(f"{folder == BUILTIN_DIR}:{path.name}\x00".encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def _settings_hash(settings: Settings, drafts: bool) -> str:
    """The settings a page shows (not the provider's)."""
    return digest(
        repr(settings.newsletter),
        repr(settings.premium),
        repr(settings.site),
        str(drafts),
    )


def _words(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    import tomllib

    from postcli.errors import TemplateError
    from postcli.render import templates

    lang = settings.newsletter.lang.split("-")[0]
    words: dict[str, Any] = {}
    for path in (
        templates.BUILTIN_DIR / SITE_TEMPLATES / "strings.toml",
        settings.templates_dir / SITE_TEMPLATES / "strings.toml",
    ):
        if not path.is_file():
            continue
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise TemplateError(f"not valid TOML: {exc}", path=path) from exc
        words.update(table.get("en", {}))
        words.update(table.get(lang, {}))
    return words, templates.strings(settings.newsletter.lang, settings.templates_dir)


def _summaries(
    settings: Settings, state: SiteState, report: SiteReport
) -> tuple[dict[Path, Summary], dict[str, str]]:
    """Every readable issue's summary, from its front matter alone, and the hash of each file.
    (The body is parsed where the page is rendered: a body that does not parse leaves the
    issue out there.)"""
    from postcli.issues import iter_issue_files, read_text
    from postcli.issues.front_matter import parse_front_matter, split_front_matter

    tz = settings.newsletter.tz
    summaries: dict[Path, Summary] = {}
    hashes: dict[str, str] = {}
    known: dict[str, dict[str, Any]] = {}
    for path in iter_issue_files(settings.issues_dir):
        try:
            data = path.read_bytes()
        except OSError as exc:
            report.warnings.append(f"{path}: skipped: {exc.strerror}")
            continue
        file_hash = hashlib.sha256(data).hexdigest()
        cached = state.summaries.get(path.stem)
        try:
            if cached and cached.get("file") == file_hash:
                summary = Summary.from_json(cached["summary"])
            else:
                front, _body, _line = split_front_matter(read_text(path), path)
                summary = summarize(path.stem, parse_front_matter(front, path), tz)
        except PostcliError as error:
            report.warnings.append(_skipped(error))
            continue
        summaries[path] = summary
        hashes[summary.id] = file_hash
        known[summary.id] = {"file": file_hash, "summary": summary.to_json()}
    state.summaries = known
    return summaries, hashes


def _skipped(error: PostcliError) -> str:
    where = f"{error.location}: " if error.location else ""
    return f"{where}skipped: {error.message}"


@dataclass(frozen=True)
class _Job:
    path: Path
    entry: Entry
    # Where its page and its feed entry go: written by whoever renders it, when changed.
    page: Path
    content: Path


@dataclass(frozen=True)
class _Done:
    id: str
    page_size: int  # bytes of the page
    written: bool  # the page's file was written (its bytes changed)
    content: str  # the feed entry
    images: tuple[str, ...]
    findings: tuple[str, ...]  # error-level, as printed: published with them
    leaks: tuple[str, ...]  # premium-leak findings: the page is withheld, never written
    problems: tuple[str, ...]
    skipped: str | None = None  # the issue does not parse: nothing else is set


def _render_one(frame: pages.Frame, job: _Job) -> _Done:
    """One issue's page, its feed content and its findings (runs in a worker process too)."""
    from postcli.check import site_checks
    from postcli.issues import load_issue

    try:
        issue = load_issue(job.path)
    except PostcliError as error:
        return _Done(job.entry.id, 0, False, "", (), (), (), (), _skipped(error))
    problems: list[str] = []
    publish = pages.safe_publisher(frame.plan, problems)
    page = pages.render_issue_page(issue, job.entry, frame, publish)
    root = frame.settings.root.resolve()
    images = tuple(dict.fromkeys(p.relative_to(root).as_posix() for p in page.images))
    # The feed entry is this page's body (one render, other asset URLs) and the upgrade
    # pitch: the page holds everything the site shows of the issue.
    found = site_checks(issue, page.html, frame.settings, where=f"its web page ({issue.id}/)")
    printed = [(f.rule, f"{f.location or issue.id}: {f.message} [{f.rule}]") for f in found]
    leaks = tuple(text for rule, text in printed if rule == "premium-leak")
    written = False
    if not leaks:
        written = write_if_changed(job.page, page.html)
        write_if_changed(job.content, page.content)
    return _Done(
        issue.id,
        len(page.html.encode("utf-8")),
        written,
        page.content,
        images,
        tuple(text for rule, text in printed if rule != "premium-leak"),
        leaks,
        tuple(problems),
    )


_WORKER_FRAME: pages.Frame | None = None


def _worker_init(frame: pages.Frame) -> None:
    global _WORKER_FRAME
    _WORKER_FRAME = frame


def _worker(job: _Job) -> _Done:
    assert _WORKER_FRAME is not None
    return _render_one(_WORKER_FRAME, job)


def _render_all(frame: pages.Frame, jobs: list[_Job], workers: int) -> list[_Done]:
    if workers < 2 or len(jobs) < PARALLEL_FROM or sys.platform != "linux":
        return [_render_one(frame, job) for job in jobs]
    import multiprocessing

    import postcli.check
    import postcli.issues
    import postcli.render.body  # noqa: F401  (imported once here, inherited by the workers)

    context = multiprocessing.get_context("fork")  # the parent's imports come along for free
    with ProcessPoolExecutor(workers, context, initializer=_worker_init, initargs=(frame,)) as pool:
        return list(pool.map(_worker, jobs, chunksize=max(1, len(jobs) // (workers * 4))))


def build_site(
    settings: Settings,
    *,
    out_dir: Path | None = None,
    drafts: bool = False,
    now: datetime | None = None,
    workers: int | None = None,
) -> SiteReport:
    """Build the web edition; see the module docstring. `now` defaults to the clock."""
    if not settings.site.url:
        raise ConfigError(
            "[site] url is not set: the site's canonical URLs, feed and sitemap need it",
            path=settings.path or settings.root / "postcli.toml",
            hint='add [site] with url = "https://example.com/archive" (where site/ is served)',
        )
    now = (now or datetime.now(UTC)).astimezone(UTC)
    out = _check_out(settings, out_dir or default_out(settings, drafts))
    report = SiteReport(out)
    state = SiteState.load(settings.state_dir, out)
    previous = state.files if state.found else files_of_lost_build(out)
    output = Output(out)

    summaries, hashes = _summaries(settings, state, report)
    entries = select(
        summaries, sent_times(settings.state_dir, now), now, settings.newsletter.tz, drafts=drafts
    )
    report.entries = entries
    words, date_words = _words(settings)
    css = _css(settings)
    css_name = assets.content_hash_of(css) + ".css"
    frame = pages.Frame(settings, words, date_words, css_name, drafts, state.images)
    output.put(f"{assets.ASSETS}/{frame.css_name}", css)

    # postcli's own version too: a new release may render (or check) a page differently.
    shared = digest(__version__, _template_hash(settings), _settings_hash(settings, drafts))
    keys: dict[str, str] = {}
    jobs: list[_Job] = []
    records: dict[str, IssueRecord] = {}
    for entry in entries:
        record = state.issues.get(entry.id)
        key = _issue_key(frame, entry, hashes[entry.id], shared, record)
        keys[entry.id] = key
        page = f"{entry.id}/index.html"
        if (
            record is not None
            and record.key == key
            and output.holds(page, record.page_size)
            and state.has_content(entry.id)
        ):
            output.keep(page)
            records[entry.id] = record
        else:
            jobs.append(_Job(entry.path, entry, output.root / page, state.content_path(entry.id)))

    contents: dict[str, str] = {}
    by_id = {entry.id: entry for entry in entries}
    left_out: set[str] = set()
    from postcli.render.urls import remembering_files

    with remembering_files():  # the workers, forked inside, remember for themselves
        done_jobs = _render_all(frame, jobs, workers or os.cpu_count() or 1)
    for done in done_jobs:
        if done.skipped is not None:
            report.warnings.append(done.skipped)
            left_out.add(done.id)
            continue
        if done.leaks:
            # Premium-only text in what the site would show: nothing of the issue is
            # published (a page of it from an earlier build is removed), and `site` fails.
            report.errors += [f"not published: {leak}" for leak in done.leaks]
            left_out.add(done.id)
            continue
        output.record(f"{done.id}/index.html", done.written)
        contents[done.id] = done.content
        report.rendered.append(done.id)
        report.warnings += [f"{done.id}: image left out: {p}" for p in done.problems]
        # The images are hashed now, after the render: a key of stale hashes re-renders once.
        record = IssueRecord("", done.page_size, list(done.images), list(done.findings))
        records[done.id] = record
        keys[done.id] = _issue_key(frame, by_id[done.id], hashes[done.id], shared, record)
    for issue_id, record in records.items():
        record.key = keys[issue_id]
        report.warnings += [f"published with an error: {f}" for f in record.findings]
    if left_out:
        entries = [entry for entry in entries if entry.id not in left_out]
        report.entries = entries

    _publish_images(frame, records, output, report)
    for entry in entries[:FEED_ENTRIES]:
        if entry.id not in contents:
            contents[entry.id] = state.content(entry.id) or ""
    _listings(entries, frame, contents, output, state, shared)

    report.removed = output.prune(previous)
    report.written = output.written
    report.unchanged = output.unchanged
    state.files = set(output.wanted)
    state.issues = records
    root = settings.root.resolve()
    shown = {str(root / relative) for record in records.values() for relative in record.images}
    state.images = {source: known for source, known in frame.images.items() if source in shown}
    state.save()
    return report


def _issue_key(
    frame: pages.Frame, entry: Entry, file_hash: str, shared: str, record: IssueRecord | None
) -> str:
    images = []
    for relative in record.images if record is not None else []:
        path = frame.settings.root.resolve() / relative
        try:
            images.append(f"{relative}:{frame.plan(path).name}")  # its name holds its hash
        except assets.ImageProblem:
            images.append(f"{relative}:{assets.content_hash(path)}")
        except OSError:
            images.append(f"{relative}:missing")
    when = entry.when.isoformat() if entry.when else ""
    return digest(file_hash, shared, when, str(entry.state), *images)


def _css(settings: Settings) -> str:
    from postcli.render import templates

    return templates.read_text(CSS, settings.templates_dir)


def _publish_images(
    frame: pages.Frame, records: dict[str, IssueRecord], output: Output, report: SiteReport
) -> None:
    """Every image a published page shows, processed only when its files are missing."""
    sources = sorted({relative for record in records.values() for relative in record.images})
    root = frame.settings.root.resolve()
    for relative in sources:
        source = root / relative
        try:
            target = frame.plan(source)
        except (assets.ImageProblem, OSError) as exc:
            report.warnings.append(f"{relative}: image left out: {exc}")
            continue
        names = [f"{assets.ASSETS}/{name}" for name in target.names]
        if all((output.root / name).is_file() for name in names):
            for name in names:
                output.keep(name)
            continue
        try:
            files = assets.process(source)
        except assets.ImageProblem as exc:
            report.warnings.append(f"{relative}: image left out: {exc}")
            continue
        for name, data in sorted(files.items()):
            output.put(f"{assets.ASSETS}/{name}", data)


def _listings(
    entries: list[Entry],
    frame: pages.Frame,
    contents: dict[str, str],
    output: Output,
    state: SiteState,
    shared: str,
) -> None:
    """The index, tag and 404 pages (each rendered only when its values changed), the feed
    and the sitemap."""
    planned: dict[str, listing.Planned] = {}
    planned.update(listing.index_pages(entries, frame))
    planned.update(listing.tag_pages(entries, frame))
    planned["404.html"] = listing.not_found_page(frame)
    made: dict[str, list[Any]] = {}
    for relative, plan in sorted(planned.items()):
        key = digest(shared, plan.template, plan.values)
        previous = state.pages.get(relative)
        if previous and previous[0] == key and output.holds(relative, previous[1]):
            output.keep(relative)
            made[relative] = previous
            continue
        html = plan.render(frame)
        output.put(relative, html)
        made[relative] = [key, len(html.encode("utf-8"))]
    state.pages = made
    page_list = sorted(planned) + [f"{e.id}/index.html" for e in entries]
    output.put("feed.xml", feed_xml(entries, contents, frame))
    output.put("sitemap.xml", sitemap_xml(entries, page_list, frame))
