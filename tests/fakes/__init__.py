"""Fakes the tests stand in for real parts: the providers' HTTP APIs (one module each, on the
machinery of tests/helpers/fake_api.py), and a plug-in provider."""

from __future__ import annotations

from fakes.buttondown import ButtondownFake
from fakes.listmonk import ListmonkFake
from fakes.mailchimp import MailchimpFake
from fakes.resend import ResendFake
from helpers.fake_api import FakeProvider

__all__ = ["FAKES", "ButtondownFake", "ListmonkFake", "MailchimpFake", "ResendFake"]

FAKES: dict[str, type[FakeProvider]] = {
    "buttondown": ButtondownFake,
    "resend": ResendFake,
    "mailchimp": MailchimpFake,
    "listmonk": ListmonkFake,
}
