"""The rule-based answers: run the tools an `Intent` needs and say what they returned, in
English or Hindi.

These answers are built only from tool results, so every figure in them is grounded by
construction; they are also what a model's answer falls back to. The wording is kept here
per language (not in the .po files) because the answer's language follows the question,
whatever language the page is in.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from shelfwatch.assistant import intents, tools
from shelfwatch.assistant.tools import Caller

_SYMBOLS = {"INR": "₹", "USD": "$", "EUR": "€", "GBP": "£"}

TEXT = {
    "en": {
        "help": "I can tell you whether a product is in stock here, what it costs, what is "
        "like it, where your order is, how many points you have, and let you know when "
        "something is back. Which product do you mean?",
        "not_found": "I could not find “{query}” in our catalog.",
        "no_store": "Choose a store first, then I can tell you about its shelves.",
        "in_stock": "Yes, {name} is in stock at {store}: {quantity} left, at {price}.",
        "out_of_stock": "{name} is out of stock at {store} right now.",
        "not_kept": "{store} does not keep {name}.",
        "stores_with": "{name}: {offers}.",
        "offer": "{store} has {quantity} at {price}",
        "offer_out": "{store} is out of it",
        "nowhere": "No open store keeps {name} right now.",
        "price": "{name} costs {price} at {store}.",
        "no_price": "{store} has not set a price for {name}.",
        "similar": "Like {name}: {items}.",
        "no_similar": "I have nothing similar to {name} in stock right now.",
        "order": "Order #{number} (placed {placed} at {store}): {status}. Total {total}.",
        "order_missing": "I cannot find order #{number} among your orders.",
        "no_orders": "I cannot see any orders of yours. Orders placed while signed out show "
        "here only in the browser they were placed from; sign in to see your account's.",
        "points": "You have {points} points at {store} (worth {worth}).",
        "no_points": "You have no points yet.",
        "sign_in_points": "Sign in to see your points.",
        "subscribed": "Done: we will tell you when {name} is back at {store}.",
        "needs_contact": "To be told when {name} is back, add where to reach you on the "
        "alerts page: {link}",
        "no_alerts": "{store} does not take back-in-stock alerts for {name}.",
        "list_sep": ", ",
    },
    "hi": {
        "help": "मैं बता सकता हूँ कि कोई सामान यहाँ स्टॉक में है या नहीं, उसकी कीमत, उसके जैसे "
        "सामान, आपका ऑर्डर कहाँ है, आपके पॉइंट्स, और सामान वापस आने पर आपको सूचना दे सकता हूँ। "
        "आप किस सामान के बारे में पूछ रहे हैं?",
        "not_found": "हमारी सूची में “{query}” नहीं मिला।",
        "no_store": "पहले एक दुकान चुनें, फिर मैं उसके सामान के बारे में बता सकता हूँ।",
        "in_stock": "हाँ, {name} {store} में स्टॉक में है: {quantity} बचे हैं, कीमत {price}।",
        "out_of_stock": "{name} अभी {store} में स्टॉक में नहीं है।",
        "not_kept": "{store} में {name} नहीं रखा जाता।",
        "stores_with": "{name}: {offers}।",
        "offer": "{store} में {quantity}, कीमत {price}",
        "offer_out": "{store} में स्टॉक में नहीं",
        "nowhere": "अभी कोई खुली दुकान {name} नहीं रखती।",
        "price": "{store} में {name} की कीमत {price} है।",
        "no_price": "{store} ने {name} की कीमत तय नहीं की है।",
        "similar": "{name} जैसे: {items}।",
        "no_similar": "अभी {name} जैसा कुछ स्टॉक में नहीं है।",
        "order": "ऑर्डर #{number} ({placed} को {store} में दिया गया): {status}। कुल {total}।",
        "order_missing": "आपके ऑर्डरों में ऑर्डर #{number} नहीं मिला।",
        "no_orders": "मुझे आपका कोई ऑर्डर नहीं दिख रहा। बिना साइन इन किए दिए गए ऑर्डर उसी "
        "ब्राउज़र में दिखते हैं जिससे दिए गए थे; अपने खाते के ऑर्डर देखने के लिए साइन इन करें।",
        "points": "{store} में आपके {points} पॉइंट्स हैं (मूल्य {worth})।",
        "no_points": "अभी आपके कोई पॉइंट्स नहीं हैं।",
        "sign_in_points": "अपने पॉइंट्स देखने के लिए साइन इन करें।",
        "subscribed": "हो गया: {name} {store} में वापस आने पर हम आपको बताएँगे।",
        "needs_contact": "{name} वापस आने पर सूचना पाने के लिए अलर्ट पेज पर अपना संपर्क जोड़ें: {link}",
        "no_alerts": "{store} {name} के लिए स्टॉक अलर्ट नहीं लेती।",
        "list_sep": ", ",
    },
}

STATUS = {
    "en": {
        "pending": "placed, waiting for the store to confirm",
        "confirmed": "confirmed",
        "preparing": "being prepared",
        "ready": "ready for pickup",
        "out_for_delivery": "out for delivery",
        "delivered": "delivered",
        "cancelled": "cancelled",
    },
    "hi": {
        "pending": "दिया गया, दुकान की पुष्टि बाकी",
        "confirmed": "पुष्टि हो गई",
        "preparing": "तैयार किया जा रहा है",
        "ready": "पिकअप के लिए तैयार",
        "out_for_delivery": "डिलीवरी के लिए निकल चुका है",
        "delivered": "पहुँचा दिया गया",
        "cancelled": "रद्द",
    },
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


class _Say:
    def __init__(self, language: str) -> None:
        self.language = language if language in TEXT else "en"

    def __call__(self, key: str, **values: Any) -> str:
        return TEXT[self.language][key].format(**values)


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
            status=STATUS[say.language].get(order["status"], order["status"]),
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
