"""The live preview of one issue: `postcli preview`.

    session.py  the model: rebuild the issue, publish its state (or its error) to the page
    watch.py    the files whose save refreshes the preview, and the thread that watches them
    server.py   the HTTP server: page, JSON state, Server-Sent Events, emails, images
    page.py     the page's HTML, CSS and script
    app.py      wiring: start everything, stop everything

The preview renders with the build function `postcli build` uses and never imports providers.
"""

from postcli.preview.app import RunningPreview, start

__all__ = ["RunningPreview", "start"]
