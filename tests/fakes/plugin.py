"""A third-party campaign provider, as a package outside postcli would ship it: it declares itself
through class attributes only (no postcli table knows its secret or its merge tag)."""

from __future__ import annotations

import os
from typing import ClassVar

from postcli.config import Settings
from postcli.errors import ProviderRefused
from postcli.providers.base import (
    Campaign,
    Checkpoint,
    Delivery,
    Features,
    Key,
    RemoteCampaign,
    SettingsSchema,
)

TOKEN_VARIABLE = "ACME_API_TOKEN"
MERGE_TAG = "[[ACME:LEAVE]]"


class AcmeProvider:
    name: ClassVar[str] = "acme"
    features: ClassVar[Features] = Features(find_by_name=True)
    unsubscribe_tag: ClassVar[str | None] = MERGE_TAG
    secret_variables: ClassVar[tuple[str, ...]] = (TOKEN_VARIABLE,)
    settings_schema: ClassVar[SettingsSchema] = {
        "list_id": Key((str,), "'list_id' in [providers.acme] must be the list's id (text)"),
        "timeout": Key((int, float)),
    }

    def __init__(self, settings: Settings, *, client: object = None) -> None:
        self.settings = settings

    def validate(self) -> None:
        token = os.environ.get(TOKEN_VARIABLE, "")
        # A careless API echoes the credential back; postcli must not print it.
        raise ProviderRefused(f"Acme refused the token {token}: account suspended")

    def describe(self) -> str:
        return "Acme"

    def close(self) -> None:
        pass

    def find_campaign(self, name: str) -> RemoteCampaign | None:
        return None

    def send_campaign(self, campaign: Campaign, checkpoint: Checkpoint) -> Delivery:
        raise AssertionError("never reached: validate() refuses")

    def send_test(self, campaign: Campaign, address: str) -> Delivery:
        raise AssertionError("never reached: validate() refuses")
