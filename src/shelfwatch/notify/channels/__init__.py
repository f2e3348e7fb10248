"""Delivery channels, one module each, all with the `Channel` interface of `base`."""

from __future__ import annotations

from shelfwatch.notify.channels import apprise, email, webhook, whatsapp

CHANNELS = {module.name: module for module in (whatsapp, email, webhook, apprise)}
