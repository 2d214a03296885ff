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
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from postcli.config import Settings
from postcli.errors import ProviderUnavailable
from postcli.fs import write_atomic
from postcli.model import Variant
from postcli.providers._settings import check_table, require_unsubscribe_url, subscribers_path
from postcli.providers.base import Accepted, Features, Key, SettingsSchema

if TYPE_CHECKING:
    from postcli.subscribers import Subscriber

_UNSAFE_RE = re.compile(r"[^A-Za-z0-9@._+-]+")


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

    def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> Accepted:
        from postcli import mime

        path = self.folder / f"{self.prefix}{safe_name(recipient)}.eml"
        try:
            write_atomic(path, mime.as_bytes(message))
        except OSError as exc:
            raise ProviderUnavailable(
                f"cannot write the message: {exc.strerror}", path=path, hint="check the disk"
            ) from exc
        return Accepted()


class FileProvider:
    """Writes .eml files to outbox/<id>/ instead of sending anything."""

    name: ClassVar[str] = "file"
    features: ClassVar[Features] = Features(per_recipient=True)
    unsubscribe_tag: ClassVar[str | None] = None
    secret_variables: ClassVar[tuple[str, ...]] = ()
    settings_schema: ClassVar[SettingsSchema] = {
        "subscribers": Key((str,), must="the path of a CSV file"),
    }

    def __init__(self, settings: Settings, *, client: object = None) -> None:
        self.settings = settings
        self.options = check_table(settings, self.name, self.settings_schema)
        self._subscribers_file = subscribers_path(settings, self.name, self.options)

    @property
    def subscribers_file(self) -> Path | None:
        return self._subscribers_file

    def validate(self) -> None:
        require_unsubscribe_url(self.settings, self.name)

    def describe(self) -> str:
        outbox = self.settings.outbox_dir
        return f"the file provider: .eml files in {outbox}"

    def close(self) -> None:
        """Nothing to release."""

    def subscribers(self) -> Collection[Subscriber]:
        if self.subscribers_file is None:
            return []
        from postcli.subscribers import read_subscribers

        return read_subscribers(self.subscribers_file)

    def outbox(self, issue_id: str) -> Path:
        return self.settings.outbox_dir / issue_id

    def variant_copy(self, issue_id: str, variant: Variant, message: EmailMessage) -> None:
        FolderTransport(self.outbox(issue_id)).deliver(message, sender="", recipient=variant)

    @contextmanager
    def open_transport(
        self, issue_id: str, *, test_variant: Variant | None = None
    ) -> Iterator[FolderTransport]:
        if test_variant is not None:
            yield FolderTransport(self.outbox(issue_id) / "test", prefix=f"{test_variant.value}-")
        else:
            yield FolderTransport(self.outbox(issue_id) / "to")
