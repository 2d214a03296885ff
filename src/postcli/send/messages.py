"""The message one recipient gets: its Message-ID, stable across runs, and its own unsubscribe
link and To header."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage

from postcli.model import Edition
from postcli.send.plan import Plan, VariantPlan, sender_domain
from postcli.subscribers import Subscriber


def message_id(plan: Plan, variant: Edition, recipient: str | None, generation: int) -> str:
    from postcli import mime

    label = variant.value if generation <= 1 else f"{variant.value}-r{generation}"
    return mime.message_id(plan.issue.id, label, recipient, sender_domain(plan.settings))


def to_header(name: str, email: str) -> str:
    clean = " ".join(
        name.replace('"', "").replace("\\", "").replace("<", "").replace(">", "").split()
    )
    return f'"{clean}" <{email}>' if clean else email


def personal_message(
    plan: Plan,
    v: VariantPlan,
    subscriber: Subscriber,
    mid: str,
    now: Callable[[], datetime],
) -> EmailMessage:
    """The recipient's own message: their unsubscribe link, their To header."""
    from postcli import mime

    newsletter = plan.settings.newsletter
    template = newsletter.unsubscribe_url
    email = subscriber.email
    return mime.build_message(
        mime.personalize(v.email, template, email),
        sender=newsletter.from_,
        to=to_header(subscriber.name, email),
        reply_to=newsletter.reply_to,
        unsubscribe_url=mime.unsubscribe_link(template, email),
        message_id=mid,
        date=now(),
    )
