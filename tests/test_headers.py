"""Subjects and display names arrive exactly as written: RFC 2047 encoding that a reader
(the stdlib email parser, default policy, as a mail client) decodes back to the very text, with
and without the `[TEST] ` prefix, through postcli's header code and through the .eml files the
file provider writes.

The bug these hold: the email package's folder put a space of the text between two
encoded-words, where RFC 2047 tells readers to drop it ("'중국 AI'의" arrived "'중국AI'의").
"""

from __future__ import annotations

import email
import email.policy
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from postcli import headers
from postcli.issues import Variant
from postcli.mime import POLICY, as_bytes, build_message
from postcli.providers.file import FolderTransport
from postcli.render import RenderedEmail

# Any text a subject can hold: every script, repeated and odd spaces, no control characters and
# no line breaks (render.subject_line joins lines first; that is not the header code's job).
SUBJECT_CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"))
MIXED = st.lists(
    st.sampled_from(
        [
            "중국",
            "AI",
            " ",
            "  ",
            "'",
            "의",
            "탐험",
            "[TEST]",
            "=?",
            "?=",
            "utf-8",
            "😀",
            "—",
            "\u3000",
            "\u00a0",
            "a" * 90,
            "글로벌 시장",
            "Open-Weights",
            "\t",
            "?q?",
            "=?utf-8?b?",
        ]
    ),
    min_size=1,
    max_size=40,
).map("".join)
SUBJECTS = (
    st.one_of(st.text(SUBJECT_CHARS, min_size=1, max_size=300), MIXED)
    .map(lambda s: s.strip())
    .filter(bool)
)
KNOWN_BAD = "'글로벌 시장'을 향한 '중국 AI'의 탐험"


def email_with(subject: str) -> RenderedEmail:
    return RenderedEmail(
        "2026-12-01-x", Variant.FREE, subject, None, "<p>본문</p>", "본문\n", False
    )


def message(
    subject: str, prefix: str = "", sender: str = "브리프 <hello@example.com>"
) -> EmailMessage:
    return build_message(
        email_with(subject),
        sender=sender,
        to="reader@example.com",
        reply_to=None,
        unsubscribe_url=None,
        message_id="<1@example.com>",
        date=datetime(2026, 12, 1, tzinfo=UTC),
        subject_prefix=prefix,
    )


def parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def header_lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")


@settings(max_examples=300, deadline=None)
@given(subject=SUBJECTS, prefix=st.sampled_from(["", "[TEST]"]))
@example(subject=KNOWN_BAD, prefix="")
@example(subject=KNOWN_BAD, prefix="[TEST]")
@example(subject="a  b   c " * 20 + "끝", prefix="[TEST]")
@example(subject="About =?utf-8?q?encoded_words?= in subjects", prefix="")
def test_a_subject_decodes_to_exactly_what_was_written(subject: str, prefix: str) -> None:
    expected = f"{prefix} {subject}" if prefix else subject
    built = message(subject, prefix)
    assert str(built["Subject"]) == expected  # the header object holds the text as written
    for raw in (as_bytes(built), built.as_bytes(policy=POLICY)):
        assert raw.isascii()
        lines = header_lines(raw)
        assert all(len(line) <= 78 for line in lines if not line.startswith(b"Message-ID"))
        assert str(parse(raw)["Subject"]) == expected


@settings(max_examples=60, deadline=None)
@given(subject=SUBJECTS, prefix=st.sampled_from(["", "[TEST]"]))
@example(subject=KNOWN_BAD, prefix="[TEST]")
def test_the_file_providers_eml_decodes_to_the_subject(subject: str, prefix: str) -> None:
    """The .eml the file provider writes, read back from disk."""
    with tempfile.TemporaryDirectory() as folder:
        FolderTransport(Path(folder), prefix="free-").deliver(
            message(subject, prefix), sender="", recipient="reader@example.com"
        )
        (written,) = Path(folder).iterdir()
        parsed = parse(written.read_bytes())
    assert str(parsed["Subject"]) == (f"{prefix} {subject}" if prefix else subject)


@settings(max_examples=200, deadline=None)
@given(
    name=st.one_of(st.text(SUBJECT_CHARS, max_size=120), MIXED).map(lambda s: " ".join(s.split()))
)
@example(name="AI 글로벌 브리프")
@example(name='Park, "JS" \\ Kim')
@example(name="=?utf-8?q?not_encoded?=")
@example(name="")
def test_a_display_name_decodes_to_exactly_what_was_written(name: str) -> None:
    """Any name, its words separated by single spaces: a display name is an RFC 5322 phrase,
    whose runs of whitespace readers show as one space (the email package does too)."""
    built = EmailMessage(policy=POLICY)
    built["From"] = Address(display_name=name, addr_spec="hello@example.com")
    built["To"] = [
        Address(display_name=name, addr_spec="a@example.com"),
        Address(display_name="둘째 독자", addr_spec="b@example.com"),
    ]
    built.set_content("x")
    raw = built.as_bytes(policy=POLICY)
    # One encoded-word per name (see headers.display_name_words): short names fit a line.
    limit = 78 if len(name.encode()) <= 40 else 998
    assert all(len(line) <= limit for line in header_lines(raw))
    parsed = parse(raw)
    (sender,) = parsed["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (name, "hello@example.com")
    first, second = parsed["To"].addresses
    assert (first.display_name, first.addr_spec) == (name, "a@example.com")
    assert (second.display_name, second.addr_spec) == ("둘째 독자", "b@example.com")


@settings(max_examples=100, deadline=None)
@given(
    words=st.lists(
        st.text(
            st.characters(
                blacklist_categories=("Cc", "Cs", "Zl", "Zp", "Zs"),
                blacklist_characters='<>",;:@()[]\\',
            ),
            min_size=1,
            max_size=12,
        ),
        min_size=1,
        max_size=6,
    )
)
def test_a_from_line_as_written_in_postcli_toml_keeps_its_name(words: list[str]) -> None:
    """`from = "Name <address>"`: the name as the reader's client shows it."""
    name = " ".join(words)
    raw = as_bytes(message("제목", sender=f"{name} <hello@example.com>"))
    (sender,) = parse(raw)["From"].addresses
    assert sender.display_name == name


def test_the_known_bad_subject_is_written_with_every_space_inside_an_encoded_word() -> None:
    raw = as_bytes(message(KNOWN_BAD, "[TEST]"))
    subject = b"".join(line for line in header_lines(raw) if not line.startswith(b"From"))
    subject_lines = [
        line.decode() for line in header_lines(raw) if line.startswith((b"Subject:", b" "))
    ]
    assert subject and len(subject_lines) >= 2  # long enough to fold
    for line in subject_lines:
        body = line.removeprefix("Subject:").strip()
        assert body.startswith("=?utf-8?") and body.endswith("?=") and " " not in body
        assert len(body) <= headers.MAX_ENCODED_WORD


def test_plain_ascii_subjects_stay_readable_and_fold_at_their_own_spaces() -> None:
    subject = "Open-Weights Week:  Five Releases, One Pattern " * 3
    raw = as_bytes(message(subject.strip()))
    lines = [line.decode() for line in header_lines(raw)]
    start = next(i for i, line in enumerate(lines) if line.startswith("Subject:"))
    continued = [line for line in lines[start + 1 :] if line.startswith(" ")]
    folded = [lines[start], *continued[:2]]
    assert "=?" not in "".join(folded)
    assert str(parse(raw)["Subject"]) == subject.strip()


@pytest.mark.parametrize(
    ("text", "encoded"),
    [("Hello", False), ("=?utf-8?q?x?=", True), ("안녕", True), ("a" * 80, True)],
)
def test_what_needs_encoding(text: str, encoded: bool) -> None:
    assert headers.needs_encoding(text, 76) is encoded


def test_postcli_send_through_the_file_provider_keeps_the_subject_and_sender(
    workspace: Path, run_cli: Callable[..., Any]
) -> None:
    """The real command: `postcli send` and `send --test`, the written .eml files read back."""
    issue_id = "2026-12-29-subject"
    subject = "'중국 AI'의  탐험: Open-Weights  Week와 '글로벌 시장'을 향한 여정"
    (workspace / "issues" / f"{issue_id}.md").write_text(
        f'---\ntitle: "{subject}"\npreheader: 미리보기\n---\n본문입니다.\n', encoding="utf-8"
    )
    sent = run_cli("-C", workspace, "send", issue_id, "--yes", "--now")
    assert sent.exit_code == 0, sent.output
    test = run_cli("-C", workspace, "send", issue_id, "--test", "me@example.net", "--yes")
    assert test.exit_code == 0, test.output
    outbox = workspace / "outbox" / issue_id
    for path, expected in (
        (outbox / "free.eml", subject),
        (outbox / "premium.eml", subject),
        (outbox / "test" / "premium-me@example.net.eml", f"[TEST] {subject}"),
    ):
        parsed = parse(path.read_bytes())
        assert str(parsed["Subject"]) == expected, path.name
        assert parsed["From"].addresses[0].display_name == "AI 글로벌 브리프"
