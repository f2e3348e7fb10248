"""The assistant's tools: our own reads (and the one write, an alert subscription), each
returning plain JSON-able data.

Who is asking (user, visitor session, chosen store, language) comes from the request as a
`Caller`, never from a tool's arguments: a model can pick a product or an order number, but
the order lookups only ever search the caller's own orders, so no argument reaches anyone
else's. Text from the catalog (names, descriptions) is data the model reads, never an
instruction; `engine` wraps it as such.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.urls import reverse
from django.utils import timezone
from rapidfuzz import fuzz

from shelfwatch.accounts.principal import Principal
from shelfwatch.alerts.subscriptions import subscribe
from shelfwatch.catalog.models import Product
from shelfwatch.errors import DomainError, NotFound
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.loyalty.selectors import balances_for
from shelfwatch.recommend.selectors import similar_products
from shelfwatch.shop.selectors import storefront
from shelfwatch.shop.selectors.orders import customer_orders
from shelfwatch.shop.storefront_alerts import alert_item_for

SEARCH_LIMIT = 5
DESCRIPTION_CHARS = 200
ORDER_LIMIT = 3
MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Caller:
    """Who asks, from the request: the tools read nothing else about identity."""

    principal: Principal | None
    session_key: str | None
    store: Store | None
    language: str = "en"

    @property
    def user(self):
        return self.principal.user if self.principal is not None else None


def _money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def _product_out(product: Product, caller: Caller, stock: StockItem | None) -> dict[str, Any]:
    local = storefront.regional_name(product, caller.language, region=_region(caller))
    out: dict[str, Any] = {
        "product_id": product.pk,
        "name": product.name,
        "brand": product.brand,
        "description": (product.description or "")[:DESCRIPTION_CHARS],
    }
    if local and local != product.name:
        out["local_name"] = local
    if caller.store is not None:
        out["kept_at_store"] = stock is not None
        if stock is not None:
            out["in_stock"] = stock.quantity > 0
            out["quantity"] = stock.quantity
            out["price"] = _money(stock.selling_price)
            out["currency"] = caller.store.currency
    return out


def _region(caller: Caller) -> str:
    return caller.store.region if caller.store is not None else ""


def _store_out(caller: Caller) -> dict[str, Any] | None:
    if caller.store is None:
        return None
    return {"name": caller.store.name, "city": caller.store.city}


def search_products(caller: Caller, *, query: str) -> dict[str, Any]:
    """Public products matching `query`, with stock and price at the caller's store; when
    that store keeps none of them, the catalog's matches (marked as not kept there)."""
    query = (query if isinstance(query, str) else "").strip()[:100]
    if not query:
        return {"query": "", "count": 0, "products": [], "store": _store_out(caller)}
    page = storefront.shelf(
        store=caller.store, language=caller.language, q=query, limit=SEARCH_LIMIT
    )
    entries = [(entry.product, entry.stock) for entry in page.entries]
    if not entries and caller.store is not None:
        page = storefront.shelf(store=None, language=caller.language, q=query, limit=SEARCH_LIMIT)
        entries = [(entry.product, None) for entry in page.entries]
    products = [_product_out(product, caller, stock) for product, stock in entries]
    # The search ranks by relevance; a shopper naming "amul butter" means the product whose
    # name is closest to those words rather than a longer name that also holds them.
    products.sort(key=lambda item: -_closeness(query, item))
    return {
        "query": query,
        "store": _store_out(caller),
        "count": len(products),
        "products": products,
    }


def _closeness(query: str, item: dict[str, Any]) -> float:
    names = [item["name"], item.get("local_name") or ""]
    return max(fuzz.ratio(query.lower(), name.lower()) for name in names if name)


def _id(value: Any) -> int | None:
    """A row id from a model's argument: a positive 64-bit integer, or None."""
    if isinstance(value, bool):
        return None
    try:
        number = int(str(value).lstrip("#").strip())
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_ID else None


def _product(product_id: Any) -> Product | None:
    number = _id(product_id)
    if number is None:
        return None
    try:
        product = storefront.storefront_product(number)
    except NotFound:
        return None
    return None if product.merged_into_id else product


def check_availability(caller: Caller, *, product_id: Any) -> dict[str, Any]:
    """Stock and price of one product at the caller's store, or at every open store that
    keeps it when no store is chosen."""
    product = _product(product_id)
    if product is None:
        return {"product_id": product_id, "found": False}
    view = storefront.product_view(product, store=caller.store, language=caller.language)
    out = {"found": True, "store": _store_out(caller), **_product_out(product, caller, view.stock)}
    if caller.store is None:
        out["stores"] = [
            {
                "store": offer.store.name,
                "in_stock": offer.stock.quantity > 0,
                "quantity": offer.stock.quantity,
                "price": _money(offer.stock.selling_price),
                "currency": offer.store.currency,
            }
            for offer in view.offers
        ]
    return out


def similar(caller: Caller, *, product_id: Any) -> dict[str, Any]:
    """Products like this one (in stock only, those at the caller's store first)."""
    product = _product(product_id)
    if product is None:
        return {"product_id": product_id, "found": False}
    picks = similar_products(product, store=caller.store, limit=SEARCH_LIMIT)
    items = []
    for pick in picks:
        item = _product_out(pick.product, caller, pick.stock if pick.in_stock_here else None)
        if caller.store is None:
            item.pop("kept_at_store", None)
        items.append(item)
    return {
        "found": True,
        "like": {"product_id": product.pk, "name": product.name},
        "store": _store_out(caller),
        "count": len(items),
        "products": items,
    }


def _store_day(at: datetime, zone_name: str) -> str:
    # The day on the store's calendar, as the order page shows it, not the UTC date.
    return timezone.localtime(at, zoneinfo.ZoneInfo(zone_name)).date().isoformat()


def order_status(caller: Caller, *, order_number: Any = None) -> dict[str, Any]:
    """The caller's own orders: the one numbered `order_number` if it is theirs, else their
    newest few. Another customer's order is simply not found."""
    orders = customer_orders(principal=caller.principal, session_key=caller.session_key)
    out: dict[str, Any] = {"signed_in": caller.principal is not None}
    if order_number not in (None, ""):
        number = _id(order_number)
        out["order_number_asked"] = number
        orders = orders.filter(pk=number) if number is not None else orders.none()
    found = list(orders.order_by("-pk")[:ORDER_LIMIT])
    out["found"] = bool(found)
    out["count"] = len(found)
    out["orders"] = [
        {
            "order_number": order.pk,
            "status": order.status,
            "fulfilment": order.fulfilment,
            "placed_on": _store_day(order.created_at, order.store.timezone),
            "total": _money(order.total),
            "currency": order.currency,
            "store": order.store.name,
            "items": sum(line.quantity for line in order.lines.all()),
            "link": reverse("shop-order", kwargs={"order_id": order.pk}),
        }
        for order in found
    ]
    return out


def loyalty_points(caller: Caller) -> dict[str, Any]:
    """The caller's points per store (signed-in shoppers only)."""
    if caller.user is None:
        return {"signed_in": False, "balances": []}
    return {
        "signed_in": True,
        "balances": [
            {
                "store": balance.store_name,
                "points": balance.points,
                "worth": _money(balance.value),
                "currency": balance.currency,
            }
            for balance in balances_for(caller.user)
        ],
    }


def notify_when_back(caller: Caller, *, product_id: Any) -> dict[str, Any]:
    """Subscribe the caller's verified contact to the product's return at their store, or
    give the link of the subscribe page when they have none (or are not signed in)."""
    product = _product(product_id)
    if product is None:
        return {"product_id": product_id, "found": False}
    out: dict[str, Any] = {"found": True, "product_id": product.pk, "name": product.name}
    if caller.store is None:
        return {**out, "subscribed": False, "reason": "no_store_chosen"}
    item = alert_item_for(store=caller.store, product=product)
    if item is None:
        return {**out, "subscribed": False, "reason": "store_takes_no_alerts_for_it"}
    link = f"{reverse('subscribe')}?source={item.source_id}&item={item.pk}"
    contact = None
    if caller.user is not None:
        contact = (
            storefront.account_contacts(caller.user)
            .filter(verified_at__isnull=False, is_active=True)
            .order_by("pk")
            .first()
        )
    if contact is None:
        return {**out, "subscribed": False, "reason": "needs_contact", "subscribe_link": link}
    try:
        subscribe(contact=contact, item=item)
    except DomainError:
        return {**out, "subscribed": False, "reason": "refused", "subscribe_link": link}
    return {**out, "subscribed": True, "channel": contact.channel, "store": caller.store.name}


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]
    run: Callable[..., dict[str, Any]]


def _schema(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties)}


_PRODUCT_ID = {"type": "integer", "description": "product_id from search_products"}

TOOLS: dict[str, Tool] = {
    tool.name: tool
    for tool in (
        Tool(
            "search_products",
            "Find products by name, brand or regional name; gives price and stock at the "
            "shopper's store.",
            _schema(query={"type": "string", "description": "words to search for"}),
            search_products,
        ),
        Tool(
            "check_availability",
            "Stock and price of one product at the shopper's store (or every store).",
            _schema(product_id=_PRODUCT_ID),
            check_availability,
        ),
        Tool(
            "similar_products",
            "Products similar to one product, in stock.",
            _schema(product_id=_PRODUCT_ID),
            similar,
        ),
        Tool(
            "order_status",
            "The shopper's own orders: one by number, or their latest when no number is given.",
            {
                "type": "object",
                "properties": {"order_number": {"type": "integer"}},
                "required": [],
            },
            order_status,
        ),
        Tool(
            "loyalty_points",
            "The shopper's loyalty points per store.",
            {"type": "object", "properties": {}, "required": []},
            loyalty_points,
        ),
        Tool(
            "notify_when_back",
            "Ask to be told when a product is back in stock at the shopper's store.",
            _schema(product_id=_PRODUCT_ID),
            notify_when_back,
        ),
    )
}


def run_tool(caller: Caller, name: str, arguments: Any) -> dict[str, Any]:
    """Run tool `name` for `caller` with the model's `arguments` (only the declared ones are
    passed on); an unknown tool or bad arguments give an error result, never an exception."""
    tool = TOOLS.get(name)
    if tool is None:
        return {"error": "unknown_tool"}
    if not isinstance(arguments, dict):
        arguments = {}
    allowed = tool.parameters["properties"]
    kwargs = {key: value for key, value in arguments.items() if key in allowed}
    missing = [key for key in tool.parameters["required"] if key not in kwargs]
    if missing:
        return {"error": "missing_arguments", "missing": missing}
    return tool.run(caller, **kwargs)
