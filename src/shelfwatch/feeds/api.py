"""`/api/v1/feeds`: cached datasets for API-key clients."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["feeds"])
