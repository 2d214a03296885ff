"""premium-leak: the independent check that no premium-only passage reaches a free output.

Deliberately independent of the renderer's variant filter: it collects the premium-only passages
from the issue's own tokens and searches every free output for them, so a bug in the filter or a
template cannot hide itself.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable

from postcli.check.document import Document, copy_env, inline_items
from postcli.check.html import HEAD_RE, normalise, strip_tags
from postcli.check.rules import MAX_LEAKS_PER_VARIANT, MIN_PASSAGE_CHARS, Finding, finding
from postcli.check.source import short
from postcli.config import Settings
from postcli.issues import Audience, Issue, Variant
from postcli.render import RenderedEmail, links, make_resolver

_SENTENCE_RE = re.compile(r"(?<=[.!?。！？…])\s+|\n\s*\n")


def _passages(text: str) -> Iterable[str]:
    for sentence in _SENTENCE_RE.split(text):
        sentence = normalise(sentence)
        if len(sentence) >= MIN_PASSAGE_CHARS:
            yield sentence


def _free_visible(doc: Document, settings: Settings) -> str:
    """Everything a free reader may legitimately see, as one normalised string."""
    from postcli.render import templates
    from postcli.render.text import markdown_text

    issue = doc.issue
    # References defined in premium-only lines do not resolve for free readers.
    env = copy_env(issue.env)
    free_references = {
        label: ref
        for label, ref in env["references"].items()
        if not doc.is_premium_only(issue.body_line + ref["map"][0])
    }
    # With every reference free, the parse is the one the document's items came from.
    tokens = doc.tokens
    if free_references != env["references"] or not tokens:
        env["references"] = free_references
        tokens = doc.parse(env)
    resolve = make_resolver(issue, settings)
    parts: list[str] = []
    lines = issue.source.split("\n")
    for token in tokens:
        if not token.map or doc.is_premium_only(issue.line_of(token)):
            continue
        if token.type in ("fence", "code_block", "html_block"):
            parts.append(token.content)
        elif token.type == "inline":
            for item in inline_items(token, issue.line_of(token), lines, issue.body_line):
                parts.append(item.value)
                if item.kind in ("link", "image"):
                    parts.append(resolve("img" if item.kind == "image" else "a", item.value))
    front = issue.front
    pitch = settings.premium.merged(front.upgrade)
    newsletter = settings.newsletter
    parts += [front.title, front.subtitle or "", issue.id, *front.tags]
    parts += [pitch.heading, pitch.text, pitch.button, pitch.upgrade_url, *pitch.benefits]
    parts.append(markdown_text(pitch.text))  # the pitch as its email shows it
    site = settings.site
    parts += [site.url or "", site.title or ""]
    parts.append(links.view_in_browser(settings, issue.id) or "")  # "view in browser"
    parts += [
        str(v or "")
        for v in (
            newsletter.name,
            newsletter.from_,
            newsletter.url,
            newsletter.web_url,
            newsletter.unsubscribe_url,
            newsletter.reply_to,
        )
    ]
    try:
        words = templates.strings(newsletter.lang, settings.templates_dir)
    except Exception:  # a broken strings.toml is reported by the render, not here
        words = {}
    parts += [str(v) for v in words.values() if isinstance(v, str)]
    return "\x00".join(normalise(p) for p in parts)


def _premium_passages(doc: Document, settings: Settings) -> list[tuple[str, int, str]]:
    """(passage, file line, what it is) for every distinctive premium-only passage."""
    issue = doc.issue
    resolve = make_resolver(issue, settings)
    out: list[tuple[str, int, str]] = []
    for item in doc.items:
        if not doc.is_premium_only(item.line):
            continue
        if item.kind in ("text", "code"):
            for passage in _passages(item.value):
                out.append((passage, item.line, "text"))
        else:
            kind = "img" if item.kind == "image" else "a"
            noun = "image" if item.kind == "image" else "link"
            for url in {item.value.strip(), resolve(kind, item.value.strip())}:
                if len(url) >= MIN_PASSAGE_CHARS and not url.startswith("#"):
                    out.append((url, item.line, noun))
    for ref in [*issue.env.get("references", {}).values(), *issue.env.get("duplicate_refs", [])]:
        line = issue.body_line + ref["map"][0]
        href = str(ref.get("href", "")).strip()
        if doc.is_premium_only(line) and len(href) >= MIN_PASSAGE_CHARS:
            out.append((href, line, "link"))
            out.append((resolve("a", href), line, "link"))
    return out


def premium_leaks(
    doc: Document, email: RenderedEmail, settings: Settings, where: str = "the free email"
) -> list[Finding]:
    """Premium-only passages found in `email` (or a page read as one: `where` names it)."""
    passages = _premium_passages(doc, settings)
    if not passages:
        return []
    allowed = _free_visible(doc, settings)
    body_html = HEAD_RE.sub(" ", email.html)
    outputs = (
        ("the HTML", normalise(strip_tags(body_html))),
        ("the plain text", normalise(email.text)),
        ("the subject", normalise(email.subject)),
        ("the preheader", normalise(email.preheader or "")),
        (
            "the HTML source (an attribute, comment or the head)",
            normalise(html_lib.unescape(email.html)),
        ),
    )
    leaks: list[Finding] = []
    reported: set[str] = set()
    for passage, line, what in passages:
        if passage in reported or passage in allowed:
            continue
        found_in = [name for name, text in outputs if passage in text]
        if not found_in:
            continue
        reported.add(passage)
        leaks.append(
            finding(
                "premium-leak",
                f"premium-only {what} \u201c{short(passage)}\u201d is in {where} "
                f"({', '.join(found_in)}); free readers must not get it: look for it in the "
                "front matter and templates, and report a bug if it comes from postcli",
                variant=Variant.FREE,
                path=doc.issue.path,
                line=line,
            )
        )
    if len(leaks) > MAX_LEAKS_PER_VARIANT:
        extra = len(leaks) - MAX_LEAKS_PER_VARIANT
        first_hidden = leaks[MAX_LEAKS_PER_VARIANT]
        leaks = [
            *leaks[:MAX_LEAKS_PER_VARIANT],
            finding(
                "premium-leak",
                f"and {extra} more premium-only passages in {where}; fix the ones "
                "above first: they likely share one cause",
                variant=Variant.FREE,
                path=doc.issue.path,
                line=first_hidden.line,
            ),
        ]
    return leaks


def site_page_leaks(issue: Issue, settings: Settings) -> list[Finding]:
    """The premium-leak rule over the issue's page in the web edition, when one was built
    (site/ and site-drafts/): the page is public, so it is held to the free email's rule."""
    findings: list[Finding] = []
    for folder in ("site", "site-drafts"):
        page = settings.root / folder / issue.id / "index.html"
        if not page.is_file():
            continue
        html = page.read_text(encoding="utf-8", errors="replace")
        findings += web_leaks(
            site_document(issue), html, settings, f"{folder}/{issue.id}/index.html"
        )
    return findings


def site_document(issue: Issue) -> Document:
    """The issue as the web edition's leak rule reads it: for the free variant, and with the
    whole body premium-only when the audience is premium (its page shows no body at all)."""
    doc = Document(issue, (Variant.FREE,))
    if issue.front.audience is Audience.PREMIUM:
        doc.premium_only.append((0, 1 << 30))
    return doc


def web_leaks(doc: Document, html: str, settings: Settings, where: str) -> list[Finding]:
    """Premium-only passages in a public web page (or its feed entry), named by `where`."""
    as_email = RenderedEmail(doc.issue.id, Variant.FREE, "", None, html, "", True)
    return premium_leaks(doc, as_email, settings, where=where)
