"""Rules on each rendered email: subject, preheader, size, unsubscribe link, and the links and
images a template (rather than the issue) put in."""

from __future__ import annotations

import re
import unicodedata

from postcli.check.clip import delivered_html_bytes
from postcli.check.document import Document
from postcli.check.html import HtmlTags
from postcli.check.rules import GMAIL_CLIP_BYTES, LONG_SUBJECT_CHARS, Finding, finding
from postcli.check.source import is_local_host, is_merge_tag, short
from postcli.config import Settings
from postcli.issues import Variant
from postcli.render import RenderedEmail, dangerous_scheme, is_absolute_url, make_resolver
from postcli.render.script_urls import NEUTRALISED_URL


def _visible(text: str) -> str:
    """The text without whitespace and invisible format characters (zero-width and such)."""
    return "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch)[0] != "C")


def email_rules(
    doc: Document,
    variant: Variant,
    email: RenderedEmail,
    settings: Settings,
    unsubscribe_url: str | None,
) -> list[Finding]:
    issue, front = doc.issue, doc.issue.front
    out: list[Finding] = []
    subject_line = front.lines.get("subject") or front.lines.get("title")

    def add(rule: str, message: str, line: int | None = None) -> None:
        where = {"path": issue.path, "line": line} if line else {}
        out.append(finding(rule, message, variant=variant, **where))

    if not _visible(email.subject):
        add(
            "empty-subject",
            "the subject is empty; give the issue a 'subject:' or 'title:'",
            subject_line,
        )
    elif len(email.subject) > LONG_SUBJECT_CHARS:
        add(
            "long-subject",
            f"the subject is {len(email.subject)} characters; inboxes cut it near "
            f"{LONG_SUBJECT_CHARS}, so shorten it or set a shorter 'subject:'",
            subject_line,
        )
    if not email.preheader or not _visible(email.preheader):
        add(
            "no-preheader",
            "no preheader: inboxes will show the first words of the email instead; add "
            "'preheader:' (or 'subtitle:') to the front matter",
            front.lines.get("title"),
        )
    delivered = delivered_html_bytes(email, settings, unsubscribe_url)  # as each reader gets it
    if delivered > GMAIL_CLIP_BYTES:
        add(
            "gmail-clip",
            f"the HTML is {delivered:,} bytes as delivered (the longest reader's copy, "
            f"transfer-encoded), over Gmail's {GMAIL_CLIP_BYTES:,}: Gmail "
            "hides the rest behind 'View entire message', unsubscribe link included; shorten "
            "the issue or its templates",
        )

    tags = HtmlTags.of(email.html)
    hrefs = [t.attrs.get("href") or "" for t in tags if t.name == "a"]
    if not any(_is_unsubscribe(href, settings, unsubscribe_url) for href in hrefs):
        add(
            "no-unsubscribe",
            "no unsubscribe link in the HTML; set newsletter.unsubscribe_url in postcli.toml "
            "(the file and smtp providers need it) and keep the template's unsubscribe link",
        )

    # What the source rules saw, by the URL that is sent, to name a line and not repeat them.
    resolve = make_resolver(issue, settings)
    source_urls: dict[str, tuple[int, str]] = {}  # URL as sent -> (line, URL as written)
    for item in doc.items:
        if item.kind in ("link", "image"):
            written = item.value.strip()
            source_urls.setdefault(written, (item.line, written))
            sent = resolve("img" if item.kind == "image" else "a", written)
            source_urls.setdefault(sent, (item.line, written))
    source_has_script = any(
        item.kind in ("link", "image") and dangerous_scheme(item.value) for item in doc.items
    )
    for tag in tags:
        url = (tag.attrs.get("src" if tag.name == "img" else "href") or "").strip()
        line, written = source_urls.get(url, (None, url))
        if tag.name == "img" and not tag.attrs.get("width"):
            add(
                "image-no-width",
                f"image '{short(written)}' has no width, so Outlook shows it at its full size; "
                "put it in a paragraph of its own (it becomes a full-width figure), or give "
                "the <img> a width",
                line,
            )
        if line is not None:
            continue  # its other problems were reported from the Markdown, with the line
        if tag.name == "img" and tag.attrs.get("alt") is None:
            add(
                "missing-alt",
                f"image '{short(url)}' has no alt attribute (from a template?); add "
                'alt="..." describing it',
            )
        if dangerous_scheme(url) or (url == NEUTRALISED_URL and not source_has_script):
            add(
                "javascript-link",
                "a script link ('javascript:' or the like) in the HTML (from a template?); it "
                "is removed from what is sent: link to a web page instead",
            )
        elif is_local_host(url):
            add(
                "local-link",
                f"a link to a local address '{short(url)}' in the HTML (from "
                "postcli.toml or a template?); use the public URL",
            )
        elif url and not url.startswith("#") and not is_absolute_url(url) and not is_merge_tag(url):
            add(
                "unresolved-url",
                f"relative URL '{short(url)}' in the HTML (from a "
                "template?) cannot be followed from an inbox; write the full URL",
            )
    return out


def _is_unsubscribe(href: str, settings: Settings, rendered_with: str | None) -> bool:
    href = href.strip()
    if not href:
        return False
    if rendered_with and href == rendered_with.strip():
        return True
    compact = href.replace(" ", "")
    from postcli.registry import unsubscribe_tags  # every provider's, plug-ins' too

    for tag in unsubscribe_tags().values():
        if tag.replace(" ", "") in compact:
            return True
    if is_merge_tag(href) and "unsub" in href.lower():
        return True  # another provider's tag, like {{unsubscribe_link}} or %%unsubscribe%%
    configured = settings.newsletter.unsubscribe_url
    if not configured:
        return False
    # A per-recipient link has its {email} filled in: each {placeholder} matches any text.
    pattern = ".+".join(re.escape(part) for part in re.split(r"\{[^{}]*\}", configured))
    return href == configured or re.fullmatch(pattern, href) is not None
