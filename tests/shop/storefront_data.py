"""A small shop for the storefront tests: a bakery in Maharashtra with a category tree,
verified products (some with Hindi and Marathi names), one pending product, stock in and
out, and a second store that keeps other things."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shelfwatch.accounts.models import User
from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.models import Category, Product
from shelfwatch.catalog.products import create_product
from shelfwatch.inventory.models import StockItem, Store


@dataclass
class Bakery:
    store: Store
    other: Store
    dairy: Category
    butter_cat: Category
    butter: Product  # hi-IN and mr-IN names; 12 at the bakery for 275.00
    bread: Product  # no regional name; out of stock at the bakery
    rice: Product  # only at the other store
    pending: Product  # created by staff, not reviewed: never on the storefront
    butter_stock: StockItem
    bread_stock: StockItem


def make_bakery() -> Bakery:
    admin = User.objects.create_superuser("curator@example.com")
    staff = User.objects.create_user("staff@example.com")
    curator = Principal(user=admin, method="session")
    store = Store.objects.create(
        name="Maple Street Bakery", slug="maple", city="Pune", region="IN-MH"
    )
    other = Store.objects.create(name="Harbor Market", slug="harbor", city="Mumbai")
    dairy = Category.objects.create(name="Dairy", slug="dairy")
    butter_cat = Category.objects.create(name="Butter", slug="butter", parent=dairy)
    bakery = Category.objects.create(name="Bakery", slug="bakery")

    def product(name: str, brand: str, category: Category, regional=None) -> Product:
        return create_product(
            principal=curator,
            name=name,
            brand=brand,
            category_id=category.pk,
            net_quantity=Decimal("500"),
            net_unit="g",
            regional_names=regional or {},
            confirm_new=True,
        )

    butter = product(
        "Amul Butter 500 g",
        "Amul",
        butter_cat,
        {"mr-IN": ["अमूल लोणी"], "hi-IN": ["अमूल मक्खन"]},
    )
    bread = product("Sourdough Country Loaf", "Maple Street", bakery)
    rice = product("India Gate Basmati Rice", "India Gate", bakery)
    pending = create_product(
        principal=Principal(user=staff, method="session"),
        name="Mystery Sourdough Bun",
        brand="Nobody",
        confirm_new=True,
    )
    butter_stock = StockItem.objects.create(
        store=store, product=butter, quantity=12, selling_price="275.00"
    )
    bread_stock = StockItem.objects.create(
        store=store, product=bread, quantity=0, selling_price="120.00"
    )
    StockItem.objects.create(store=store, product=pending, quantity=5)
    StockItem.objects.create(store=other, product=rice, quantity=30, selling_price="99.00")
    StockItem.objects.create(store=other, product=butter, quantity=0, selling_price="280.00")
    return Bakery(
        store=store,
        other=other,
        dairy=dairy,
        butter_cat=butter_cat,
        butter=butter,
        bread=bread,
        rice=rice,
        pending=pending,
        butter_stock=butter_stock,
        bread_stock=bread_stock,
    )
