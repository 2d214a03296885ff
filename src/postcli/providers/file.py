"""The `file` provider, postcli's default: it "sends" by writing RFC 5322 messages to outbox/<id>/.

    outbox/<id>/free.eml, premium.eml     one message per variant, as the list would get it
    outbox/<id>/to/<address>.eml          one per subscriber, with [providers.file] subscribers
                                          (`safe_name`: unique per address)
    outbox/<id>/test/<variant>-<address>.eml    what `send --test ADDR` wrote

Any mail client opens them. Per-subscriber files go through the same ledger-recorded loop as
`smtp`, so a killed run resumes the same way. Every file is written atomically (a temporary file,
then a rename): a reader never sees half a message, and writing one again replaces it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any, ClassVar

from postcli.config import Settings
from postcli.errors import ConfigError, ProviderUnavailable
from postcli.fs import write_atomic
from postcli.providers.base import Features

_UNSAFE_RE = re.compile(r"[^A-Za-z0-9@._+-]+")


def require_unsubscribe_url(settings: Settings, provider: str) -> None:
    """`file` and `smtp` put newsletter.unsubscribe_url in every message; they need it."""
    if not settings.newsletter.unsubscribe_url:
        raise ConfigError(
            f"the {provider} provider needs newsletter.unsubscribe_url",
            path=settings.path,
            hint="add to [newsletter]: "
            'unsubscribe_url = "https://example.com/unsubscribe?email={email}"',
        )


def check_keys(settings: Settings, provider: str, known: tuple[str, ...]) -> dict[str, Any]:
    """[providers.<provider>] with unknown keys reported, each with its line."""
    from postcli.config import _key_line

    options = settings.provider_settings(provider)
    unknown = [key for key in options if key not in known]
    if unknown:
        text = settings.path.read_text(encoding="utf-8") if settings.path else ""
        raise ConfigError(
            f"unknown key '{unknown[0]}' in [providers.{provider}]; known: {', '.join(known)}",
            path=settings.path,
            line=_key_line(text, f"providers.{provider}", unknown[0]),
        )
    return options


def subscribers_path(settings: Settings, provider: str, options: dict[str, Any]) -> Path | None:
    value = options.get("subscribers")
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        from postcli.config import _key_line

        text = settings.path.read_text(encoding="utf-8") if settings.path else ""
        raise ConfigError(
            f"'subscribers' in [providers.{provider}] must be the path of a CSV file",
            path=settings.path,
            line=_key_line(text, f"providers.{provider}", "subscribers"),
        )
    path = Path(value).expanduser()
    return path if path.is_absolute() else settings.root / path


_PLAIN_NAME_RE = re.compile(r"[a-z0-9@_+-][a-z0-9@._+-]{0,199}")
_STEM_CHARS = 160


def safe_name(address: str) -> str:
    """An address as a file name: readable, never a path, and unique per address.

    An address that is a plain file name already (lower-case letters, digits, `@._+-`) is used
    as it is. Any other gets a safe stem and `=` with a hash of the exact address: `a!b@x.org`,
    `a#b@x.org` and `a_b@x.org` are three files, `A@x.org` and `a@x.org` two even on a file
    system that ignores case. `=` never appears in a plain name, so the two kinds cannot meet.
    """
    if _PLAIN_NAME_RE.fullmatch(address):
        return address
    import hashlib

    stem = _UNSAFE_RE.sub("_", address).strip(".")[:_STEM_CHARS] or "_"
    digest = hashlib.sha256(address.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{stem}={digest}"


class FolderTransport:
    """Delivers by writing `<folder>/<prefix><address>.eml`."""

    def __init__(self, folder: Path, prefix: str = "") -> None:
        self.folder = folder
        self.prefix = prefix

    def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        from postcli import mime

        path = self.folder / f"{self.prefix}{safe_name(recipient)}.eml"
        try:
            write_atomic(path, mime.as_bytes(message))
        except OSError as exc:
            raise ProviderUnavailable(
                f"cannot write the message: {exc.strerror}", path=path, hint="check the disk"
            ) from exc


class FileProvider:
    """Writes .eml files to outbox/<id>/ instead of sending anything."""

    name: ClassVar[str] = "file"
    features: ClassVar[Features] = Features(per_recipient=True)
    unsubscribe_tag: ClassVar[str | None] = None
    KEYS: ClassVar[tuple[str, ...]] = ("subscribers",)

    def __init__(self, settings: Settings, *, client: Any = None) -> None:
        self.settings = settings
        self.options = check_keys(settings, self.name, self.KEYS)
        self.subscribers_file = subscribers_path(settings, self.name, self.options)

    def validate(self) -> None:
        require_unsubscribe_url(self.settings, self.name)

    def describe(self) -> str:
        outbox = self.settings.outbox_dir
        return f"the file provider: .eml files in {outbox}"

    def subscribers(self) -> list[Any]:
        if self.subscribers_file is None:
            return []
        from postcli.subscribers import load_subscribers

        return load_subscribers(self.subscribers_file)

    def outbox(self, issue_id: str) -> Path:
        return self.settings.outbox_dir / issue_id

    def variant_copy(self, issue_id: str, variant: str, message: EmailMessage) -> None:
        FolderTransport(self.outbox(issue_id)).deliver(message, sender="", recipient=variant)

    @contextmanager
    def open_transport(
        self, issue_id: str, *, test_variant: str | None = None
    ) -> Iterator[FolderTransport]:
        if test_variant is not None:
            yield FolderTransport(self.outbox(issue_id) / "test", prefix=f"{test_variant}-")
        else:
            yield FolderTransport(self.outbox(issue_id) / "to")
