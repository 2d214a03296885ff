"""client-support: the email-client warnings of plain `postcli check`.

postcli.clients owns the rule (what is used, what each client supports, which fallbacks count);
this wraps its warnings as findings.
"""

from __future__ import annotations

from postcli.check.rules import Finding, finding
from postcli.config import Settings
from postcli.issues import Issue
from postcli.model import Variant
from postcli.render import RenderedEmail


def client_support(
    issue: Issue, emails: dict[Variant, RenderedEmail], settings: Settings
) -> list[Finding]:
    from postcli.clients import issue as clients

    report = clients.issue_report(issue, emails, settings)
    return [
        finding(
            "client-support",
            message,
            variant=Variant(variant) if variant else None,
            **({"path": issue.path, "line": line} if line else {}),
        )
        for variant, line, message in clients.warnings(report, len(emails))
    ]
