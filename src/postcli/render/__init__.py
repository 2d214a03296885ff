"""Issue + variant -> RenderedEmail (subject, preheader, HTML, plain text).

The pipeline is: the variant filter cuts the parsed issue (render.body), the body becomes an
HTML fragment with the content CSS inlined, Jinja2 puts it into the MJML template
(render.templates), and MJML compiles the result (render.mjml). The plain-text part comes from
the same parsed tokens (render.text); render.urls resolves URLs. Nothing here touches the
network or the ledger.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from postcli import guards
from postcli.config import Settings
from postcli.issues import Issue
from postcli.model import Variant
from postcli.render import links, mjml, passages, templates, typography
from postcli.render.body import UrlResolver, body_html, markdown_html, parse_variant
from postcli.render.script_urls import dangerous_scheme
from postcli.render.text import body_text, display_width, markdown_text
from postcli.render.urls import is_absolute_url, local_file, make_resolver, workspace_file

__all__ = [
    "RenderedEmail",
    "UrlResolver",
    "dangerous_scheme",
    "is_absolute_url",
    "local_file",
    "make_resolver",
    "meta",
    "meta_json",
    "render_issue",
    "render_variant",
    "workspace_file",
]

HTML_TEMPLATE = "email.mjml.j2"
TEXT_TEMPLATE = "email.txt.j2"
CONTENT_CSS = "content.css"


@dataclass(frozen=True)
class RenderedEmail:
    """One variant of one issue, ready for a provider."""

    issue_id: str
    variant: Variant
    subject: str
    preheader: str | None
    html: str
    text: str
    cut: bool  # premium-only content was removed (and the upgrade block added)

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode("utf-8"))

    @property
    def text_bytes(self) -> int:
        return len(self.text.encode("utf-8"))


def date_text(issue: Issue, strings: dict[str, object]) -> str | None:
    day = issue.date
    if day is None:
        return None
    months = strings.get("months") or []
    month_name = (
        months[day.month - 1] if isinstance(months, list) and len(months) == 12 else str(day.month)
    )
    return str(strings.get("date_format", "{year}-{month:02d}-{day:02d}")).format(
        year=day.year, month=day.month, day=day.day, month_name=month_name
    )


def _one_line(text: str) -> str:
    """A header value on one line: a line break in a subject must not end an email header,
    whichever provider builds the message."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def subject_line(issue: Issue) -> str:
    return _one_line(issue.front.subject or issue.front.title)


def preheader_line(issue: Issue) -> str | None:
    preheader = issue.front.preheader or issue.front.subtitle
    return _one_line(preheader) if preheader else None


def _pitch_html(text: str, path: Path | None) -> str:
    html = markdown_html(text)
    guards.check_rendered_html(html, path)
    return html


def render_variant(
    issue: Issue,
    settings: Settings,
    variant: Variant,
    *,
    unsubscribe_url: str | None = None,
    resolve: UrlResolver | None = None,
) -> RenderedEmail:
    """Render one variant. `unsubscribe_url` defaults to newsletter.unsubscribe_url; providers
    pass their own merge tag."""
    front = issue.front
    newsletter = settings.newsletter
    workspace_templates = settings.templates_dir
    resolve = resolve or make_resolver(issue, settings)
    body = parse_variant(issue, variant)
    css = templates.read_text(CONTENT_CSS, workspace_templates)
    inliner = settings.render.inliner
    strings = templates.strings(newsletter.lang, workspace_templates)
    labelled = passages.label_premium_passages(issue, body, strings.get("premium_passage"))
    fragment = body_html(labelled, resolve)
    guards.check_rendered_html(fragment, issue.path)  # before native code parses it
    html_fragment = mjml.inline_fragment(fragment, css, inliner)
    text_body = body_text(body, resolve)

    upgrade = None
    if body.cut:
        pitch = settings.premium.merged(front.upgrade)
        upgrade = {
            "heading": pitch.heading,
            "text": markdown_text(pitch.text),
            "text_html": Markup(
                mjml.inline_fragment(_pitch_html(pitch.text, settings.path), css, inliner)
            ),
            "benefits": list(pitch.benefits),
            "button": pitch.button,
            "url": pitch.upgrade_url,
        }
    if unsubscribe_url is None:
        unsubscribe_url = newsletter.unsubscribe_url
    view_url = links.view_in_browser(settings, issue.id)
    subject, preheader = subject_line(issue), preheader_line(issue)
    context = {
        "newsletter": newsletter,
        "lang": newsletter.lang,
        "t": strings,
        "variant": variant.value,
        "issue_id": issue.id,
        "title": front.title,
        "title_width": max(display_width(front.title), 3),
        "subtitle": front.subtitle,
        "subject": subject,
        "preheader": preheader,
        "date_text": date_text(issue, strings),
        "view_url": view_url,
        "unsubscribe_url": unsubscribe_url,
        "upgrade": upgrade,
        "tags": list(front.tags),
    }
    mjml_source = templates.render(
        HTML_TEMPLATE, {**context, "body": Markup(html_fragment)}, workspace_templates
    )
    html = mjml.compile_mjml(
        mjml_source, templates.template_path(HTML_TEMPLATE, workspace_templates)
    )
    if typography.wants_keep_all(newsletter.lang):
        html = typography.keep_words_whole(html)  # inline, for clients that drop <style>
    text = templates.render(
        TEXT_TEMPLATE, {**context, "body": text_body.rstrip()}, workspace_templates
    )
    return RenderedEmail(
        issue_id=issue.id,
        variant=variant,
        subject=subject,
        preheader=preheader,
        html=html,
        text=re.sub(r"\n{3,}", "\n\n", text).strip() + "\n",
        cut=body.cut,
    )


def render_issue(
    issue: Issue,
    settings: Settings,
    *,
    variants: tuple[Variant, ...] | None = None,
    unsubscribe_url: str | None = None,
    resolve: UrlResolver | None = None,
) -> dict[Variant, RenderedEmail]:
    """Every variant the issue's audience gets (or the ones asked for)."""
    wanted = variants or issue.front.audience.variants
    resolve = resolve or make_resolver(issue, settings)  # one for all: it keeps its answers
    return {
        v: render_variant(issue, settings, v, unsubscribe_url=unsubscribe_url, resolve=resolve)
        for v in wanted
    }


def meta(issue: Issue, emails: dict[Variant, RenderedEmail]) -> dict[str, object]:
    """meta.json: an output of both variants, so it carries no body text at all."""
    front = issue.front
    return {
        "id": issue.id,
        "title": front.title,
        "subject": subject_line(issue),
        "preheader": preheader_line(issue),
        "audience": front.audience.value,
        "send_at": front.send_at.isoformat() if front.send_at else None,
        "tags": list(front.tags),
        "variants": {
            v.value: {
                "html": f"{v.value}.html",
                "text": f"{v.value}.txt",
                "html_bytes": e.html_bytes,
                "text_bytes": e.text_bytes,
                "cut": e.cut,
            }
            for v, e in emails.items()
        },
    }


def meta_json(issue: Issue, emails: dict[Variant, RenderedEmail]) -> str:
    return json.dumps(meta(issue, emails), ensure_ascii=False, indent=2) + "\n"
