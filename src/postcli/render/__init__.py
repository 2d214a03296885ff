"""Issue + variant -> RenderedEmail (subject, preheader, HTML, plain text).

The pipeline is: the variant filter cuts the parsed issue (render.markdown), the body becomes an
HTML fragment with the content CSS inlined, Jinja2 puts it into the MJML template
(render.templates), and MJML compiles the result (render.mjml). The plain-text part comes from
the same parsed tokens. Nothing here touches the network or the ledger.
"""

from __future__ import annotations

import json
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

from markupsafe import Markup

from postcli.config import Settings
from postcli.issues import Issue, Variant
from postcli.render import markdown as md
from postcli.render import mjml, templates

HTML_TEMPLATE = "email.mjml.j2"
TEXT_TEMPLATE = "email.txt.j2"
CONTENT_CSS = "content.css"
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


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


def is_absolute_url(url: str) -> bool:
    return bool(_SCHEME_RE.match(url)) or url.startswith("//")


def local_file(issue: Issue, settings: Settings, url: str) -> Path | None:
    """The workspace file a relative URL names (relative to the issue, then the root).

    A root-relative URL (`/logo.png`) is looked up from the workspace root, and nothing outside
    the workspace is ever returned."""
    path = unquote(urlsplit(url).path)  # the Markdown parser percent-encodes spaces, Hangul
    if not path:
        return None
    root = settings.root.resolve()
    bases = (root,) if path.startswith("/") else (issue.path.parent, root)
    for base in bases:
        candidate = (base / path.lstrip("/")).resolve()
        if candidate.is_file() and candidate.is_relative_to(root):
            return candidate
    return None


def make_resolver(issue: Issue, settings: Settings) -> md.UrlResolver:
    """Relative image and asset URLs -> `assets_url`; other relative links -> the site URL.

    A URL that cannot be resolved stays as written; `postcli check` reports it.
    """
    assets_url = settings.newsletter.assets_url
    site_url = settings.newsletter.url
    assets_dir = settings.assets_dir.resolve()

    def resolve(kind: str, url: str) -> str:
        if not url or is_absolute_url(url) or url.startswith("#"):
            return url
        found = local_file(issue, settings, url)
        if found is not None and kind == "img" and not assets_url and settings.site.url:
            from postcli.site.assets import email_image_url  # the web edition hosts it

            return email_image_url(issue, settings, found) or url
        if found is not None and assets_url and found.is_relative_to(assets_dir):
            relative = quote(found.relative_to(assets_dir).as_posix())
            return urljoin(assets_url if assets_url.endswith("/") else assets_url + "/", relative)
        if kind == "a" and site_url and found is None:
            return urljoin(
                site_url if site_url.endswith("/") else site_url + "/", posixpath.normpath(url)
            )
        return url

    return resolve


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


def render_variant(
    issue: Issue,
    settings: Settings,
    variant: Variant,
    *,
    unsubscribe_url: str | None = None,
    resolve: md.UrlResolver | None = None,
) -> RenderedEmail:
    """Render one variant. `unsubscribe_url` defaults to newsletter.unsubscribe_url; providers
    pass their own merge tag."""
    front = issue.front
    newsletter = settings.newsletter
    workspace_templates = settings.templates_dir
    resolve = resolve or make_resolver(issue, settings)
    body = md.parse_variant(issue, variant)
    css = templates.read_text(CONTENT_CSS, workspace_templates)
    inliner = settings.render.inliner
    html_fragment = mjml.inline_fragment(md.body_html(body, resolve), css, inliner)
    text_body = md.body_text(body, resolve)
    strings = templates.strings(newsletter.lang, workspace_templates)

    upgrade = None
    if body.cut:
        pitch = settings.premium.merged(front.upgrade)
        upgrade = {
            "heading": pitch.heading,
            "text": md.markdown_text(pitch.text),
            "text_html": Markup(mjml.inline_fragment(md.markdown_html(pitch.text), css, inliner)),
            "benefits": list(pitch.benefits),
            "button": pitch.button,
            "url": pitch.upgrade_url,
        }
    if unsubscribe_url is None:
        unsubscribe_url = newsletter.unsubscribe_url
    view_url = settings.site.issue_url(issue.id) or (
        newsletter.web_url.format(id=issue.id) if newsletter.web_url else newsletter.url
    )
    subject, preheader = subject_line(issue), preheader_line(issue)
    context = {
        "newsletter": newsletter,
        "lang": newsletter.lang,
        "t": strings,
        "variant": variant.value,
        "issue_id": issue.id,
        "title": front.title,
        "title_width": max(md.display_width(front.title), 3),
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
    resolve: md.UrlResolver | None = None,
) -> dict[Variant, RenderedEmail]:
    """Every variant the issue's audience gets (or the ones asked for)."""
    wanted = variants or issue.front.audience.variants
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
