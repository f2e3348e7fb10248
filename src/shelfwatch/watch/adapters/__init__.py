"""Shop adapters, one module per kind of source; each module is an `Adapter`.

Adding a kind of shop means adding one module with `kind`, `clean_settings` and `poll`,
and naming it here.
"""

from __future__ import annotations

from shelfwatch.watch.adapters import json_api, jsonld, shopify, storehippo
from shelfwatch.watch.adapters.base import Adapter

ADAPTERS: dict[str, Adapter] = {
    module.kind: module for module in (storehippo, shopify, jsonld, json_api)
}


def adapter_for(kind: str) -> Adapter:
    """The adapter polling sources of `kind`; KeyError for kinds that are not polled."""
    return ADAPTERS[kind]
