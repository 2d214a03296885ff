"""`postcli site --serve`: the built folder on 127.0.0.1, rebuilt on every save.

The site is served under the path of `[site] url` (`https://example.com/archive` is served at
`http://127.0.0.1:PORT/archive/`), so the absolute links of 404.html work as they will once
deployed. Files only, from the built folder only: no directory listings, no dotfiles, nothing
outside it; a missing file answers with the site's own 404.html.

Rebuilds use the preview's watcher (`preview/watch.py`): the same folders, the same debounce,
the same editor-file filter, widened from one issue to every issue and the site templates.
"""

from __future__ import annotations

import errno
import logging
import mimetypes
import threading
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote, urlsplit

from postcli.config import Settings
from postcli.errors import PostcliError, UsageError
from postcli.preview.app import run_until_interrupted
from postcli.preview.watch import Watcher, WatchPlan

if TYPE_CHECKING:
    from postcli.preview.session import PreviewSession
    from postcli.site.build import SiteReport

log = logging.getLogger("postcli.site")
LOOPBACK = "127.0.0.1"


class SitePlan(WatchPlan):
    """The preview's watch plan for a whole site: every issue, and templates/site/ too."""

    def __init__(self, root: Path) -> None:
        super().__init__(root, root / "issues" / "_.md")
        from postcli.render.templates import BUILTIN_DIR

        self.issues_dir = (self.root / "issues").resolve()
        self.template_dirs |= {(self.root / "templates" / "site").resolve()}
        self.template_dirs |= {(BUILTIN_DIR / "site").resolve()}
        self.future_dirs |= {self.root / "issues", self.root / "templates" / "site"}

    def matters(self, path: Path) -> bool:
        if path.parent == self.issues_dir and path.suffix == ".md" and path.name[0] != ".":
            return True
        return super().matters(path)


class _Rebuilder:
    """What the watcher calls: a rebuild of the site, its outcome said in one line."""

    def __init__(self, rebuild: Callable[[], SiteReport], say: Callable[[str], None]) -> None:
        self._rebuild = rebuild
        self._say = say

    def rebuild(self) -> None:
        try:
            report = self._rebuild()
        except PostcliError as error:
            where = f"{error.location}: " if error.location else ""
            self._say(f"Build failed: {where}{error.message} (the last good site is served)")
            return
        except Exception as bug:  # keep serving the last good site; say what went wrong
            self._say(f"Build failed: {type(bug).__name__}: {bug}")
            return
        for warning in report.warnings:
            self._say(f"warning: {warning}")
        for refused in report.errors:
            self._say(f"error: {refused}")
        self._say(
            f"Rebuilt: {len(report.rendered)} pages rendered, {len(report.written)} files "
            f"written, {len(report.removed)} removed"
        )

    def check(self) -> None:
        """The preview runs its checks here; the site's findings come with each rebuild."""


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, folder: Path, prefix: str) -> None:
        self.folder = folder.resolve()
        self.prefix = prefix  # "/archive" or ""
        super().__init__((LOOPBACK, port), SiteHandler)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.server_address[1]}{self.prefix}/"


def bind(folder: Path, prefix: str, port: int) -> SiteServer:
    """A server on 127.0.0.1:port; when that port is taken, on a free one."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port number", hint="use 1 to 65535, or 0")
    try:
        return SiteServer(port, folder, prefix)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise UsageError(f"cannot listen on {LOOPBACK}:{port}: {exc.strerror}") from exc
    return SiteServer(0, folder, prefix)


class SiteHandler(BaseHTTPRequestHandler):
    server: SiteServer
    server_version = "postcli-site"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def do_HEAD(self) -> None:
        self._answer(head=True)

    def do_GET(self) -> None:
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        prefix = self.server.prefix
        if prefix and path in ("/", prefix):
            self._redirect(prefix + "/")
            return
        if not path.startswith(prefix + "/"):
            self._not_found(head)
            return
        found = self._file(path[len(prefix) :])
        if found is None:
            self._not_found(head)
        elif found.is_dir():
            self._redirect(path + "/")
        else:
            self._send(HTTPStatus.OK, found, head)

    def _file(self, relative: str) -> Path | None:
        parts = [p for p in relative.split("/") if p]
        if any(p.startswith(".") or "\\" in p or "\x00" in p for p in parts):
            return None
        folder = self.server.folder
        candidate = folder.joinpath(*parts) if parts else folder
        if candidate.is_dir():
            if not relative.endswith("/"):
                return candidate
            candidate = candidate / "index.html"
        try:
            resolved = candidate.resolve()
        except OSError:
            return None
        if not resolved.is_file() or not resolved.is_relative_to(folder):
            return None
        return resolved

    def _redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.MOVED_PERMANENTLY)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _not_found(self, head: bool) -> None:
        page = self.server.folder / "404.html"
        if page.is_file():
            self._send(HTTPStatus.NOT_FOUND, page, head)
            return
        self.send_response(HTTPStatus.NOT_FOUND)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: HTTPStatus, path: Path, head: bool) -> None:
        body = path.read_bytes()
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if kind.startswith("text/") or kind in ("application/xml", "application/atom+xml"):
            kind += "; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(body)


class RunningSite:
    """The server and the watcher of `postcli site --serve`."""

    def __init__(self, server: SiteServer, watcher: Watcher) -> None:
        self.server = server
        self.watcher = watcher
        self._thread = threading.Thread(
            target=server.serve_forever, name="postcli-site-http", daemon=True
        )

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> None:
        self._thread.start()
        self.watcher.start()

    def stop(self) -> None:
        self.watcher.stop()
        self.server.shutdown()
        self.server.server_close()
        self.watcher.join(timeout=5)


def start(
    settings: Settings,
    out_dir: Path,
    *,
    drafts: bool,
    port: int,
    say: Callable[[str], None],
) -> RunningSite:
    """Serve `out_dir` (already built) and rebuild it whenever a watched file is saved."""
    from postcli import config
    from postcli.site.build import build_site

    def rebuild() -> SiteReport:
        fresh = config.load(settings.root)  # postcli.toml may be what was saved
        # One process: forking beside the server's threads is not safe.
        return build_site(fresh, out_dir=out_dir, drafts=drafts, workers=1)

    prefix = urlsplit(settings.site.url or "").path.rstrip("/")
    server = bind(out_dir, prefix, port)
    session = cast("PreviewSession", _Rebuilder(rebuild, say))
    running = RunningSite(server, Watcher(session, SitePlan(settings.root)))
    running.start()
    return running


def serve_site(
    settings: Settings,
    report: SiteReport,
    *,
    drafts: bool,
    port: int,
    say: Callable[[str], None],
    echo: Callable[[str], Any],
) -> None:
    """Serve until Ctrl-C or SIGTERM."""
    running = start(settings, report.out_dir, drafts=drafts, port=port, say=say)
    if running.server.server_address[1] != port and port:
        say(f"Port {port} is taken; using {running.server.server_address[1]}.")
    say(f"Serving {report.out_dir} (Ctrl-C to stop)")
    echo(running.url)
    run_until_interrupted(threading.Event().wait, running.stop)
    say("Stopped.")
