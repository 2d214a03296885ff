"""Pre-flight checks: the parsed issue and its rendered emails -> findings.

Owns every rule of `postcli check` (docs/checks.md) and nothing else: it renders nothing
itself, sends nothing and never touches the ledger. The rules are pure functions of values;
the only look-ups outside those values (is there a local file for this relative URL, how big
is it) go through two small callables that default to the file system and that tests replace.

The API other commands use:

    findings = run_checks(issue, emails, settings, unsubscribe_url=provider.unsubscribe_tag)
    has_errors(findings)          # True: refuse to send

    report = check_issue(settings, "2026-12-01-slug", unsubscribe_url=provider.unsubscribe_tag)
    report.findings, report.has_errors, report.as_dict()   # as_dict() is the --json shape

    findings = site_checks(issue, page_and_feed_html, settings, where="its page")  # `site`

`send` runs `run_checks` on the very emails it is about to hand to the provider, rendered with
the provider's unsubscribe merge tag (pass that tag as `unsubscribe_url`; the tags of the
built-in providers are known without it), and refuses when `has_errors` is true. `preview`
shows the same findings. The order of the list is the order `postcli check` prints.

A Finding's `variant` is None when it concerns the issue as a whole or every variant checked
alike, else the one variant it concerns. `path` and `line` point into the issue's Markdown
where the finding comes from it.

The premium-leak rule is deliberately independent of the renderer's variant filter: it
collects the premium-only passages from the issue's own tokens and searches every free
output for them, so a bug in the filter or a template cannot hide itself.

The package, one concern per module:

    rules.py     the rule table (RULES), Level and Finding
    document.py  the issue parsed once for the rules (links, images, text, with their lines)
    html.py      HTML read with the standard library's parser
    source.py    rules on the issue's structure and Markdown source
    email.py     rules on each rendered email
    leak.py      premium-leak, the independent check
    clients.py   client-support, from postcli.clients (the email-client report)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from postcli.check.document import Document
from postcli.check.leak import premium_leaks, site_document, site_page_leaks, web_leaks
from postcli.check.rules import (
    GMAIL_CLIP_BYTES,
    LARGE_IMAGE_BYTES,
    LONG_SUBJECT_CHARS,
    MAX_LEAKS_PER_VARIANT,
    MIN_PASSAGE_CHARS,
    RULES,
    FileSize,
    FindFile,
    Finding,
    Level,
    finding,
    has_errors,
    merge_variants,
    sorted_findings,
)
from postcli.check.source import source_rules, structure_rules
from postcli.config import Settings
from postcli.errors import IssueError
from postcli.issues import (
    PAYWALL_RE,
    Audience,
    Issue,
    Variant,
    parse_issue,
    read_text,
    resolve_issue_path,
)
from postcli.render import RenderedEmail, local_file

__all__ = [
    "GMAIL_CLIP_BYTES",
    "LARGE_IMAGE_BYTES",
    "LONG_SUBJECT_CHARS",
    "MAX_LEAKS_PER_VARIANT",
    "MIN_PASSAGE_CHARS",
    "RULES",
    "FileSize",
    "FindFile",
    "Finding",
    "Level",
    "Report",
    "check_issue",
    "has_errors",
    "load_tolerant",
    "run_checks",
    "site_checks",
]


@dataclass(frozen=True)
class Report:
    issue: Issue
    emails: dict[Variant, RenderedEmail]
    findings: list[Finding]

    @property
    def has_errors(self) -> bool:
        return has_errors(self.findings)

    @property
    def errors(self) -> int:
        return sum(f.level is Level.ERROR for f in self.findings)

    @property
    def warnings(self) -> int:
        return sum(f.level is Level.WARNING for f in self.findings)

    def as_dict(self, display_path: Callable[[Path], str] = str) -> dict[str, Any]:
        """The stable JSON shape of `postcli check --json` (docs/checks.md)."""
        findings = []
        for found in self.findings:
            item = found.as_dict()
            if found.path is not None:
                item["path"] = display_path(found.path)
            findings.append(item)
        return {
            "issue": self.issue.id,
            "path": display_path(self.issue.path),
            "variants": [v.value for v in self.emails],
            "ok": not self.has_errors,
            "errors": self.errors,
            "warnings": self.warnings,
            "findings": findings,
        }


def check_issue(
    settings: Settings,
    issue_arg: str | Path,
    *,
    unsubscribe_url: str | None = None,
    find_file: FindFile | None = None,
    file_size: FileSize | None = None,
) -> Report:
    """Load ISSUE (a path or an id), render what its audience gets, and run every check.

    A second paywall marker becomes a finding rather than an IssueError, so the rest of the
    issue is still checked. `unsubscribe_url` is what a send would put in: the provider's merge
    tag (default: the one the provider registry knows for the configured provider), else
    newsletter.unsubscribe_url.
    """
    from postcli.render import render_issue

    path = resolve_issue_path(str(issue_arg), settings.issues_dir)
    issue, structure = load_tolerant(path)
    if unsubscribe_url is None:
        from postcli.registry import unsubscribe_tags

        unsubscribe_url = (
            unsubscribe_tags().get(settings.provider) or settings.newsletter.unsubscribe_url
        )
    emails = render_issue(issue, settings, unsubscribe_url=unsubscribe_url)
    findings = structure + run_checks(
        issue,
        emails,
        settings,
        unsubscribe_url=unsubscribe_url,
        find_file=find_file,
        file_size=file_size,
    )
    findings += site_page_leaks(issue, settings)  # the web edition's page, when built
    return Report(issue, emails, sorted_findings(findings))


def load_tolerant(path: Path) -> tuple[Issue, list[Finding]]:
    """Parse the issue; each extra paywall marker becomes a paywall-twice finding and is
    ignored, where `load_issue` would stop at it. Any other problem raises IssueError."""
    text = read_text(path)
    findings: list[Finding] = []
    while True:
        try:
            return parse_issue(text, path), findings
        except IssueError as exc:
            lines = text.split("\n")
            line = exc.line or 0
            if not (
                exc.message.startswith("a second paywall marker")
                and 0 < line <= len(lines)
                and PAYWALL_RE.match(lines[line - 1].strip())
            ):
                raise
            findings.append(
                finding(
                    "paywall-twice",
                    f"a second paywall marker ({exc.hint or 'an issue has one'}); "
                    "delete one of them: everything below the first is premium-only anyway",
                    path=path,
                    line=line,
                )
            )
            lines[line - 1] = ""
            text = "\n".join(lines)


def run_checks(
    issue: Issue,
    emails: dict[Variant, RenderedEmail],
    settings: Settings,
    *,
    unsubscribe_url: str | None = None,
    find_file: FindFile | None = None,
    file_size: FileSize | None = None,
) -> list[Finding]:
    """Every rule on one issue and the emails rendered from it.

    `unsubscribe_url` is the unsubscribe link the emails were rendered with, when a provider
    passed its own merge tag; the known tags and newsletter.unsubscribe_url count anyway.

    Sorted as `postcli check` shows them: the issue as a whole, then free, then premium; in
    each group errors first, then by line.
    """
    find_file, file_size = _file_access(issue, settings, find_file, file_size)
    # The email-only rules, imported here: `postcli site` runs site_checks and needs none.
    from postcli.check import design
    from postcli.check.clients import client_support
    from postcli.check.email import email_rules

    doc = Document(issue, tuple(emails))
    per_variant: list[Finding] = []
    for variant, email in emails.items():
        per_variant += email_rules(doc, variant, email, settings, unsubscribe_url)
    findings = [
        *structure_rules(doc),
        *source_rules(doc, settings, find_file, file_size),
        *merge_variants(per_variant, set(emails)),
    ]
    if Variant.FREE in emails:
        findings += premium_leaks(doc, emails[Variant.FREE], settings)
    findings += client_support(issue, emails, settings)
    findings += design.findings(emails, settings)  # contrast, init placeholders, strings.toml
    return sorted_findings(findings)


def _file_size(path: Path) -> int:
    return path.stat().st_size


def _file_access(
    issue: Issue, settings: Settings, find_file: FindFile | None, file_size: FileSize | None
) -> tuple[FindFile, FileSize]:
    """The source rules' way to the workspace's files: the caller's, else the disk's."""
    if find_file is None:

        def find_file(url: str) -> Path | None:
            return local_file(issue, settings, url)

    return find_file, file_size or _file_size


# The error-level rules of the issue itself that hold for its public web page. The others are
# the email's alone (gmail-clip, no-unsubscribe, empty-subject, init-placeholder): `send`
# refuses on them, and the page has no clip, no unsubscribe link and no subject.
SITE_RULES = frozenset({"javascript-link", "unresolved-url", "premium-in-free-audience"})


def site_checks(issue: Issue, published: str, settings: Settings, *, where: str) -> list[Finding]:
    """The error-level findings that matter for the issue's page in the web edition:
    premium-leak over `published` (the page and its feed entry, everything the site shows of
    the issue; `where` names it), and the SITE_RULES of the issue's free variant.

    No email is rendered: the leak rule reads what the site publishes, with the same
    independence from the variant filter as over the free email. An `audience: premium`
    issue's page shows no body, so its whole body counts as premium-only there.
    """
    find_file, file_size = _file_access(issue, settings, None, None)
    doc = site_document(issue)
    findings = web_leaks(doc, published, settings, where)
    if issue.front.audience is not Audience.PREMIUM:
        findings += [
            f
            for f in [*structure_rules(doc), *source_rules(doc, settings, find_file, file_size)]
            if f.rule in SITE_RULES
        ]
    return sorted_findings(findings)
