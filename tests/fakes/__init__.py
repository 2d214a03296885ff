"""Fakes the tests stand in for real parts: the providers' HTTP APIs (one module each, on the
machinery of tests/helpers/fake_api.py), and a plug-in provider."""

from __future__ import annotations

from fakes.beehiiv import BeehiivFake
from fakes.buttondown import ButtondownFake
from fakes.ghost import GhostFake
from fakes.kit import KitFake
from fakes.listmonk import ListmonkFake
from fakes.mailchimp import MailchimpFake
from fakes.resend import ResendFake
from helpers.fake_api import FakeProvider

__all__ = [
    "FAKES",
    "PLATFORMS",
    "PLATFORM_FAKES",
    "BeehiivFake",
    "ButtondownFake",
    "GhostFake",
    "KitFake",
    "ListmonkFake",
    "MailchimpFake",
    "ResendFake",
]

FAKES: dict[str, type[FakeProvider]] = {
    "buttondown": ButtondownFake,
    "resend": ResendFake,
    "mailchimp": MailchimpFake,
    "listmonk": ListmonkFake,
}

# Ghost, Kit and beehiiv: their adapters' own tests drive them (tests/test_ghost.py, ...).
PLATFORM_FAKES: dict[str, type[FakeProvider]] = {
    "ghost": GhostFake,
    "kit": KitFake,
    "beehiiv": BeehiivFake,
}
PLATFORMS = tuple(PLATFORM_FAKES)
