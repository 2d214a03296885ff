"""The preview's model: one issue, rebuilt on demand, and the latest state the page shows.

Owns turning a build (or the error that stopped it) into the JSON state the page renders, the
URLs under which the preview serves the workspace's images, and waking the clients that wait
for a new state. The render function is passed in (`postcli.build.render` by default), so the
preview shares the one build of `postcli build`. It writes nothing to the workspace and never
imports providers.
"""

from __future__ import annotations

import json
import logging
import posixpath
import secrets
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parseaddr
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urljoin

from postcli.errors import PostcliError
from postcli.limits import GMAIL_CLIP_BYTES
from postcli.model import PreviewChecks, Variant

if TYPE_CHECKING:
    from postcli.build import BuildResult
    from postcli.config import Settings
    from postcli.render.body import UrlResolver

    RenderFunction = Callable[..., BuildResult]

log = logging.getLogger("postcli.preview")

FILES_PREFIX = "/files/"
VARIANT_LABELS = {Variant.FREE: "Free teaser", Variant.PREMIUM: "Premium edition"}


class PreviewSession:
    """One issue in one workspace: `rebuild()` renders it, `state_json()` is what the page gets.

    `rebuild` and `check` run on one thread (the watcher's); readers on any thread get the
    latest published state, serialised once per change.
    """

    def __init__(
        self,
        root: Path,
        issue_path: Path,
        *,
        render: RenderFunction | None = None,
        run_checks: bool = True,
    ) -> None:
        self.root = root.resolve()
        self.issue_path = issue_path.resolve()
        self._render = render
        self._custom_render = render is not None  # tests and embedders may pass their own
        self._run_checks = run_checks
        self._changed = threading.Condition()
        self._closed = False
        # Tells a page that reconnects to a restarted preview that build numbers began anew.
        self.token = secrets.token_hex(4)
        self._seq = 0
        self._build = 0
        self._files: dict[str, Path] = {}  # URL path under /files/ -> the workspace file
        self._settings: Settings | None = None
        self._last_good: dict[str, Any] | None = None  # issue facts and variants of the last build
        self._state: dict[str, Any] = self._compose(None, None, 0.0, checks=PreviewChecks.PENDING)
        self._json = self._serialise(self._state)

    # --- reading ------------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        with self._changed:
            return self._seq

    def state(self) -> dict[str, Any]:
        with self._changed:
            return self._state

    def state_json(self) -> tuple[int, bytes]:
        with self._changed:
            return self._seq, self._json

    def wait(self, after: int, timeout: float) -> tuple[int, bytes] | None:
        """The next state after `after`, or None when `timeout` passes (or the session closes)."""
        with self._changed:
            self._changed.wait_for(lambda: self._seq > after or self._closed, timeout)
            if self._seq > after and not self._closed:
                return self._seq, self._json
            return None

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def email(self, variant: str, kind: str) -> str | None:
        """The last good build's HTML ("html") or plain text ("text") of a variant."""
        with self._changed:
            good = self._last_good
        if good is None:
            return None
        for item in good["variants"]:
            if item["name"] == variant:
                return str(item[kind])
        return None

    def file_for(self, url_path: str) -> Path | None:
        """The workspace file behind a /files/ URL path; only files a build handed out."""
        key = unquote(url_path.removeprefix(FILES_PREFIX))
        with self._changed:
            path = self._files.get(key)
        return path if path is not None and path.is_file() else None

    # --- building -----------------------------------------------------------------------------

    def rebuild(self) -> dict[str, Any]:
        """Reload the settings, render the issue, publish the result or the error; never raises
        for a broken issue, config or template."""
        from postcli import config

        started = time.perf_counter()
        error: PostcliError | Exception | None = None
        result = None
        try:
            settings = config.load(self.root)
            self._settings = settings
            result = self._renderer()(settings, self.issue_path, resolve=self._resolver(settings))
        except PostcliError as exc:
            error = exc
        except Exception as exc:  # a bug: keep serving, show it, log the traceback
            log.exception("preview build failed")
            error = exc
        elapsed = (time.perf_counter() - started) * 1000
        with self._changed:
            self._build += 1
            if result is not None:
                self._last_good = self._good_part(result)
            checking = result is not None and self._run_checks
            checks = PreviewChecks.PENDING if checking else PreviewChecks.OFF
            self._state = self._compose(result, error, elapsed, checks=checks)
            self._publish()
            return self._state

    def check(self) -> None:
        """Run `postcli check` on the last build and publish its findings.

        Checks look at what would be sent, so this renders once more with the sending URLs
        (the preview's own render points images at the preview server).
        """
        with self._changed:
            build, ok, settings = self._build, self._state["ok"], self._settings
        if not ok or settings is None or not self._run_checks:
            return
        from postcli.check import check_issue, run_checks

        try:
            if not self._custom_render:
                # Exactly what `postcli check` reports: rendered with the configured provider's
                # unsubscribe link, and a second paywall marker as a finding.
                report = check_issue(settings, self.issue_path)
                findings, checked = report.findings, (report.issue, report.emails)
            else:
                result = self._renderer()(settings, self.issue_path)
                findings = run_checks(result.issue, result.emails, settings)
                checked = (result.issue, result.emails)
            clients = _clients_table(*checked, settings)
        except PostcliError as exc:
            self._set_findings(build, PreviewChecks.FAILED, {}, str(exc))
            return
        except Exception as exc:
            log.exception("preview checks failed")
            self._set_findings(build, PreviewChecks.FAILED, {}, f"{type(exc).__name__}: {exc}")
            return
        by_variant: dict[str, list[dict[str, Any]]] = {Variant.FREE: [], Variant.PREMIUM: []}
        for finding in findings:
            item = _finding_dict(finding, self.root)
            targets = [item["variant"]] if item["variant"] in by_variant else list(by_variant)
            for name in targets:
                by_variant[name].append(item)
        self._set_findings(build, PreviewChecks.DONE, by_variant, clients=clients)

    def _set_findings(
        self,
        build: int,
        status: PreviewChecks,
        by_variant: dict[str, list[dict[str, Any]]],
        message: str | None = None,
        clients: str | None = None,
    ) -> None:
        with self._changed:
            if build != self._build:  # a newer build came meanwhile; its own checks follow
                return
            state = dict(self._state)
            state["checks"] = status
            state["checks_error"] = message
            state["clients"] = clients
            state["variants"] = [
                {**item, "findings": by_variant.get(item["name"], [])} for item in state["variants"]
            ]
            self._state = state
            self._publish()

    def _publish(self) -> None:
        self._seq += 1
        self._state["seq"] = self._seq
        self._json = self._serialise(self._state)
        self._changed.notify_all()

    def _renderer(self) -> RenderFunction:
        if self._render is None:
            from postcli.build import render

            self._render = render
        return self._render

    # --- images -------------------------------------------------------------------------------

    def _resolver(self, settings: Settings) -> UrlResolver:
        """Relative URLs of workspace files -> /files/... on the preview server, so the preview
        shows the local images even while `assets_url` is not live yet."""
        from postcli.render.urls import is_absolute_url, workspace_file

        site_url = settings.newsletter.url

        def resolve(kind: str, url: str) -> str:
            if not url or is_absolute_url(url) or url.startswith("#"):
                return url
            found = workspace_file(self.root, self.issue_path.parent, url)
            if found is not None:
                key = found.relative_to(self.root).as_posix()
                with self._changed:
                    self._files[key] = found
                # The version in the URL lets the browser cache the file until it changes.
                return f"{FILES_PREFIX}{quote(key)}?v={found.stat().st_mtime_ns}"
            if kind == "a" and site_url:
                base = site_url if site_url.endswith("/") else site_url + "/"
                return urljoin(base, posixpath.normpath(url))
            return url

        return resolve

    # --- the state ----------------------------------------------------------------------------

    def _good_part(self, result: BuildResult) -> dict[str, Any]:
        issue = result.issue
        front = issue.front
        return {
            "issue": {
                "id": issue.id,
                "path": _display_path(issue.path, self.root),
                "title": front.title,
                "audience": front.audience.value,
                "draft": front.draft,
                "send_at": front.send_at.isoformat(sep=" ", timespec="minutes")
                if front.send_at
                else None,
            },
            "variants": [
                {
                    "name": variant.value,
                    "label": VARIANT_LABELS[variant],
                    "subject": email.subject,
                    "preheader": email.preheader,
                    "html": email.html,
                    "text": email.text,
                    "html_bytes": email.html_bytes,
                    "text_bytes": email.text_bytes,
                    "cut": email.cut,
                    "findings": None,
                }
                for variant, email in result.emails.items()
            ],
        }

    def _compose(
        self,
        result: BuildResult | None,
        error: BaseException | None,
        elapsed_ms: float,
        *,
        checks: PreviewChecks,
    ) -> dict[str, Any]:
        settings = self._settings
        good = self._last_good or {
            "issue": {
                "id": self.issue_path.stem,
                "path": _display_path(self.issue_path, self.root),
                "title": None,
                "audience": None,
                "draft": False,
                "send_at": None,
            },
            "variants": [],
        }
        name, address = parseaddr(settings.newsletter.from_) if settings else ("", "")
        return {
            "seq": 0,
            "session": self.token,
            "build": self._build,
            "ok": result is not None,
            "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "build_ms": round(elapsed_ms, 1),
            "issue": good["issue"],
            "newsletter": settings.newsletter.name if settings else None,
            "from": {"name": name, "address": address},
            "clip_bytes": GMAIL_CLIP_BYTES,
            "checks": checks,
            "checks_error": None,
            "clients": None,
            "error": _error_dict(error, self.root) if error is not None else None,
            "variants": good["variants"],
        }

    @staticmethod
    def _serialise(state: dict[str, Any]) -> bytes:
        return json.dumps(state, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _clients_table(issue: Any, emails: Any, settings: Settings) -> str:
    """The `postcli check --clients` table, for the page (docs/checks.md)."""
    from postcli.clients.issue import issue_report
    from postcli.clients.report import format_table

    return format_table(issue_report(issue, emails, settings))


def _display_path(path: Path | str | None, root: Path) -> str | None:
    if path is None:
        return None
    path = Path(path)
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)


def _error_dict(error: BaseException, root: Path) -> dict[str, Any]:
    if isinstance(error, PostcliError):
        path = _display_path(error.path, root)
        return {
            "kind": type(error).__name__,
            "message": error.message,
            "path": path,
            "line": error.line,
            "location": f"{path}:{error.line}" if path and error.line else path,
            "hint": error.hint,
        }
    return {
        "kind": "InternalError",
        "message": f"postcli failed: {type(error).__name__}: {error}",
        "path": None,
        "line": None,
        "location": None,
        "hint": "this is a bug in postcli; run with -v to see the traceback and report it",
    }


def _finding_dict(finding: Any, root: Path) -> dict[str, Any]:
    """A check Finding as JSON; read by attribute so the check module stays free to evolve."""

    def text(value: Any) -> str | None:
        if value is None:
            return None
        return str(getattr(value, "value", value))

    path = getattr(finding, "path", None)
    return {
        "level": text(getattr(finding, "level", None)) or "warning",
        "rule": text(getattr(finding, "rule", None)),
        "message": text(getattr(finding, "message", None)) or "",
        "variant": text(getattr(finding, "variant", None)),
        "path": _display_path(path, root) if path else None,
        "line": getattr(finding, "line", None),
    }
