"""`/api/v1/loyalty`: a customer's points balance and ledger."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["loyalty"])
