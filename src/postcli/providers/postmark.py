"""The `postmark` provider: Postmark's batch API, up to 500 personalised messages a call.

Per-recipient like `smtp` (the same subscribers file, ledger and resume), in batches: each call
is `POST /email/batch` with one message per subscriber, on the configured `message_stream` (a
broadcast stream), each with its own unsubscribe link in the body and in `List-Unsubscribe` /
`List-Unsubscribe-Post`, and its deterministic Message-ID. Postmark answers 200 with one result
per message, in order: `ErrorCode` 0 is sent; an inactive (suppressed) or invalid recipient is
failed with Postmark's reason; throttling is sent again; an error that no message of this server
can escape (a bad token, the sender signature, the stream) stops the run with exit 3. A 429 or a
5xx answer to the whole call is retried (see `_bulk.Caller`). The token comes only from
POSTMARK_SERVER_TOKEN, sent as `X-Postmark-Server-Token`. See docs/providers/postmark.md.
"""

from __future__ import annotations

import html
import json
from email.message import EmailMessage
from typing import Any, ClassVar

from postcli.errors import ProviderRefused
from postcli.model import LetterStatus
from postcli.providers._batch import Batch, BatchResult, BatchStopped, Letter, Outcome
from postcli.providers._bulk import (
    BatchTransport,
    BulkSettings,
    bulk_schema,
)
from postcli.providers.base import Accepted, Key, RecipientRefused, SettingsSchema

TOKEN = "POSTMARK_SERVER_TOKEN"
DEFAULT_BASE_URL = "https://api.postmarkapp.com"
BATCH_LIMIT = 500  # messages a call (Postmark's limit)
PAYLOAD_LIMIT = 45_000_000  # bytes a call, under Postmark's 50 MB
# ErrorCodes in a 200 reply. Throttled: send again later. Per-recipient refusals: that one
# recipient fails, the rest go on. Anything else that is not 0 stops the run (exit 3): no other
# message of this server would fare better (bad token, sender signature, stream, no credits).
THROTTLED_CODES = frozenset({429})
RECIPIENT_CODES = frozenset({300, 406, 412, 413})
STREAM_TRANSACTIONAL = "outbound"  # the default transactional stream: not for newsletters
# Markers for the bodies (JSON writes \u0000, which no other field holds), and a stand-in
# recipient whose unsubscribe link is replaced by each recipient's own.
_HTML_MARK = "\x00postcli-html\x00"
_TEXT_MARK = "\x00postcli-text\x00"
_STAND_IN = "postcli-recipient@mark.invalid"


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def to_header(name: str, email: str) -> str:
    clean = " ".join(
        name.replace('"', "").replace("\\", "").replace("<", "").replace(">", "").split()
    )
    return f'"{clean}" <{email}>' if clean else email


class _PostmarkTransport(BatchTransport):
    batch_limit = BATCH_LIMIT

    def secrets(self) -> list[str]:
        return [self._provider.require_secret(TOKEN)]

    def capacity(self, email: Any) -> int:
        """Messages of this email a call can carry under Postmark's payload limit."""
        each = 2_000 + 2 * (len(email.html.encode("utf-8")) + len(email.text.encode("utf-8")))
        return max(1, PAYLOAD_LIMIT // each)

    def _headers(self) -> dict[str, str]:
        return {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "X-Postmark-Server-Token": self._provider.require_secret(TOKEN),
        }

    def _message(self, batch: Batch, letter: Letter) -> dict[str, Any]:
        """One message of the batch, its bodies left as markers for `_body` to fill in."""
        headers = [{"Name": "Message-ID", "Value": letter.message_id}]
        if letter.unsubscribe_url:
            headers.append({"Name": "List-Unsubscribe", "Value": f"<{letter.unsubscribe_url}>"})
            if letter.unsubscribe_url.lower().startswith(("https://", "http://")):
                headers.append(
                    {"Name": "List-Unsubscribe-Post", "Value": "List-Unsubscribe=One-Click"}
                )
        message: dict[str, Any] = {
            "From": batch.sender,
            "To": to_header(letter.name, letter.email),
            "Subject": batch.email.subject,
            "HtmlBody": _HTML_MARK,
            "TextBody": _TEXT_MARK,
            "Headers": headers,
            "MessageStream": self._provider.message_stream,
            "Tag": self._issue_id[:1000],
            "Metadata": {"postcli-issue": self._issue_id[:80], "postcli-variant": batch.variant},
        }
        if batch.reply_to:
            message["ReplyTo"] = batch.reply_to
        return message

    def _body(self, batch: Batch) -> bytes:
        """The batch as JSON. Every message carries the whole HTML, so the bodies are encoded
        once, for a stand-in recipient, and each recipient's own unsubscribe link is put in the
        encoded text: the same JSON as encoding each personalised message, five times faster."""
        from postcli import mime

        template = batch.unsubscribe_template
        marked = mime.personalize(batch.email, template, _STAND_IN)
        link = mime.unsubscribe_link(template, _STAND_IN) or ""
        personal = bool(link) and mime.PLACEHOLDER in (template or "")
        html_json, text_json = _json(marked.html), _json(marked.text)
        pieces = []
        for letter in batch.letters:
            message = _json(self._message(batch, letter))
            own_html, own_text = html_json, text_json
            if personal:
                own = mime.unsubscribe_link(template, letter.email) or ""
                if _json(own) != f'"{own}"' or _json(link) != f'"{link}"':
                    return _json([self._slow(batch, one) for one in batch.letters]).encode()
                own_html = html_json.replace(
                    html.escape(link, quote=True), html.escape(own, quote=True)
                )
                own_text = text_json.replace(link, own)
            message = message.replace(_json(_HTML_MARK), own_html, 1)
            pieces.append(message.replace(_json(_TEXT_MARK), own_text, 1))
        return ("[" + ",".join(pieces) + "]").encode("utf-8")

    def _slow(self, batch: Batch, letter: Letter) -> dict[str, Any]:
        """One message encoded the plain way (a link JSON would escape)."""
        from postcli import mime

        own = mime.personalize(batch.email, batch.unsubscribe_template, letter.email)
        return {**self._message(batch, letter), "HtmlBody": own.html, "TextBody": own.text}

    def deliver_batch(self, batch: Batch) -> BatchResult:
        self._pacer.wait(len(batch.letters))
        body = self._body(batch)
        reply = self.caller.call(
            "POST", self._provider.base_url + "/email/batch", content=body, headers=self._headers()
        )
        response = reply.response
        if response.status_code != 200:
            raise self.refused(response)
        try:
            answers = response.json()
        except ValueError:
            answers = None
        if not isinstance(answers, list):
            raise self.caller.refused(response, "the answer to a batch is not a list")
        outcomes: list[Outcome] = []
        stop: str | None = None
        for letter, answer in zip(batch.letters, answers, strict=False):
            code = int(answer.get("ErrorCode") or 0) if isinstance(answer, dict) else -1
            words = str(answer.get("Message") or "") if isinstance(answer, dict) else "?"
            if code == 0:
                outcomes.append(
                    Outcome(letter.email, LetterStatus.SENT, remote_id=answer.get("MessageID"))
                )
            elif code in THROTTLED_CODES:
                outcomes.append(Outcome(letter.email, LetterStatus.RETRY, f"{code}: {words}"))
            elif code in RECIPIENT_CODES:
                reason = f"Postmark refused it: {code}: {words}"
                outcomes.append(
                    Outcome(letter.email, LetterStatus.FAILED, self.caller.redact(reason))
                )
            else:
                # Not sent, and no other message would be: put it back, and stop after
                # recording what did go out.
                outcomes.append(Outcome(letter.email, LetterStatus.RETRY, f"{code}: {words}"))
                stop = stop or f"{code}: {words}"
        if stop is not None:
            raise BatchStopped(
                f"postmark refused the batch: {self.caller.redact(stop)}",
                outcomes=outcomes,
                maybe_twice=reply.maybe_twice,
                hint=f"check {TOKEN}, the sender signature and message_stream; then run again",
            )
        return BatchResult(outcomes, reply.maybe_twice)

    def refused(self, response: Any) -> ProviderRefused:
        try:
            data = response.json()
            detail = f"{data.get('ErrorCode')}: {data.get('Message')}"
        except (ValueError, AttributeError):
            detail = response.text
        hint = f"check {TOKEN}" if response.status_code == 401 else "see docs/providers/postmark.md"
        return self.caller.refused(response, detail, hint=hint)

    def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> Accepted:
        """One message (a test copy) through `POST /email`, its parts taken from the MIME."""
        html = message.get_body(preferencelist=("html",))
        text = message.get_body(preferencelist=("plain",))
        payload: dict[str, Any] = {
            "From": self._provider.settings.newsletter.from_,
            "To": recipient,
            "Subject": str(message["Subject"]),
            "HtmlBody": html.get_content() if html is not None else "",
            "TextBody": text.get_content() if text is not None else "",
            "MessageStream": self._provider.message_stream,
            "Headers": [
                {"Name": name, "Value": str(message[name])}
                for name in ("List-Unsubscribe", "List-Unsubscribe-Post")
                if message[name]
            ],
        }
        if message["Reply-To"]:
            payload["ReplyTo"] = str(message["Reply-To"])
        reply = self.caller.call(
            "POST",
            self._provider.base_url + "/email",
            content=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
            headers=self._headers(),
        )
        response = reply.response
        if response.status_code == 422:
            data = response.json() if response.content else {}
            if int(data.get("ErrorCode") or 0) in RECIPIENT_CODES:
                raise RecipientRefused(
                    f"Postmark refused it: {data.get('ErrorCode')}: {data.get('Message')}",
                    recipient=recipient,
                )
        return self.accepted(reply)


class PostmarkProvider(BulkSettings, builtin="postmark"):
    """Sends through Postmark's batch API on a broadcast message stream."""

    settings_schema: ClassVar[SettingsSchema] = bulk_schema(
        message_stream=Key((str,), must="its id")
    )

    def __init__(self, settings: Any, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)  # client, rules, sleep: see BulkSettings
        self.base_url = self.base_url_setting or DEFAULT_BASE_URL
        self.message_stream = self.text_option("message_stream") or "broadcast"
        if self.message_stream == STREAM_TRANSACTIONAL:
            raise self.bad(
                "message_stream",
                "'message_stream' in [providers.postmark] is 'outbound', Postmark's "
                "transactional stream; a newsletter goes on a broadcast stream",
                hint='make a broadcast stream in Postmark, then: message_stream = "broadcast"',
            )

    def describe(self) -> str:
        return f"Postmark at {self.base_url} (stream {self.message_stream})"

    def transport(self, issue_id: str) -> _PostmarkTransport:
        return _PostmarkTransport(self, issue_id)
