"""The failure drill's side inside Django: the data it sets up, the progress it waits on
and the audit it ends with.

Run by failure_drill.py (`python bench/drill_app.py --inner STEP --args FILE`, the
deployment's environment), never on its own; prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from imports_csv import check_digit
from inner_process import setup_django

WORDS = ("atta", "basmati", "ghee", "masala", "paneer", "dal", "besan", "jaggery", "tea", "rusk")
BRANDS = ("Amul", "Tata", "Aashirvaad", "Fortune", "Everest", "Patanjali")
FLASH_STOCK = 200  # units of the flash-sale product in the store
FLASH_ALLOTTED = 150  # units on sale: fewer than the customers want together
TOPIC_KINDS = ("flash", "restock")


def barcode(prefix: str, n: int) -> str:
    body = f"{prefix}{n:0{12 - len(prefix)}d}"
    return body + check_digit(body)


def write_csv(path: Path, rows: int) -> dict[str, int]:
    """The import file: new products by barcode (so no row goes to the matcher) with their
    stock on hand; returns barcode -> quantity."""
    wanted = {}
    lines = ["barcode,name,brand,quantity,mrp"]
    rng = random.Random(25)
    for n in range(rows):
        code = barcode("8907", n)
        quantity = 1 + n % 40
        wanted[code] = quantity
        name = f"{rng.choice(WORDS).title()} drill import {n}"
        lines.append(f"{code},{name},{rng.choice(BRANDS)},{quantity},{50 + n % 300}")
    path.write_text("\n".join(lines) + "\n")
    return wanted


def prepare(*, customers: int, subscribers: int, products: int) -> dict:
    from datetime import timedelta
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from shelfwatch.accounts.api_keys import create_api_key
    from shelfwatch.accounts.models import User
    from shelfwatch.accounts.tokens import issue_access_token
    from shelfwatch.alerts.models import Subscription
    from shelfwatch.catalog.models import Product
    from shelfwatch.events.models import Event
    from shelfwatch.feeds.datasets import create_dataset, grant_read
    from shelfwatch.feeds.refresh import claim_refresh, run_refresh
    from shelfwatch.inventory.models import StockItem, Store
    from shelfwatch.inventory.stock import move_stock
    from shelfwatch.notify.models import Contact
    from shelfwatch.shop.models import FlashSale, ShopSettings
    from shelfwatch.watch.internal import internal_source_for
    from shelfwatch.watch.models import WatchedItem

    admin = User.objects.create_superuser(email="drill-admin@example.com", password=None)
    store = Store.objects.create(name="Drill Kirana", slug="drill-kirana")
    ShopSettings.objects.create(store=store, tax_rate_percent=Decimal("5"))
    rng = random.Random(7)

    def stocked(name: str, code: str, quantity: int, price: str = "120.00") -> StockItem:
        product = Product.objects.create(
            name=name, brand=rng.choice(BRANDS), barcode=code, status="verified"
        )
        item = StockItem.objects.create(
            store=store, product=product, quantity=0, selling_price=Decimal(price)
        )
        if quantity:  # through the ledger, so the audit can sum it
            move_stock(item=item, delta=quantity, reason="restock", reference="drill opening")
        return item

    for n in range(products):
        stocked(f"{rng.choice(WORDS).title()} {n}", barcode("8906", n), 20 + n % 50)
    flash = stocked("Drill flash cake", barcode("8905", 1), FLASH_STOCK, "400.00")
    restock = stocked("Drill whey protein", barcode("8905", 2), 0, "2399.00")
    now = timezone.now()
    sale = FlashSale.objects.create(
        store=store,
        product=flash.product,
        sale_price=Decimal("199.00"),
        quantity_allotted=FLASH_ALLOTTED,
        per_customer_limit=max(1, 2 * FLASH_ALLOTTED // customers),
        starts_at=now - timedelta(seconds=5),
        ends_at=now + timedelta(hours=3),
    )
    users = User.objects.bulk_create(
        [
            User(email=f"drill-{n}@example.com", password=make_password(None))
            for n in range(customers)
        ]
    )
    source = internal_source_for(store)
    watched = WatchedItem.objects.get(source=source, external_id=str(restock.product_id))
    made = 0
    while made < subscribers:
        size = min(5000, subscribers - made)
        contacts = Contact.objects.bulk_create(
            [
                Contact(
                    channel="email" if n % 5 == 0 else "whatsapp",
                    address=f"drill{n}@example.com" if n % 5 == 0 else f"+919{n:09d}",
                    verified_at=now,
                )
                for n in range(made, made + size)
            ]
        )
        Subscription.objects.bulk_create([Subscription(contact=c, item=watched) for c in contacts])
        made += size
    dataset = create_dataset(
        name="drill-inventory",
        source_kind="internal",
        source_config={"table": "inventory", "store_id": store.pk},
        owner=admin,
        refresh_every=timedelta(minutes=1),
    )
    # The first snapshot now, so the feed answers from the start (refreshes then run on
    # their schedule, in the workers).
    run_refresh(claim_refresh(dataset=dataset, trigger="command").pk)
    key = create_api_key(user=admin, name="drill feeds", scopes=["read"])
    grant_read(api_key=key.key, dataset=dataset)
    last = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return {
        "store_id": store.pk,
        "flash": {"product_id": flash.product_id, "item_id": flash.pk, "sale_id": sale.pk},
        "restock": {"product_id": restock.product_id, "item_id": restock.pk},
        "limit": sale.per_customer_limit,
        "customers": [{"user_id": u.pk, "token": issue_access_token(user=u)[0]} for u in users],
        "admin_token": issue_access_token(user=admin)[0],
        "feed": {"name": dataset.name, "key": key.raw},
        "product_ids": list(
            StockItem.objects.filter(store=store).values_list("product_id", flat=True)
        ),
        "last_event_id": last,
    }


def audit(
    *,
    flash_sale: int,
    flash_item: int,
    restock_item: int,
    store_id: int,
    topics: list[str],
    after: int,
    job_id: int,
) -> dict:
    """Everything the invariants are checked against, read from the database."""
    from django.db.models import Count, F, IntegerField, OuterRef, Subquery, Sum, Value
    from django.db.models.functions import Coalesce

    from shelfwatch.events.models import Event, EventTopic
    from shelfwatch.imports.models import ImportJob, ImportRow
    from shelfwatch.inventory.models import StockItem, StockMovement
    from shelfwatch.notify.models import Notification
    from shelfwatch.shop.models import FlashSale, Order, OrderLine

    ledger = (
        StockMovement.objects.filter(item=OuterRef("pk"))
        .values("item")
        .annotate(total=Sum("delta"))
        .values("total")
    )
    items = StockItem.objects.annotate(
        ledger=Coalesce(Subquery(ledger, output_field=IntegerField()), Value(0))
    )
    mismatched = list(items.exclude(quantity=F("ledger")).values("pk", "quantity", "ledger")[:20])
    sale = FlashSale.objects.get(pk=flash_sale)
    sold_lines = OrderLine.objects.filter(flash_sale=sale).aggregate(n=Sum("quantity"))["n"] or 0
    # Each placed order keeps the Idempotency-Key that placed it (unique per owner).
    attempts = {
        f"{owner}|{key}": order
        for owner, key, order in Order.objects.exclude(checkout_key="").values_list(
            "checkout_owner", "checkout_key", "pk"
        )
    }
    orders = list(Order.objects.filter(store_id=store_id).values_list("pk", flat=True))
    job = ImportJob.objects.get(pk=job_id)
    rows = ImportRow.objects.filter(job=job)
    reference = f"import {job.pk}"
    doubled_moves = (
        StockMovement.objects.filter(reference=reference)
        .values("item")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    imported = dict(
        StockItem.objects.filter(
            store_id=store_id, product__barcode__startswith="8907"
        ).values_list("product__barcode", "quantity")
    )
    notifications = list(
        Notification.objects.filter(event__type="watch.back_in_stock").values_list(
            "contact__channel", "contact__address", "status", "subscription_id", "event_id"
        )
    )
    by_topic: dict[str, list[int]] = {t: [] for t in topics}
    for topic, event_id in EventTopic.objects.filter(
        topic__in=topics, event_id__gt=after
    ).values_list("topic", "event_id"):
        by_topic[topic].append(event_id)
    lags = sorted(
        (e.dispatched_at - e.created_at).total_seconds()
        for e in Event.objects.filter(id__gt=after, dispatched_at__isnull=False).only(
            "created_at", "dispatched_at"
        )
    )
    alert = Event.objects.filter(type="watch.back_in_stock", id__gt=after).first()
    sent = Notification.objects.filter(event=alert, sent_at__isnull=False).order_by("sent_at")
    first_sent, last_sent = sent.first(), sent.last()
    restocked = (
        Event.objects.filter(
            type="stock.back_in_stock", id__gt=after, payload__item_id=restock_item
        )
        .order_by("id")
        .first()
    )
    return {
        "dispatch": {
            "events": len(lags),
            "undispatched": Event.objects.filter(id__gt=after, dispatched_at__isnull=True).count(),
            "lag_p50": lags[len(lags) // 2] if lags else None,
            "lag_max": lags[-1] if lags else None,
            "restock_to_first_send": (first_sent.sent_at - restocked.created_at).total_seconds()
            if first_sent and restocked
            else None,
            "restock_to_last_send": (last_sent.sent_at - restocked.created_at).total_seconds()
            if last_sent and restocked
            else None,
        },
        "items": items.count(),
        "ledger_mismatched": mismatched,
        "negative_items": StockItem.objects.filter(quantity__lt=0).count(),
        "sale": {
            "allotted": sale.quantity_allotted,
            "sold": sale.sold,
            "held": sale.held,
            "sold_lines": sold_lines,
            "all_lines": OrderLine.objects.filter(
                order__store_id=store_id, product_id=sale.product_id
            ).aggregate(n=Sum("quantity"))["n"]
            or 0,
            "stock_left": StockItem.objects.get(pk=flash_item).quantity,
        },
        "attempts": attempts,
        "orders": orders,
        "import": {
            "status": job.status,
            "total_rows": job.total_rows,
            "processed": job.processed,
            "successful": job.successful,
            "failed": job.failed,
            "skipped": job.skipped,
            "rows": rows.count(),
            "distinct_lines": rows.values("line").distinct().count(),
            "doubled_moves": doubled_moves,
            "imported": imported,
        },
        "notifications": notifications,
        "events_by_topic": {t: sorted(ids) for t, ids in by_topic.items()},
    }


STEPS = {"prepare": prepare, "audit": audit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inner", choices=sorted(STEPS), required=True)
    parser.add_argument("--args", required=True, help="a JSON file of keyword arguments")
    args = parser.parse_args()
    setup_django()
    kwargs = json.loads(Path(args.args).read_text())
    print(json.dumps(STEPS[args.inner](**kwargs), default=str))


if __name__ == "__main__":
    main()
