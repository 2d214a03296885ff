"""postcli.mime: the message every smtp/file recipient gets, checked as a mail client parses it."""

from __future__ import annotations

import email
import email.policy
import html
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from postcli.issues import Variant
from postcli.mime import (
    POLICY,
    as_bytes,
    build_message,
    envelope_address,
    message_id,
    personalize,
    unsubscribe_link,
)
from postcli.render import RenderedEmail

SUBJECT = (
    "'글로벌 시장'을 향한 '중국 AI'의 탐험 — 지난 6개월 간 중국 AI 학계, 업계의 글로벌 확장 동향"
)
TEMPLATE = "https://example.com/unsubscribe?email={email}&list=weekly"
SENDER = "AI 글로벌 브리프 <hello@example.com>"


def rendered(
    *,
    html_body: str = "<p>본문</p>",
    text_body: str = "본문",
    unsubscribe: str | None = TEMPLATE,
    subject: str = SUBJECT,
) -> RenderedEmail:
    """A RenderedEmail as render_variant makes it: the unsubscribe URL escaped by Jinja2."""
    link_html = link_text = ""
    if unsubscribe:
        escaped = str(html.escape(unsubscribe, quote=True)).replace("&#x27;", "&#39;")
        link_html = f'<p><a href="{escaped}" style="color:#6b7280;">수신 거부</a></p>'
        link_text = f"\n수신 거부: {unsubscribe}\n"
    return RenderedEmail(
        issue_id="2026-12-01-china-ai-global",
        variant=Variant.FREE,
        subject=subject,
        preheader="미리보기",
        html=f"<!doctype html><html><body>{html_body}{link_html}</body></html>",
        text=f"{text_body}\n{link_text}",
        cut=True,
    )


def build(email_: RenderedEmail | None = None, **overrides: object) -> EmailMessage:
    recipient = str(overrides.pop("to", "reader@example.com"))
    base = email_ or rendered()
    options: dict[str, object] = {
        "sender": SENDER,
        "to": recipient,
        "reply_to": "편집자 <editor@example.com>",
        "unsubscribe_url": unsubscribe_link(TEMPLATE, recipient),
        "message_id": message_id(base.issue_id, base.variant, recipient, "example.com"),
        "date": datetime(2026, 12, 1, 9, 0, tzinfo=timezone(timedelta(hours=9))),
    }
    options.update(overrides)
    return build_message(personalize(base, TEMPLATE, recipient), **options)  # type: ignore[arg-type]


def received(message: EmailMessage) -> EmailMessage:
    """The message as a receiving client parses it from the wire bytes."""
    parsed = email.message_from_bytes(as_bytes(message), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_structure_is_multipart_alternative_text_then_html_in_utf8() -> None:
    parsed = received(build())
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert parts[0].get_content().startswith("본문")
    assert "<p>본문</p>" in parts[1].get_content()
    assert parsed["MIME-Version"] == "1.0"
    assert all(p["MIME-Version"] is None for p in parts)


def test_wire_form_is_7bit_with_crlf_and_no_line_over_998() -> None:
    raw = as_bytes(build())
    assert raw.isascii()
    assert b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998


def test_korean_subject_is_rfc2047_encoded_and_decodes_back_exactly() -> None:
    message = build()
    raw = as_bytes(message)
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    assert b"=?utf-8?" in header_block  # encoded words on the wire, never raw UTF-8
    assert SUBJECT.encode() not in raw
    assert str(received(message)["Subject"]) == SUBJECT


def test_subject_prefix_and_newlines_stay_on_one_header() -> None:
    message = build(rendered(subject="첫 줄\n둘째 줄"), subject_prefix="[TEST]")
    assert str(received(message)["Subject"]) == "[TEST] 첫 줄 둘째 줄"


def test_from_and_reply_to_keep_korean_display_names() -> None:
    parsed = received(build())
    sender = parsed["From"].addresses[0]
    assert (sender.display_name, sender.addr_spec) == ("AI 글로벌 브리프", "hello@example.com")
    reply = parsed["Reply-To"].addresses[0]
    assert (reply.display_name, reply.addr_spec) == ("편집자", "editor@example.com")
    header_block = as_bytes(build()).split(b"\r\n\r\n", 1)[0].decode("ascii")
    from_line = next(line for line in header_block.split("\r\n") if line.startswith("From:"))
    assert "=?utf-8?" in from_line and from_line.endswith("<hello@example.com>")
    assert envelope_address(SENDER) == "hello@example.com"


def test_names_with_commas_and_several_reply_to_addresses() -> None:
    parsed = received(
        build(
            sender='"Park, Ji-sung" <park@example.com>',
            to='"김, 철수" <kim@example.com>',
            reply_to='"Ed, Itor" <ed@example.com>, help@example.com',
        )
    )
    assert parsed["From"].addresses[0].display_name == "Park, Ji-sung"
    assert parsed["To"].addresses[0].display_name == "김, 철수"
    replies = [(a.display_name, a.addr_spec) for a in parsed["Reply-To"].addresses]
    assert replies == [("Ed, Itor", "ed@example.com"), ("", "help@example.com")]


def test_reply_to_is_left_out_when_not_set() -> None:
    assert received(build(reply_to=None))["Reply-To"] is None


def test_date_header_is_the_given_time() -> None:
    parsed = received(build())
    assert parsed["Date"].datetime == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def test_date_defaults_to_now_and_naive_means_utc() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    parsed = received(build(date=None))
    assert before <= parsed["Date"].datetime <= datetime.now(UTC) + timedelta(seconds=1)
    naive = received(build(date=datetime(2026, 12, 1, 9, 0)))
    assert naive["Date"].datetime == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_message_id_is_deterministic_and_unique_per_recipient_and_variant() -> None:
    first = message_id("2026-12-01-china-ai-global", "free", "a@example.com", "example.com")
    assert first == message_id("2026-12-01-china-ai-global", "free", "a@example.com", "example.com")
    assert first == message_id(
        "2026-12-01-china-ai-global", "free", " A@Example.com", "example.com"
    )
    others = {
        message_id("2026-12-01-china-ai-global", "free", "b@example.com", "example.com"),
        message_id("2026-12-01-china-ai-global", "premium", "a@example.com", "example.com"),
        message_id("2026-12-08-open-weights-week", "free", "a@example.com", "example.com"),
        message_id("2026-12-01-china-ai-global", "free", None, "example.com"),
    }
    assert first not in others and len(others) == 4
    assert first.startswith("<2026-12-01-china-ai-global.free.") and first.endswith("@example.com>")
    ids = {message_id("x", "free", f"user{i}@example.com", "example.com") for i in range(2000)}
    assert len(ids) == 2000


def test_message_id_is_ascii_for_a_korean_issue_id_and_domain() -> None:
    value = message_id("2026-12-01-중국-ai", "free", "a@example.com", "브리프.한국")
    assert value.isascii() and value.startswith("<2026-12-01-ai.free.")
    assert value.endswith(f"@{'브리프.한국'.encode('idna').decode()}>") and "xn--" in value
    message = build(message_id=value)
    assert f"\r\nMessage-ID: {value}\r\n" in as_bytes(message).decode("ascii")  # never folded
    assert received(message)["Message-ID"] == value


def test_list_unsubscribe_and_one_click_post() -> None:
    parsed = received(build(to="kim+news@example.com"))
    assert parsed["List-Unsubscribe"] == (
        "<https://example.com/unsubscribe?email=kim%2Bnews@example.com&list=weekly>"
    )
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_list_unsubscribe_with_mailto_and_a_long_url_is_never_encoded() -> None:
    long_template = "https://example.com/unsubscribe/" + "x" * 150 + "?email={email}"
    url = unsubscribe_link(long_template, "a@example.com")
    message = build(unsubscribe_url=url, unsubscribe_mailto="unsubscribe@example.com")
    raw = as_bytes(message).decode("ascii")
    assert f"List-Unsubscribe: <{url}>,\r\n <mailto:unsubscribe@example.com" in raw
    assert received(message)["List-Unsubscribe"] == (
        f"<{url}>, <mailto:unsubscribe@example.com?subject=unsubscribe>"
    )


def test_no_one_click_header_without_an_http_url() -> None:
    mailto_only = received(build(unsubscribe_url=None, unsubscribe_mailto="u@example.com"))
    assert mailto_only["List-Unsubscribe"] == "<mailto:u@example.com?subject=unsubscribe>"
    assert mailto_only["List-Unsubscribe-Post"] is None
    none = received(build(unsubscribe_url=None))
    assert none["List-Unsubscribe"] is None and none["List-Unsubscribe-Post"] is None


def test_list_id() -> None:
    assert received(build(list_id="brief.example.com"))["List-Id"] == "<brief.example.com>"
    named = received(build(list_id="AI 글로벌 브리프 <brief.example.com>"))["List-Id"]
    assert named == "AI 글로벌 브리프 <brief.example.com>"
    assert received(build())["List-Id"] is None


def test_personalize_puts_the_quoted_address_in_html_and_text() -> None:
    own = personalize(rendered(), TEMPLATE, "kim+news@example.com")
    expected = "https://example.com/unsubscribe?email=kim%2Bnews@example.com&list=weekly"
    assert f'href="{html.escape(expected)}"' in own.html
    assert f"수신 거부: {expected}" in own.text
    assert "{email}" not in own.html and "{email}" not in own.text
    assert own.subject == SUBJECT and own.variant is Variant.FREE


def test_personalize_leaves_nothing_of_another_recipient() -> None:
    base = rendered()
    first = personalize(base, TEMPLATE, "first@example.com")
    second = personalize(base, TEMPLATE, "second@example.com")
    assert "first" not in second.html + second.text
    assert "second" not in first.html + first.text
    assert base.html.count("{email}") == 1  # the rendered email is not changed in place


def test_personalize_handles_an_address_with_characters_to_escape() -> None:
    own = personalize(rendered(), TEMPLATE, "o'brien&co@example.com")
    assert "email=o%27brien%26co@example.com&amp;list=weekly" in own.html
    assert "email=o%27brien%26co@example.com&list=weekly" in own.text


def test_personalize_without_a_placeholder_changes_nothing() -> None:
    shared = "https://example.com/unsubscribe"
    base = rendered(unsubscribe=shared)
    assert personalize(base, shared, "a@example.com") is base
    assert personalize(base, None, "a@example.com") is base


def test_the_whole_message_carries_only_the_recipients_link() -> None:
    parsed = received(build(to="reader@example.com"))
    body = "".join(str(p.get_content()) for p in parsed.iter_parts())
    assert "email=reader@example.com" in body
    assert "{email}" not in body


def test_long_html_lines_are_encoded_and_decode_back() -> None:
    line = "<p>" + "가나다라 abc " * 400 + "</p>"  # one line of about 4,800 characters
    assert len(line) > 998
    message = build(rendered(html_body=line))
    body = as_bytes(message).split(b"\r\n\r\n", 1)[1]
    assert max(len(wire_line) for wire_line in body.split(b"\r\n")) <= 78
    html_part = list(received(message).iter_parts())[1]
    assert html_part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
    assert line in html_part.get_content()


def test_long_ascii_html_is_encoded_too() -> None:
    line = "<p>" + "a" * 3000 + "</p>"
    body = as_bytes(build(rendered(html_body=line))).split(b"\r\n\r\n", 1)[1]
    assert max(len(wire_line) for wire_line in body.split(b"\r\n")) <= 78
    assert line in list(received(build(rendered(html_body=line))).iter_parts())[1].get_content()


def test_a_bad_address_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="To"):
        build(to="not an address")


def test_policy_is_smtp_ready() -> None:
    assert POLICY.linesep == "\r\n" and POLICY.cte_type == "7bit"


def test_rendered_sample_issue_is_personalised(module_workspace: Path) -> None:
    """The real templates escape the URL as Jinja2 does; personalize must still find it."""
    from postcli import config
    from postcli.build import render

    settings = config.load(module_workspace)
    template = settings.newsletter.unsubscribe_url
    assert template and "{email}" in template
    emails = render(settings, "2026-12-01-china-ai-global").emails
    for variant, email_ in emails.items():
        own = personalize(email_, template, "kim+a@example.com")
        link = unsubscribe_link(template, "kim+a@example.com")
        assert link is not None
        assert html.escape(link) in own.html and link in own.text, variant
        assert "{email}" not in own.html + own.text
        parsed = received(build(email_, to="kim+a@example.com"))
        assert str(parsed["Subject"]) == email_.subject


# Pieces that trip encoders: "=" and trailing spaces (quoted-printable), a lone dot (SMTP's end
# of data), "From " (mbox quoting), tabs, Hangul, an emoji outside the BMP.
BODY_TEXT = st.lists(
    st.sampled_from(["a", "bc", " ", "=", ".", "-", "\t", "가나다", "😀", "\n", "From ", ".\n"]),
    max_size=200,
).map("".join)


@settings(max_examples=60, deadline=None)
@given(text_body=BODY_TEXT, html_body=BODY_TEXT)
def test_parts_decode_back_to_exactly_what_was_rendered(text_body: str, html_body: str) -> None:
    """Whatever encoding is chosen, a client decodes the very text and HTML postcli rendered
    (line ends aside: on the wire every line ends in CRLF)."""
    email_ = RenderedEmail("i", Variant.FREE, "s", None, html_body, text_body, False)
    message = build_message(
        email_,
        sender=SENDER,
        to="a@example.com",
        reply_to=None,
        unsubscribe_url=None,
        message_id="<x@example.com>",
    )
    raw = as_bytes(message)
    assert raw.isascii()
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    text_part, html_part = received(message).iter_parts()
    for part, expected in ((text_part, text_body), (html_part, html_body)):
        assert part.get_content().replace("\r\n", "\n") == expected


def test_shared_headers_fold_right_under_each_policy() -> None:
    """Headers shared by every message remember how they fold, per line ending and width."""
    first, second = build(to="a@example.com"), build(to="b@example.com")
    crlf = as_bytes(first).decode("ascii")
    lf = second.as_string(policy=POLICY.clone(linesep="\n"))
    assert "\r" not in lf
    subject = next(line for line in crlf.split("\r\n\r\n")[0].split("\r\n") if "Subject" in line)
    assert subject in lf and subject.startswith("Subject: =?utf-8?")
    wide = first.as_string(policy=POLICY.clone(linesep="\n", max_line_length=200))
    assert max(len(line) for line in wide.split("\n\n")[0].split("\n")) > 78
    assert str(received(second)["Subject"]) == SUBJECT


@settings(max_examples=60, deadline=None)
@given(
    subject=st.text(min_size=1, max_size=120).filter(lambda t: t.strip()),
    name=st.text(max_size=40),
    body=st.text(max_size=3000),
)
@example(subject="0", name="\x80\\", body="")  # an address whose local part is not ASCII
def test_the_fast_wire_form_is_byte_for_byte_the_generators(
    subject: str, name: str, body: str
) -> None:
    """as_bytes joins a built message itself; it must write exactly what the email package's
    generator writes, for any subject, display name and body."""
    from dataclasses import replace

    from postcli.mime import as_bytes

    email = replace(rendered(), subject=subject, text=body or "x", html=f"<p>{body}</p>")
    display = name.replace("\r", " ").replace("\n", " ").replace('"', "")
    message = build_message(
        email,
        sender="브리프 <hello@example.com>",
        to=f'"{display}" <kim@example.com>' if display.strip() else "kim@example.com",
        reply_to="editor@example.com",
        unsubscribe_url="https://example.com/u?email=kim%40example.com",
        message_id="<1@example.com>",
    )
    assert as_bytes(message) == message.as_bytes(policy=message.policy)
