"""The demo catalog: a small category tree, products with regional names, and stock in the
demo stores, so search, matching, review and the dashboard have something to show.

Products are created through the catalog services (search text, quality score, events),
matched by barcode on a second load, so loading twice changes nothing.
"""

from __future__ import annotations

from decimal import Decimal

from shelfwatch.accounts.models import User
from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.barcodes import check_digit
from shelfwatch.catalog.models import Category, Product
from shelfwatch.catalog.products import create_product
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.inventory.stock_items import add_stock_item

CATEGORIES = {
    "dairy": ("Dairy", ["butter", "milk", "cheese"]),
    "bakery": ("Bakery", ["bread", "biscuits", "cakes"]),
    "staples": ("Staples", ["atta-flour", "rice", "salt", "spices"]),
    "snacks": ("Snacks", ["namkeen", "noodles"]),
    "beverages": ("Beverages", ["tea", "coffee"]),
}

# (leaf slug, name, brand, quantity, unit, {language: [names]})
PRODUCTS = [
    (
        "butter",
        "Amul Butter 500 g",
        "Amul",
        "500",
        "g",
        {"hi-IN": ["अमूल मक्खन"], "mr-IN": ["अमूल लोणी"]},
    ),
    ("butter", "Amul Butter 100 g", "Amul", "100", "g", {"hi-IN": ["अमूल मक्खन"]}),
    ("milk", "Amul Taaza Toned Milk 1 l", "Amul", "1", "l", {"hi-IN": ["अमूल ताज़ा दूध"]}),
    ("milk", "Aavin Green Magic Milk 500 ml", "Aavin", "500", "ml", {"ta-IN": ["ஆவின் பால்"]}),
    (
        "milk",
        "Mother Dairy Full Cream Milk 1 l",
        "Mother Dairy",
        "1",
        "l",
        {"hi-IN": ["मदर डेयरी दूध"]},
    ),
    ("cheese", "Britannia Cheese Slices 200 g", "Britannia", "200", "g", {}),
    ("bread", "Sourdough Country Loaf 800 g", "Maple Street", "800", "g", {}),
    ("bread", "Modern White Bread 400 g", "Modern", "400", "g", {"hi-IN": ["मॉडर्न ब्रेड"]}),
    ("biscuits", "Parle-G Gold Biscuits 1 kg", "Parle", "1", "kg", {"hi-IN": ["पारले जी बिस्कुट"]}),
    ("biscuits", "Britannia Good Day Cashew Cookies 200 g", "Britannia", "200", "g", {}),
    ("cakes", "Cardamom Tea Cake 350 g", "Maple Street", "350", "g", {}),
    (
        "atta-flour",
        "Aashirvaad Whole Wheat Atta 5 kg",
        "Aashirvaad",
        "5",
        "kg",
        {"hi-IN": ["आशीर्वाद आटा"], "ta-IN": ["ஆசீர்வாத் கோதுமை மாவு"]},
    ),
    (
        "atta-flour",
        "Pillsbury Chakki Fresh Atta 5 kg",
        "Pillsbury",
        "5",
        "kg",
        {"hi-IN": ["पिल्सबरी आटा"]},
    ),
    ("rice", "India Gate Basmati Rice 1 kg", "India Gate", "1", "kg", {"hi-IN": ["बासमती चावल"]}),
    ("rice", "Ponni Boiled Rice 5 kg", "Aachi", "5", "kg", {"ta-IN": ["பொன்னி அரிசி"]}),
    ("salt", "Tata Salt 1 kg", "Tata", "1", "kg", {"hi-IN": ["टाटा नमक"], "bn-IN": ["টাটা লবণ"]}),
    ("salt", "Tata Salt Lite 1 kg", "Tata", "1", "kg", {}),
    ("spices", "MDH Deggi Mirch 100 g", "MDH", "100", "g", {"hi-IN": ["एमडीएच देगी मिर्च"]}),
    (
        "spices",
        "Everest Turmeric Powder 200 g",
        "Everest",
        "200",
        "g",
        {"hi-IN": ["एवरेस्ट हल्दी"], "ta-IN": ["மஞ்சள் தூள்"]},
    ),
    (
        "namkeen",
        "Haldiram's Aloo Bhujia 400 g",
        "Haldiram's",
        "400",
        "g",
        {"hi-IN": ["हल्दीराम आलू भुजिया"]},
    ),
    ("noodles", "Maggi 2-Minute Masala Noodles 70 g", "Maggi", "70", "g", {"hi-IN": ["मैगी नूडल्स"]}),
    ("tea", "Tata Tea Gold 500 g", "Tata", "500", "g", {"hi-IN": ["टाटा चाय गोल्ड"]}),
    (
        "tea",
        "Brooke Bond Red Label Tea 250 g",
        "Brooke Bond",
        "250",
        "g",
        {"hi-IN": ["रेड लेबल चाय"]},
    ),
    (
        "coffee",
        "Nescafe Classic Instant Coffee 100 g",
        "Nescafe",
        "100",
        "g",
        {"ta-IN": ["நெஸ்கஃபே காபி"]},
    ),
]

# (store slug, product index, quantity, selling price, reorder level)
STOCK = [
    ("maple-street-bakery", i, q, p, r)
    for i, q, p, r in [
        (6, 14, "8.50", 4),
        (7, 3, "2.40", 5),
        (8, 40, "3.10", 10),
        (9, 0, "1.90", 6),
        (10, 9, "6.00", 3),
        (0, 12, "5.75", 4),
        (2, 20, "1.20", 8),
    ]
] + [
    ("harbor-fresh-market", i, q, p, r)
    for i, q, p, r in [
        (0, 25, "5.60", 5),
        (1, 2, "1.40", 5),
        (3, 30, "0.90", 10),
        (4, 18, "1.30", 6),
        (11, 7, "7.80", 2),
        (13, 11, "3.20", 4),
        (15, 35, "0.60", 10),
        (20, 60, "0.35", 20),
        (21, 8, "4.50", 3),
        (23, 0, "5.10", 2),
    ]
]

PENDING = ("Amul Garlic Butter 100 g", "Amul", "100", "g")  # awaiting review, by the staff


def demo_barcode(index: int) -> str:
    body = f"890{7000000 + index * 7919:09d}"
    return body + str(check_digit(body))


def _categories() -> dict[str, Category]:
    leaves: dict[str, Category] = {}
    for slug, (name, children) in CATEGORIES.items():
        parent, _ = Category.objects.get_or_create(parent=None, slug=slug, defaults={"name": name})
        for child in children:
            title = child.replace("-", " ").title()
            leaf, _ = Category.objects.get_or_create(
                parent=parent, slug=child, defaults={"name": title}
            )
            leaves[child] = leaf
    return leaves


def load_demo_catalog(*, admin: User, staff: User) -> tuple[int, int]:
    """Create the missing demo products and stock items; returns how many of each."""
    leaves = _categories()
    principal = Principal(user=admin, method="session")
    products: list[Product] = []
    created = 0
    for index, (leaf, name, brand, quantity, unit, regional) in enumerate(PRODUCTS):
        barcode = demo_barcode(index)
        product = Product.objects.filter(barcode=barcode).first()
        if product is None:
            product = create_product(
                principal=principal,
                name=name,
                brand=brand,
                category_id=leaves[leaf].pk,
                barcode=barcode,
                net_quantity=Decimal(quantity),
                net_unit=unit,
                description=f"{name}, as sold in the demo stores.",
                regional_names=regional,
                confirm_new=True,
            )
            created += 1
        products.append(product)
    name, brand, quantity, unit = PENDING
    if not Product.objects.filter(name=name).exists():
        create_product(
            principal=Principal(user=staff, method="session"),
            name=name,
            brand=brand,
            net_quantity=Decimal(quantity),
            net_unit=unit,
            confirm_new=True,
        )
        created += 1
    stocked = 0
    stores = {store.slug: store for store in Store.objects.all()}
    for slug, index, quantity, price, reorder in STOCK:
        store = stores[slug]
        if StockItem.objects.filter(store=store, product=products[index]).exists():
            continue
        add_stock_item(
            store=store,
            product=products[index],
            principal=principal,
            quantity=quantity,
            details={"selling_price": price, "reorder_level": reorder, "supplier": "Demo supply"},
        )
        stocked += 1
    return created, stocked
