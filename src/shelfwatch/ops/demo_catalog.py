"""The demo catalog: a small category tree, the bakery's bakes and Indian groceries with
regional names, each with a picture drawn at load time, and stock in the demo stores, so
search, matching, review and the dashboard have something to show.

Products are created through the catalog services (search text, quality score, events),
matched by barcode on a second load, so loading twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shelfwatch.accounts.models import User
from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.barcodes import check_digit
from shelfwatch.catalog.images import attach_image, store_image
from shelfwatch.catalog.models import Category, Product
from shelfwatch.catalog.products import create_product
from shelfwatch.catalog.renditions import make_renditions
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.inventory.stock_items import add_stock_item
from shelfwatch.ops.demo_pictures import draw_picture

CATEGORIES = {
    "bakery": ("Bakery", ["bread", "pastries", "cakes", "cookies"]),
    "dairy": ("Dairy", ["butter", "milk", "cheese"]),
    "staples": ("Staples", ["atta-flour", "rice", "salt", "spices"]),
    "snacks": ("Snacks", ["biscuits", "namkeen", "noodles"]),
    "beverages": ("Beverages", ["tea", "coffee"]),
}


@dataclass(frozen=True)
class DemoProduct:
    """A demo product and how its picture is drawn (see demo_pictures.py)."""

    leaf: str
    name: str
    brand: str
    quantity: str
    unit: str
    regional: dict[str, list[str]]
    shape: str
    colour: str
    label: str
    description: str = ""


BAKERY = "Maple Street"
# The bakery's own bakes (sold in Portland, in USD), then Indian groceries with names in
# the languages of the states that sell them (sold in Pune and Chennai, in INR).
PRODUCTS = [
    DemoProduct(
        "bread",
        "Sourdough Country Loaf 800 g",
        BAKERY,
        "800",
        "g",
        {},
        "loaf",
        "#b7793f",
        "Sourdough",
        "Naturally leavened over two days, baked dark.",
    ),
    DemoProduct(
        "bread",
        "Seeded Rye Bread 700 g",
        BAKERY,
        "700",
        "g",
        {},
        "loaf",
        "#7a5230",
        "Rye",
        "Dense rye with sunflower and flax seeds.",
    ),
    DemoProduct(
        "bread",
        "Classic Baguette 250 g",
        BAKERY,
        "250",
        "g",
        {},
        "baguette",
        "#d09a55",
        "Baguette",
        "Crackling crust, baked every morning.",
    ),
    DemoProduct(
        "pastries",
        "Butter Croissant",
        BAKERY,
        "1",
        "pcs",
        {},
        "croissant",
        "#e0a64f",
        "Croissant",
        "Laminated by hand with cultured butter.",
    ),
    DemoProduct(
        "pastries",
        "Cinnamon Roll",
        BAKERY,
        "1",
        "pcs",
        {},
        "round",
        "#c98a4b",
        "Cinnamon",
        "Brown-sugar cinnamon swirl with a light glaze.",
    ),
    DemoProduct(
        "pastries",
        "Blueberry Muffin",
        BAKERY,
        "1",
        "pcs",
        {},
        "muffin",
        "#e8c07a",
        "Blueberry",
        "Wild blueberries and a crumb top.",
    ),
    DemoProduct(
        "cookies",
        "Chocolate Chip Cookies 6 pcs",
        BAKERY,
        "6",
        "pcs",
        {},
        "cookie",
        "#c8955c",
        "Choc chip",
        "Brown butter dough, dark chocolate chunks.",
    ),
    DemoProduct(
        "cookies",
        "Almond Biscotti 200 g",
        BAKERY,
        "200",
        "g",
        {},
        "cookie",
        "#d9b27c",
        "Biscotti",
        "Twice-baked with whole almonds.",
    ),
    DemoProduct(
        "cakes",
        "Cardamom Tea Cake 350 g",
        BAKERY,
        "350",
        "g",
        {},
        "cake",
        "#e6b35a",
        "Cardamom",
        "A butter loaf cake scented with green cardamom.",
    ),
    DemoProduct(
        "cakes",
        "Lemon Drizzle Cake 400 g",
        BAKERY,
        "400",
        "g",
        {},
        "cake",
        "#f1d35b",
        "Lemon",
        "Soaked in lemon syrup, sugar-crusted.",
    ),
    DemoProduct(
        "butter",
        "Amul Butter 500 g",
        "Amul",
        "500",
        "g",
        {"hi-IN": ["अमूल मक्खन"], "mr-IN": ["अमूल लोणी"]},
        "pack",
        "#f2c230",
        "Butter",
    ),
    DemoProduct(
        "butter",
        "Amul Butter 100 g",
        "Amul",
        "100",
        "g",
        {"hi-IN": ["अमूल मक्खन"]},
        "pack",
        "#f5cf4a",
        "Butter",
    ),
    DemoProduct(
        "milk",
        "Amul Taaza Toned Milk 1 l",
        "Amul",
        "1",
        "l",
        {"hi-IN": ["अमूल ताज़ा दूध"], "mr-IN": ["अमूल ताजं दूध"]},
        "carton",
        "#3f7fd1",
        "Taaza",
    ),
    DemoProduct(
        "milk",
        "Aavin Green Magic Milk 500 ml",
        "Aavin",
        "500",
        "ml",
        {"ta-IN": ["ஆவின் பால்"], "hi-IN": ["आविन दूध"]},
        "carton",
        "#2e9b5b",
        "Aavin",
    ),
    DemoProduct(
        "cheese",
        "Britannia Cheese Slices 200 g",
        "Britannia",
        "200",
        "g",
        {"hi-IN": ["ब्रिटानिया चीज़ स्लाइस"]},
        "pack",
        "#e85d3f",
        "Cheese",
    ),
    DemoProduct(
        "biscuits",
        "Parle-G Gold Biscuits 1 kg",
        "Parle",
        "1",
        "kg",
        {"hi-IN": ["पारले जी बिस्कुट"], "mr-IN": ["पार्ले जी बिस्किट"]},
        "pack",
        "#f4c542",
        "Parle-G",
    ),
    DemoProduct(
        "biscuits",
        "Britannia Good Day Cashew Cookies 200 g",
        "Britannia",
        "200",
        "g",
        {"hi-IN": ["गुड डे काजू बिस्कुट"]},
        "pack",
        "#d3453b",
        "Good Day",
    ),
    DemoProduct(
        "atta-flour",
        "Aashirvaad Whole Wheat Atta 5 kg",
        "Aashirvaad",
        "5",
        "kg",
        {"hi-IN": ["आशीर्वाद आटा"], "ta-IN": ["ஆசீர்வாத் கோதுமை மாவு"], "mr-IN": ["आशीर्वाद गव्हाचे पीठ"]},
        "sack",
        "#d8a444",
        "Atta",
    ),
    DemoProduct(
        "atta-flour",
        "Pillsbury Chakki Fresh Atta 5 kg",
        "Pillsbury",
        "5",
        "kg",
        {"hi-IN": ["पिल्सबरी आटा"]},
        "sack",
        "#3c6fb6",
        "Chakki",
    ),
    DemoProduct(
        "rice",
        "India Gate Basmati Rice 1 kg",
        "India Gate",
        "1",
        "kg",
        {"hi-IN": ["बासमती चावल"], "mr-IN": ["बासमती तांदूळ"]},
        "sack",
        "#b8342f",
        "Basmati",
    ),
    DemoProduct(
        "rice",
        "Ponni Boiled Rice 5 kg",
        "Aachi",
        "5",
        "kg",
        {"ta-IN": ["பொன்னி அரிசி"], "hi-IN": ["पोन्नी उबला चावल"]},
        "sack",
        "#d8c39a",
        "Ponni",
    ),
    DemoProduct(
        "salt",
        "Tata Salt 1 kg",
        "Tata",
        "1",
        "kg",
        {"hi-IN": ["टाटा नमक"], "bn-IN": ["টাটা লবণ"], "mr-IN": ["टाटा मीठ"]},
        "pack",
        "#1f5fae",
        "Salt",
    ),
    DemoProduct(
        "spices",
        "MDH Deggi Mirch 100 g",
        "MDH",
        "100",
        "g",
        {"hi-IN": ["एमडीएच देगी मिर्च"]},
        "jar",
        "#c0392b",
        "Mirch",
    ),
    DemoProduct(
        "spices",
        "Everest Turmeric Powder 200 g",
        "Everest",
        "200",
        "g",
        {"hi-IN": ["एवरेस्ट हल्दी"], "ta-IN": ["மஞ்சள் தூள்"], "mr-IN": ["हळद पावडर"]},
        "jar",
        "#e5a823",
        "Haldi",
    ),
    DemoProduct(
        "namkeen",
        "Haldiram's Aloo Bhujia 400 g",
        "Haldiram's",
        "400",
        "g",
        {"hi-IN": ["हल्दीराम आलू भुजिया"]},
        "pack",
        "#e07b24",
        "Bhujia",
    ),
    DemoProduct(
        "noodles",
        "Maggi 2-Minute Masala Noodles 70 g",
        "Maggi",
        "70",
        "g",
        {"hi-IN": ["मैगी नूडल्स"]},
        "pack",
        "#f4d03f",
        "Maggi",
    ),
    DemoProduct(
        "tea",
        "Tata Tea Gold 500 g",
        "Tata",
        "500",
        "g",
        {"hi-IN": ["टाटा चाय गोल्ड"], "mr-IN": ["टाटा चहा गोल्ड"]},
        "pack",
        "#a4312b",
        "Tea Gold",
    ),
    DemoProduct(
        "tea",
        "Brooke Bond Red Label Tea 250 g",
        "Brooke Bond",
        "250",
        "g",
        {"hi-IN": ["रेड लेबल चाय"]},
        "pack",
        "#c62828",
        "Red Label",
    ),
    DemoProduct(
        "coffee",
        "Nescafe Classic Instant Coffee 100 g",
        "Nescafe",
        "100",
        "g",
        {"ta-IN": ["நெஸ்கஃபே காபி"], "hi-IN": ["नेस्कैफ़े कॉफ़ी"]},
        "jar",
        "#5b3a29",
        "Coffee",
    ),
]

# (store slug, product index, quantity, selling price, reorder level)
STOCK = (
    [
        ("maple-street-bakery", i, q, p, r)
        for i, q, p, r in [
            (0, 14, "8.50", 4),
            (1, 3, "7.25", 5),
            (2, 24, "3.80", 8),
            (3, 30, "3.95", 10),
            (4, 18, "4.25", 6),
            (5, 0, "3.50", 6),
            (6, 12, "6.00", 4),
            (7, 9, "7.50", 3),
            (8, 9, "12.00", 3),
            (9, 6, "13.50", 3),
        ]
    ]
    + [
        ("annapurna-kirana-pune", i, q, p, r)
        for i, q, p, r in [
            (10, 25, "275.00", 5),
            (11, 2, "58.00", 5),
            (12, 40, "68.00", 10),
            (14, 18, "135.00", 6),
            (15, 30, "95.00", 10),
            (16, 20, "40.00", 6),
            (17, 7, "289.00", 2),
            (18, 5, "265.00", 2),
            (19, 11, "155.00", 4),
            (21, 35, "28.00", 10),
            (22, 15, "82.00", 4),
            (23, 12, "78.00", 4),
            (24, 9, "110.00", 3),
            (25, 60, "14.00", 20),
            (26, 8, "310.00", 3),
            (27, 0, "145.00", 2),
        ]
    ]
    + [
        ("saravana-stores-chennai", i, q, p, r)
        for i, q, p, r in [
            (13, 50, "27.00", 15),
            (20, 12, "420.00", 4),
            (23, 10, "80.00", 4),
            (25, 40, "14.00", 10),
            (28, 6, "295.00", 2),
            (17, 3, "292.00", 2),
        ]
    ]
)

PENDING = ("Amul Garlic Butter 100 g", "Amul", "100", "g")  # awaiting review, by the staff


def demo_barcode(index: int) -> str:
    """A valid, stable EAN-13 for the demo product at `index`: prefix 20 (in-store) for bakes, 890
    otherwise."""
    # Bakes carry in-store codes (GS1 prefix 2); the groceries India's prefix 890.
    prefix = "20" if PRODUCTS[index].brand == BAKERY else "890"
    body = f"{prefix}{7100000 + index * 7919:0{12 - len(prefix)}d}"
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


def _give_picture(product: Product, spec: DemoProduct, principal: Principal) -> None:
    """Draw the product's picture and show it, renditions included, so the first page
    the demo serves has its pictures without waiting for a worker."""
    data = draw_picture(shape=spec.shape, colour=spec.colour, label=spec.label)
    blob = store_image(data=data)
    attach_image(product=product, blob=blob, principal=principal)
    make_renditions(blob.sha256)


def load_demo_catalog(*, admin: User, staff: User) -> tuple[int, int]:
    """Create the missing demo products and stock items; returns how many of each."""
    leaves = _categories()
    principal = Principal(user=admin, method="session")
    products: list[Product] = []
    created = 0
    for index, spec in enumerate(PRODUCTS):
        barcode = demo_barcode(index)
        product = Product.objects.filter(barcode=barcode).first()
        if product is None:
            product = create_product(
                principal=principal,
                name=spec.name,
                brand=spec.brand,
                category_id=leaves[spec.leaf].pk,
                barcode=barcode,
                net_quantity=Decimal(spec.quantity),
                net_unit=spec.unit,
                description=spec.description,
                regional_names=spec.regional,
                confirm_new=True,
            )
            created += 1
            _give_picture(product, spec, principal)
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
