"""Numbers the outside world sets, shared by the modules that must agree on them."""

from __future__ import annotations

GMAIL_CLIP_BYTES = 102_000  # Gmail clips a message whose HTML is larger (docs/checks.md)
