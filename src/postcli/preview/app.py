"""Wiring of the live preview: bind the server, build once, watch, serve; and stop cleanly."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from postcli.preview.server import PreviewServer, bind
from postcli.preview.session import PreviewSession
from postcli.preview.watch import Watcher, WatchPlan

if TYPE_CHECKING:
    from postcli.preview.session import RenderFunction


@dataclass
class RunningPreview:
    session: PreviewSession
    server: PreviewServer
    watcher: Watcher | None
    thread: threading.Thread
    asked_port: int

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def port_changed(self) -> bool:
        return self.asked_port != 0 and self.server.port != self.asked_port

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the server stops (or `timeout` passes); True once it has stopped."""
        self.thread.join(timeout)
        return not self.thread.is_alive()

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.server.stop()
        self.thread.join(5)
        if self.watcher is not None:
            self.watcher.join(5)


def start(
    root: Path,
    issue_path: Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    watch: bool = True,
    render: RenderFunction | None = None,
    run_checks: bool = True,
) -> RunningPreview:
    """Bind, build the issue once, start watching and serving; returns at once.

    A broken issue, config or template does not stop the start: the page shows the error and
    the preview recovers when the file is fixed.
    """
    session = PreviewSession(root, issue_path, render=render, run_checks=run_checks)
    server = bind(session, host, port)
    session.rebuild()
    watcher = None
    if watch:
        watcher = Watcher(session, WatchPlan(root, issue_path))
        watcher.start()
    elif run_checks:
        session.check()
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.2},
        name="postcli-preview-http",
        daemon=True,
    )
    thread.start()
    return RunningPreview(session, server, watcher, thread, port)


def run_until_interrupted(stopped: Callable[[float], bool], stop: Callable[[], None]) -> None:
    """Block until `stopped(timeout)` is true, Ctrl-C or SIGTERM; then `stop()`, always.

    SIGTERM is turned into KeyboardInterrupt meanwhile, so a terminated server shuts down as
    cleanly as an interrupted one."""

    def terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        while not stopped(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        signal.signal(signal.SIGTERM, previous)
