"""The demo data set: one account per role and a few stores, so a fresh install has something
to log in to. Idempotent: records are matched by email and slug, and a second load changes
nothing (existing accounts keep whatever password they have now).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction

from shelfwatch.accounts.models import StoreMembership, User
from shelfwatch.inventory.models import Store
from shelfwatch.ops.demo_catalog import load_demo_catalog
from shelfwatch.ops.demo_orders import load_demo_orders


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    name: str
    password: str
    superuser: bool = False


@dataclass(frozen=True)
class DemoStore:
    slug: str
    name: str
    city: str
    region: str
    currency: str
    timezone: str


ACCOUNTS = [
    DemoAccount(
        "platform admin", "admin@shelfwatch.local", "Platform Admin", "admin-demo-2468", True
    ),
    DemoAccount("store owner", "maya.patel@shelfwatch.local", "Maya Patel", "owner-demo-2468"),
    DemoAccount("store staff", "leo.martin@shelfwatch.local", "Leo Martin", "staff-demo-2468"),
    DemoAccount("customer", "ava.chen@shelfwatch.local", "Ava Chen", "customer-demo-2468"),
]

# A bakery selling its own bakes in dollars, and two Indian grocery stores in rupees.
STORES = [
    DemoStore(
        "maple-street-bakery",
        "Maple Street Bakery",
        "Portland",
        "US-OR",
        "USD",
        "America/Los_Angeles",
    ),
    DemoStore("annapurna-kirana-pune", "Annapurna Kirana", "Pune", "IN-MH", "INR", "Asia/Kolkata"),
    DemoStore(
        "saravana-stores-chennai", "Saravana Stores", "Chennai", "IN-TN", "INR", "Asia/Kolkata"
    ),
]

# (email, store slug, role): the owner runs two stores, the staff member works in one.
MEMBERSHIPS = [
    ("maya.patel@shelfwatch.local", "maple-street-bakery", StoreMembership.Role.OWNER),
    ("maya.patel@shelfwatch.local", "annapurna-kirana-pune", StoreMembership.Role.OWNER),
    ("leo.martin@shelfwatch.local", "maple-street-bakery", StoreMembership.Role.STAFF),
]


@dataclass(frozen=True)
class LoadedAccount:
    account: DemoAccount
    created: bool


@dataclass(frozen=True)
class DemoSummary:
    accounts: list[LoadedAccount]
    stores_created: int
    memberships_created: int
    products_created: int = 0
    stock_items_created: int = 0


@transaction.atomic
def load_demo_data() -> DemoSummary:
    """Create whatever part of the demo set is missing; never modify existing records."""
    accounts = []
    for account in ACCOUNTS:
        user = User.objects.filter(email=account.email).first()
        created = user is None
        if created:
            manager = User.objects
            create = manager.create_superuser if account.superuser else manager.create_user
            create(email=account.email, password=account.password, name=account.name)
        accounts.append(LoadedAccount(account, created))

    stores_created = 0
    stores = {}
    for spec in STORES:
        store, created = Store.objects.get_or_create(
            slug=spec.slug,
            defaults={
                "name": spec.name,
                "city": spec.city,
                "region": spec.region,
                "currency": spec.currency,
                "timezone": spec.timezone,
            },
        )
        stores[spec.slug] = store
        stores_created += created

    memberships_created = 0
    users = {u.email: u for u in User.objects.filter(email__in=[a.email for a in ACCOUNTS])}
    for email, slug, role in MEMBERSHIPS:
        _, created = StoreMembership.objects.get_or_create(
            user=users[email], store=stores[slug], defaults={"role": role}
        )
        memberships_created += created

    products_created, stock_items_created = load_demo_catalog(
        admin=users["admin@shelfwatch.local"], staff=users["leo.martin@shelfwatch.local"]
    )
    from shelfwatch.loyalty.demo import load_demo_loyalty

    load_demo_loyalty(
        store=stores["maple-street-bakery"],
        customer=users["ava.chen@shelfwatch.local"],
        admin=users["admin@shelfwatch.local"],
    )
    from shelfwatch.shop.demo import load_demo_shop

    load_demo_shop(store=stores["maple-street-bakery"])
    # Groceries in India: 5% GST and a delivery fee in rupees.
    load_demo_shop(
        store=stores["annapurna-kirana-pune"],
        tax_rate_percent=Decimal("5.00"),
        delivery_fee=Decimal("30.00"),
    )
    # The stocked stores are on watch, so /subscribe has shops to offer alerts for.
    from shelfwatch.inventory.models import StockItem
    from shelfwatch.watch.internal import internal_source_for

    for store in stores.values():
        if StockItem.objects.filter(store=store).exists():
            internal_source_for(store)
    # Data feeds over the demo stock; the scheduler's first dispatch fills them.
    from shelfwatch.feeds.demo import load_demo_feeds

    load_demo_feeds(admin=users["admin@shelfwatch.local"])
    load_demo_orders(stores=stores, customer=users["ava.chen@shelfwatch.local"])
    return DemoSummary(
        accounts, stores_created, memberships_created, products_created, stock_items_created
    )
