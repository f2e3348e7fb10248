"""A small grocery for the recommendation tests: two open stores, a closed one, verified
products in three categories (two turmerics sharing a Hindi name), a pending product, and
functions that record past orders and product views directly. The browser tests build it too."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone


@dataclass
class Grocery:
    here: object  # the shopper's store
    there: object  # another open store
    closed: object  # a store that is not open
    products: dict[str, object] = field(default_factory=dict)
    items: dict[tuple[str, str], object] = field(default_factory=dict)

    def __getitem__(self, name: str):
        return self.products[name]

    def order(self, names: list[str], *, user=None, days_ago: float = 1, status="delivered"):
        """Record one past order at `here` (at `there` for what `here` does not keep)."""
        from shelfwatch.shop.models import Order, OrderLine

        order = Order.objects.create(
            store=self.here,
            user=user,
            status=status,
            currency="INR",
            subtotal=Decimal("0"),
            total=Decimal("0"),
            created_at=timezone.now() - timedelta(days=days_ago),
        )
        for name in names:
            item = self.items.get(("here", name)) or self.items[("there", name)]
            OrderLine.objects.create(
                order=order,
                stock_item=item,
                product=self.products[name],
                product_name=self.products[name].name,
                quantity=1,
                unit_price=Decimal("10"),
                line_total=Decimal("10"),
            )
        return order

    def viewed(self, names: list[str], *, visitor: str, days_ago: int = 0, is_bot=False):
        """Record one visitor's views of `names` at `here` on one past UTC day, as the
        analytics flush writes them (`visitor` "" for a Do Not Track view)."""
        from shelfwatch.analytics.models import Visit
        from shelfwatch.analytics.visitors import today

        day = today() - timedelta(days=days_ago)
        Visit.objects.bulk_create(
            Visit(
                day=day,
                store_id=self.here.pk,
                product_id=self.products[name].pk,
                visitor=visitor,
                is_bot=is_bot,
            )
            for name in names
        )


# name: (product name, brand, category, Hindi name)
PRODUCTS = {
    "milk": ("Amul Taaza Toned Milk 1 l", "Amul", "dairy", ""),
    "butter": ("Amul Butter 500 g", "Amul", "dairy", "अमूल मक्खन"),
    "curd": ("Amul Masti Dahi 400 g", "Amul", "dairy", "दही"),
    "bread": ("Britannia Whole Wheat Bread", "Britannia", "bakery", ""),
    "jam": ("Kissan Mixed Fruit Jam 500 g", "Kissan", "bakery", ""),
    "rusk": ("Britannia Toastea Rusk", "Britannia", "bakery", ""),
    "turmeric": ("Everest Turmeric Powder 100 g", "Everest", "spices", "हल्दी पाउडर"),
    "haldi": ("Catch Haldi Powder 100 g", "Catch", "spices", "हल्दी पाउडर"),
    "chilli": ("Everest Kashmiri Chilli Powder", "Everest", "spices", "लाल मिर्च"),
}
# (store, product, quantity): butter is out of stock here but in stock there; rusk is out
# of stock everywhere open (only the closed store has it).
STOCK = [
    ("here", "milk", 40),
    ("here", "butter", 0),
    ("here", "curd", 10),
    ("here", "bread", 25),
    ("here", "jam", 8),
    ("here", "rusk", 0),
    ("here", "turmeric", 12),
    ("here", "chilli", 6),
    ("there", "butter", 5),
    ("there", "haldi", 9),
    ("there", "milk", 3),
    ("closed", "rusk", 50),
]


def make_grocery() -> Grocery:
    from shelfwatch.catalog.models import Category, Product, RegionalName
    from shelfwatch.inventory.models import StockItem, Store

    stores = {
        "here": Store.objects.create(name="Shop Here", slug="here", region="IN-MH"),
        "there": Store.objects.create(name="Shop There", slug="there"),
        "closed": Store.objects.create(name="Shut Shop", slug="shut", is_active=False),
    }
    categories = {
        slug: Category.objects.create(name=slug.title(), slug=slug)
        for slug in ("dairy", "bakery", "spices")
    }
    g = Grocery(here=stores["here"], there=stores["there"], closed=stores["closed"])
    for key, (name, brand, category, hindi) in PRODUCTS.items():
        product = Product.objects.create(
            name=name, brand=brand, category=categories[category], status="verified"
        )
        if hindi:
            RegionalName.objects.create(product=product, language="hi-IN", name=hindi)
        g.products[key] = product
    g.products["pending"] = Product.objects.create(
        name="Unreviewed Jam Spread", brand="Kissan", category=categories["bakery"]
    )
    for store, key, quantity in [*STOCK, ("here", "pending", 5)]:
        g.items[(store, key)] = StockItem.objects.create(
            store=stores[store],
            product=g.products[key],
            quantity=quantity,
            selling_price=Decimal("50.00"),
        )
    return g
