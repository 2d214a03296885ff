"""The preview's HTTP server: the page, its state as JSON and as Server-Sent Events, the
rendered emails, and the workspace images a build pointed at.

Built on the standard library's ThreadingHTTPServer: one thread per connection is plenty for
the one or two browser tabs of a writer, and Server-Sent Events need nothing more than a
response that stays open. Owns binding (with a fallback when the port is taken) and refusing
requests that come through another host name (DNS rebinding); owns no build logic.

    GET /                      the preview page
    GET /preview.css, .js      its style and script
    GET /api/state             the latest state (JSON; see PreviewSession)
    GET /events                the same state as Server-Sent Events, pushed on every change
    GET /email/<variant>.html  the last good build's HTML of a variant (and .txt: plain text)
    GET /files/<path>          a workspace image the build referenced, nothing else
"""

from __future__ import annotations

import errno
import logging
import mimetypes
import re
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from postcli.errors import UsageError
from postcli.net import is_loopback_host
from postcli.preview import page

if TYPE_CHECKING:
    from postcli.preview.session import PreviewSession

log = logging.getLogger("postcli.preview")

KEEPALIVE_SECONDS = 15.0
_EMAIL_RE = re.compile(r"^/email/(free|premium)\.(html|txt)$")


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True  # open event streams must not keep the process alive

    def __init__(self, address: tuple[str, int], session: PreviewSession) -> None:
        self.session = session
        self.stopping = threading.Event()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, PreviewHandler)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        host = str(self.server_address[0])
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}/"

    def stop(self) -> None:
        """Stop serving (from another thread) and let open event streams end."""
        self.stopping.set()
        self.session.close()
        self.shutdown()
        self.server_close()


def bind(session: PreviewSession, host: str = "127.0.0.1", port: int = 0) -> PreviewServer:
    """A server on host:port; when that port is taken, on a free one the system picks."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port {port} is not a port number", hint="use 1 to 65535, or 0")
    try:
        return PreviewServer((host, port), session)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE or port == 0:
            raise UsageError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                hint="pick another --host or --port",
            ) from exc
    log.info("port %d is taken; using a free one", port)
    return bind(session, host, 0)


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    server_version = "postcli-preview"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    # --- routing ------------------------------------------------------------------------------

    def do_GET(self) -> None:
        if not self._host_allowed():
            self._send(HTTPStatus.FORBIDDEN, b"unknown host\n", "text/plain; charset=utf-8")
            return
        path = urlsplit(self.path).path
        session = self.server.session
        if path in ("/", "/index.html"):
            body = page.page_html(session.issue_path.stem).encode("utf-8")
            self._send(HTTPStatus.OK, body, "text/html; charset=utf-8")
        elif path == "/preview.css":
            self._send(HTTPStatus.OK, page.css().encode("utf-8"), "text/css; charset=utf-8")
        elif path == "/preview.js":
            self._send(HTTPStatus.OK, page.js().encode("utf-8"), "text/javascript; charset=utf-8")
        elif path == "/api/state":
            _, data = session.state_json()
            self._send(HTTPStatus.OK, data, "application/json; charset=utf-8")
        elif path == "/events":
            self._events()
        elif match := _EMAIL_RE.match(path):
            variant, suffix = match.groups()
            text = session.email(variant, "html" if suffix == "html" else "text")
            if text is None:
                self._send(HTTPStatus.NOT_FOUND, b"no such variant built\n", "text/plain")
            else:
                kind = "text/html" if suffix == "html" else "text/plain"
                self._send(HTTPStatus.OK, text.encode("utf-8"), f"{kind}; charset=utf-8")
        elif path.startswith("/files/"):
            self._file(path)
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")

    def _host_allowed(self) -> bool:
        """On loopback, only loopback names: a web page cannot rebind its own name to us."""
        bound = str(self.server.server_address[0])
        if not is_loopback_host(bound):
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return is_loopback_host(name)

    # --- responses ----------------------------------------------------------------------------

    def _send(
        self, status: HTTPStatus, body: bytes, content_type: str, cache: str = "no-store"
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", cache)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        self.wfile.write(body)

    def _file(self, url_path: str) -> None:
        found: Path | None = self.server.session.file_for(url_path)
        if found is None:
            self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain; charset=utf-8")
            return
        kind = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        # The URL carries the file's version (?v=mtime), so the browser may keep it.
        self._send(HTTPStatus.OK, found.read_bytes(), kind, "max-age=31536000, immutable")

    def _events(self) -> None:
        session = self.server.session
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            # Reconnect quickly after a restart; then the current state, then every change.
            self.wfile.write(b"retry: 1000\n\n")
            seq, data = session.state_json()
            self._event(seq, data)
            while not self.server.stopping.is_set():
                news = session.wait(seq, KEEPALIVE_SECONDS)
                if news is None:
                    if session.closed:
                        return
                    self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
                    continue
                seq, data = news
                self._event(seq, data)
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            return  # the tab was closed or reloaded

    def _event(self, seq: int, data: bytes) -> None:
        self.wfile.write(b"id: %d\nevent: state\ndata: " % seq + data + b"\n\n")
        self.wfile.flush()
