"""The rule-based answers: run the tools an `Intent` needs and say what they returned, in
English or Hindi.

These answers are built only from tool results, so every figure in them is grounded by
construction; they are also what a model's answer falls back to. Their wording is
translated like any other, but in the question's language, whatever the page's is.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils import translation
from django.utils.translation import gettext, gettext_noop

from shelfwatch.assistant import intents, tools
from shelfwatch.assistant.tools import Caller

_SYMBOLS = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£"}
LANGUAGES = ("en", "hi")

TEXT = {
    "help": gettext_noop(
        "I can tell you whether a product is in stock here, what it costs, what is like it, "
        "where your order is, how many points you have, and let you know when something is "
        "back. Which product do you mean?"
    ),
    "not_found": gettext_noop("I could not find “{query}” in our catalog."),
    "no_store": gettext_noop("Choose a store first, then I can tell you about its shelves."),
    "in_stock": gettext_noop("Yes, {name} is in stock at {store}: {quantity} left, at {price}."),
    "out_of_stock": gettext_noop("{name} is out of stock at {store} right now."),
    "not_kept": gettext_noop("{store} does not keep {name}."),
    "stores_with": gettext_noop("{name}: {offers}."),
    "offer": gettext_noop("{store} has {quantity} at {price}"),
    "offer_out": gettext_noop("{store} is out of it"),
    "nowhere": gettext_noop("No open store keeps {name} right now."),
    "price": gettext_noop("{name} costs {price} at {store}."),
    "no_price": gettext_noop("{store} has not set a price for {name}."),
    "similar": gettext_noop("Like {name}: {items}."),
    "no_similar": gettext_noop("I have nothing similar to {name} in stock right now."),
    "order": gettext_noop("Order #{number} (placed {placed} at {store}): {status}. Total {total}."),
    "order_missing": gettext_noop("I cannot find order #{number} among your orders."),
    "no_orders": gettext_noop(
        "I cannot see any orders of yours. Orders placed while signed out show here only in "
        "the browser they were placed from; sign in to see your account's."
    ),
    "points": gettext_noop("You have {points} points at {store} (worth {worth})."),
    "no_points": gettext_noop("You have no points yet."),
    "sign_in_points": gettext_noop("Sign in to see your points."),
    "subscribed": gettext_noop("Done: we will tell you when {name} is back at {store}."),
    "needs_contact": gettext_noop(
        "To be told when {name} is back, add where to reach you on the alerts page: {link}"
    ),
    "no_alerts": gettext_noop("{store} does not take back-in-stock alerts for {name}."),
    "list_sep": gettext_noop(", "),
}

STATUS = {
    "pending": gettext_noop("placed, waiting for the store to confirm"),
    "confirmed": gettext_noop("confirmed"),
    "preparing": gettext_noop("being prepared"),
    "ready": gettext_noop("ready for pickup"),
    "out_for_delivery": gettext_noop("out for delivery"),
    "delivered": gettext_noop("delivered"),
    "cancelled": gettext_noop("cancelled"),
}


def money(amount: str | None, currency: str | None) -> str:
    """ "₹275.00" for INR, "275.00 XYZ" for a currency without a symbol here."""
    if amount is None:
        return ""
    symbol = _SYMBOLS.get(currency or "")
    return f"{symbol}{amount}" if symbol else f"{amount} {currency or ''}".strip()


def _day(iso: str, language: str) -> str:
    value = date.fromisoformat(iso)
    return value.strftime("%d/%m/%Y") if language == "hi" else f"{value.day} {value:%b %Y}"


def _name(product: dict[str, Any], language: str) -> str:
    if language == "hi" and product.get("local_name"):
        return product["local_name"]
    return product["name"]


def help_text(language: str) -> str:
    """What the assistant can answer, in `language`: said when nothing safer is left."""
    return _Say(language)("help")


class _Say:
    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else "en"

    def __call__(self, key: str, **values: Any) -> str:
        return self.text(TEXT[key]).format(**values)

    def text(self, message: str) -> str:
        """`message` translated into the answer's language."""
        with translation.override(self.language):
            return gettext(message)


def _product_answer(intent: intents.Intent, caller: Caller, say: _Say, results: list) -> str:
    found = tools.search_products(caller, query=intent.product)
    results.append(found)
    if not found["products"]:
        return say("not_found", query=intent.product)
    product = found["products"][0]
    name = _name(product, say.language)
    if intent.kind == intents.SIMILAR:
        like = tools.similar(caller, product_id=product["product_id"])
        results.append(like)
        if not like["products"]:
            return say("no_similar", name=name)
        items = [
            _name(item, say.language)
            + (f" ({money(item['price'], item['currency'])})" if item.get("price") else "")
            for item in like["products"]
        ]
        return say("similar", name=name, items=say("list_sep").join(items))
    if caller.store is None:
        if intent.kind == intents.ALERT:
            return say("no_store")
        detail = tools.check_availability(caller, product_id=product["product_id"])
        results.append(detail)
        offers = [
            say(
                "offer",
                store=offer["store"],
                quantity=offer["quantity"],
                price=money(offer["price"], offer["currency"]),
            )
            if offer["in_stock"]
            else say("offer_out", store=offer["store"])
            for offer in detail.get("stores", [])
        ]
        if not offers:
            return say("nowhere", name=name)
        return say("stores_with", name=name, offers="; ".join(offers))
    store = caller.store.name
    if intent.kind == intents.ALERT:
        outcome = tools.notify_when_back(caller, product_id=product["product_id"])
        results.append(outcome)
        if outcome.get("subscribed"):
            return say("subscribed", name=name, store=store)
        if outcome.get("subscribe_link"):
            return say("needs_contact", name=name, link=outcome["subscribe_link"])
        return say("no_alerts", name=name, store=store)
    if not product.get("kept_at_store"):
        return say("not_kept", name=name, store=store)
    price = money(product.get("price"), product.get("currency"))
    if intent.kind == intents.PRICE:
        return (
            say("price", name=name, price=price, store=store)
            if price
            else say("no_price", name=name, store=store)
        )
    if product["in_stock"]:
        return say("in_stock", name=name, store=store, quantity=product["quantity"], price=price)
    return say("out_of_stock", name=name, store=store)


def _order_answer(intent: intents.Intent, caller: Caller, say: _Say, results: list) -> str:
    found = tools.order_status(caller, order_number=intent.order_number)
    results.append(found)
    if not found["orders"]:
        if intent.order_number is not None:
            return say("order_missing", number=intent.order_number)
        return say("no_orders")
    lines = [
        say(
            "order",
            number=order["order_number"],
            placed=_day(order["placed_on"], say.language),
            store=order["store"],
            status=say.text(STATUS.get(order["status"], order["status"])),
            total=money(order["total"], order["currency"]),
        )
        for order in found["orders"]
    ]
    return " ".join(lines)


def _points_answer(caller: Caller, say: _Say, results: list) -> str:
    found = tools.loyalty_points(caller)
    results.append(found)
    if not found["signed_in"]:
        return say("sign_in_points")
    if not found["balances"]:
        return say("no_points")
    return " ".join(
        say(
            "points",
            points=balance["points"],
            store=balance["store"],
            worth=money(balance["worth"], balance["currency"]),
        )
        for balance in found["balances"]
    )


def rule_answer(intent: intents.Intent, caller: Caller) -> tuple[str, list[dict[str, Any]]]:
    """The answer to `intent` for `caller`, and the tool results it was built from."""
    say = _Say(intent.language)
    results: list[dict[str, Any]] = []
    if intent.kind == intents.ORDER:
        return _order_answer(intent, caller, say, results), results
    if intent.kind == intents.POINTS:
        return _points_answer(caller, say, results), results
    if intent.kind == intents.HELP:
        return say("help"), results
    return _product_answer(intent, caller, say, results), results
