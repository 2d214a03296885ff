"""The `mailgun` provider: Mailgun's batch sending, up to 1,000 recipients a call.

Per-recipient like `smtp` (the same subscribers file, ledger and resume), in batches: each call
is `POST /v3/{domain}/messages` with the variant's message once, every recipient of the batch in
`to`, and `recipient-variables` carrying each one's own unsubscribe link and Message-ID; Mailgun
makes one message per recipient from it (`%recipient.unsubscribe%` in the bodies, in
`h:List-Unsubscribe` and `h:List-Unsubscribe-Post`, `%recipient.message_id%` in
`h:Message-Id`). The base URL is `https://api.mailgun.net`, or `https://api.eu.mailgun.net` with
`region = "eu"`; `base_url` wins over both. HTTP Basic auth `api:KEY`, the key only from
MAILGUN_API_KEY. Mailgun's 200 answer names no recipient: refusals of single recipients
(suppressions, bounces) arrive later as events, which postcli does not read. See
docs/providers/mailgun.md.
"""

from __future__ import annotations

import html
import json
from email.message import EmailMessage
from typing import Any, ClassVar

from postcli.errors import ProviderRefused
from postcli.model import LetterStatus
from postcli.providers._batch import Batch, BatchResult, Outcome
from postcli.providers._bulk import (
    BatchTransport,
    BulkSettings,
    bulk_schema,
)
from postcli.providers.base import Accepted, Key, RecipientRefused, SettingsSchema
from postcli.providers.postmark import to_header

API_KEY = "MAILGUN_API_KEY"
REGIONS = {"us": "https://api.mailgun.net", "eu": "https://api.eu.mailgun.net"}
BATCH_LIMIT = 1000  # recipients a call (Mailgun's limit for batch sending)
# A stand-in recipient: personalising the email for it, then replacing its link with the
# recipient variables, puts the variables wherever the unsubscribe link is, in both parts.
_MARK = "postcli-recipient@mark.invalid"


def _variables_email(batch: Batch) -> tuple[str, str]:
    """(html, text) with every unsubscribe link replaced by the recipient variable."""
    from postcli import mime

    template = batch.unsubscribe_template
    link = mime.unsubscribe_link(template, _MARK)
    if not link or mime.PLACEHOLDER not in (template or ""):
        return batch.email.html, batch.email.text
    marked = mime.personalize(batch.email, template, _MARK)
    body_html = marked.html.replace(html.escape(link, quote=True), "%recipient.unsubscribe_html%")
    body_text = marked.text.replace(link, "%recipient.unsubscribe%")
    return body_html, body_text


class _MailgunTransport(BatchTransport):
    batch_limit = BATCH_LIMIT

    def secrets(self) -> list[str]:
        key = self._provider.require_secret(API_KEY)
        return [key, f"api:{key}"]

    def _url(self, path: str) -> str:
        return f"{self._provider.base_url}/v3/{self._provider.domain}/{path}"

    def _auth(self) -> tuple[str, str]:
        return ("api", self._provider.require_secret(API_KEY))

    def deliver_batch(self, batch: Batch) -> BatchResult:
        from postcli.providers.ses import tag_value

        self._pacer.wait(len(batch.letters))
        body_html, body_text = _variables_email(batch)
        variables = {
            letter.email: {
                "unsubscribe": letter.unsubscribe_url or "",
                "unsubscribe_html": html.escape(letter.unsubscribe_url or "", quote=True),
                "message_id": letter.message_id,
            }
            for letter in batch.letters
        }
        fields: list[tuple[str, str]] = [("from", batch.sender)]
        fields += [("to", to_header(letter.name, letter.email)) for letter in batch.letters]
        fields += [
            ("subject", batch.email.subject),
            ("html", body_html),
            ("text", body_text),
            ("recipient-variables", json.dumps(variables, ensure_ascii=False)),
            ("h:Message-Id", "%recipient.message_id%"),
            ("o:tag", tag_value(self._issue_id)[:128]),
        ]
        if batch.reply_to:
            fields.append(("h:Reply-To", batch.reply_to))
        first = batch.letters[0].unsubscribe_url or ""
        if first:
            fields.append(("h:List-Unsubscribe", "<%recipient.unsubscribe%>"))
            if first.lower().startswith(("https://", "http://")):
                fields.append(("h:List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
        reply = self.caller.call(
            "POST",
            self._url("messages"),
            files=[(name, (None, value.encode("utf-8"))) for name, value in fields],
            auth=self._auth(),
        )
        response = reply.response
        if response.status_code != 200:
            if response.status_code == 400 and len(batch.letters) == 1:
                only = batch.letters[0].email
                why = self.caller.redact(f"Mailgun refused it: {self._words(response)}")
                return BatchResult([Outcome(only, LetterStatus.FAILED, why)], reply.maybe_twice)
            raise self.refused(response)
        remote_id = str((response.json() or {}).get("id") or "") or None
        return BatchResult(
            [
                Outcome(letter.email, LetterStatus.SENT, remote_id=remote_id)
                for letter in batch.letters
            ],
            reply.maybe_twice,
        )

    @staticmethod
    def _words(response: Any) -> str:
        try:
            data = response.json()
        except ValueError:
            return str(response.text[:300])
        return str(data.get("message") if isinstance(data, dict) else data)

    def refused(self, response: Any) -> ProviderRefused:
        hints = {
            401: f'check {API_KEY} (and region: an EU domain needs region = "eu")',
            403: f"check {API_KEY}, and that the domain may send",
            404: "check domain (and region) in [providers.mailgun]",
        }
        return self.caller.refused(
            response,
            self._words(response),
            hint=hints.get(response.status_code, "see docs/providers/mailgun.md"),
        )

    def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> Accepted:
        """One message (a test copy), as postcli built it, through `messages.mime`."""
        from postcli import mime

        reply = self.caller.call(
            "POST",
            self._url("messages.mime"),
            files=[
                ("to", (None, recipient.encode("utf-8"))),
                ("message", ("message.mime", mime.as_bytes(message), "application/octet-stream")),
            ],
            auth=self._auth(),
        )
        response = reply.response
        if response.status_code == 400:
            raise RecipientRefused(
                f"Mailgun refused it: {self._words(response)}", recipient=recipient
            )
        return self.accepted(reply)


class MailgunProvider(BulkSettings, builtin="mailgun"):
    """Sends through Mailgun's messages API with recipient variables."""

    settings_schema: ClassVar[SettingsSchema] = bulk_schema(
        domain=Key((str,), must="a domain name"), region=Key((str,), must='"us" or "eu"')
    )

    def __init__(self, settings: Any, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)  # client, rules, sleep: see BulkSettings
        self.domain = self.text_option("domain", required=True, what=", the sending domain")
        assert self.domain is not None
        if "/" in self.domain or " " in self.domain:
            raise self.invalid("domain")
        region = self.text_option("region") or "us"
        if region not in REGIONS:
            raise self.invalid("region")
        self.region = region
        self.base_url = self.base_url_setting or REGIONS[region]

    def describe(self) -> str:
        return f"Mailgun domain {self.domain} at {self.base_url}"

    def transport(self, issue_id: str) -> _MailgunTransport:
        return _MailgunTransport(self, issue_id)
