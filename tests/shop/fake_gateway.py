"""A fake card gateway speaking the API `shop.payments.gateway.GatewayProvider` calls.

``POST /charges`` with ``Authorization: Bearer <key>``, ``Idempotency-Key`` and
``{"amount": <minor units>, "currency", "reference"}`` answers ``200 {"id", "status":
"succeeded"}``; with `decline` set, ``402 {"error": "card_declined", "decline_reason"}``.
A repeated Idempotency-Key answers the first charge again without charging twice, and
``GET /charges?idempotency_key=<key>`` answers the charge made with that key (404 if none).
Timeouts and outages come from the shared fault injection (`slow_next`, `fail_next`).
"""

from __future__ import annotations

import itertools
import threading

from tests.fakes.json_service import Call, JsonService, Reply

API_KEY = "gw_test_key"


class CardGateway(JsonService):
    def __init__(self) -> None:
        super().__init__()
        self.decline = False
        self.charges: dict[str, dict] = {}
        self._ids = itertools.count(1)
        self._charge_lock = threading.Lock()

    def handle(self, call: Call) -> Reply:
        if call.path != "/charges" or call.method not in {"GET", "POST"}:
            return Reply.json({"error": "not_found"}, 404)
        if call.bearer_token() != API_KEY:
            return Reply.json({"error": "invalid_api_key"}, 401)
        if call.method == "GET":
            with self._charge_lock:
                charge = self.charges.get(call.arg("idempotency_key") or "")
            return Reply.json(charge) if charge else Reply.json({"error": "no_such_charge"}, 404)
        body = call.json()
        key = call.header("idempotency-key") or ""
        with self._charge_lock:
            if key in self.charges:
                return Reply.json(self.charges[key])
            if self.decline:
                return Reply.json(
                    {"error": "card_declined", "decline_reason": "insufficient funds"}, 402
                )
            charge = {"id": f"ch_{next(self._ids)}", "status": "succeeded", **body}
            self.charges[key] = charge
        return Reply.json(charge)
