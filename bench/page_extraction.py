"""Product page extraction: the hand-written reader against extruct, for correctness and cost.

Run from the repository root (extruct must be importable: `.venv/bin/pip install extruct`):

    .venv/bin/python bench/page_extraction.py [--pages 1000] [--repeat 3]

Both readers feed the same offer logic (`page_data.product_from_nodes`, the fill-in between
vocabularies, the visible-text fallback and `jsonld`'s choice of price and currency); only
the markup parsing differs: `page_data`'s HTMLParser subclass, or
`extruct.extract(syntaxes=["json-ld", "microdata", "opengraph"], uniform=True)` on lxml.

- correctness: the tricky shapes of tests/watch/test_page_shapes.py and every mode of the
  fake shop (tests/fakes/jsonld_pages.py), each with the expected price, currency and
  availability; a shape is right when all three are.
- cost: CPU milliseconds per page (process time, best of `--repeat`) over `--pages` pages
  rendered by the fake shop, cycling through its modes (JSON-LD, @graph, AggregateOffer,
  OpenGraph, microdata, duplicate price, Indian and European formats, text, Hindi), then
  the same pages grown by `--padding-kib` of related-product filler, as real pages are.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import httpx

from shelfwatch.watch.adapters import jsonld, page_data, page_markup
from shelfwatch.watch.adapters.base import NeedsConfiguration
from tests.fakes.jsonld_pages import JsonLdShop

Reader = Callable[[str], "page_data.PageProduct | None"]
Expected = tuple[Decimal | None, str, bool | None]


def hand_written(html: str) -> page_data.PageProduct | None:
    return page_data.extract_product(html)


def with_extruct(html: str) -> page_data.PageProduct | None:
    """The same product logic over extruct's parse of the markup."""
    import extruct

    data = extruct.extract(
        html, syntaxes=["json-ld", "microdata", "opengraph"], uniform=True, errors="ignore"
    )
    products, by_id = page_data.product_nodes(data.get("json-ld") or [])
    product = page_data.product_from_nodes(products, by_id, "json-ld")
    items, micro_ids = page_data.product_nodes(data.get("microdata") or [])
    micro = page_data.product_from_nodes(items, micro_ids, "microdata")
    meta: dict[str, list[str]] = {}
    for block in data.get("opengraph") or []:
        for key, value in block.items():
            if not key.startswith("@"):
                meta.setdefault(key.lower(), []).extend(
                    value if isinstance(value, list) else [value]
                )
    product = product or micro or page_data.PageProduct()
    if micro is not None and micro is not product:
        product.offers = page_data._fill(product.offers, micro.offers)
    product.offers = page_data._fill(product.offers, page_data._from_opengraph(meta))
    if (
        not product.offers
        or all(o.price is None for o in product.offers)
        or all(o.available is None for o in product.offers)
    ):
        # extruct reads no visible text: the hand-written reader's text pass (a parse of the
        # page, markup ignored) is charged to this path only on pages that need it.
        parser = page_markup.PageParser()
        parser.feed(html)
        parser.close()
        product.text = " ".join(parser.visible)
        shown = page_data._from_text(parser, product.text)
        if not product.offers:
            product.offers = shown
        else:
            if len(shown) > 1:
                shown = [page_data.PageOffer(None, "", shown[0].available, "text")]
            product.offers = page_data._fill(product.offers, shown)
        if not product.name and parser.title:
            product.name = parser.title.split(" | ")[0]
    if not product.name:
        product.name = (meta.get("og:title") or [""])[0]
    return product if product.offers else None


def outcome(reader: Reader, html: str, settings: dict[str, Any]) -> Expected | str:
    product = reader(html)
    if product is None:
        return "no product"
    try:
        offers = jsonld.chosen_offers(product, settings, "page")
        price, currency = jsonld._chosen(offers, settings, "page")
    except NeedsConfiguration:
        return "needs configuration"
    if not currency and price is not None:
        currency = product.currency_shown_for(price)
    known = [o.available for o in offers if o.available is not None]
    return price, currency, (any(known) if known else None)


def _page(head: str = "", body: str = "") -> str:
    return f"<!doctype html><html><head><title>Item | Shop</title>{head}</head><body>{body}</body></html>"  # noqa: E501


def _ld(doc: dict[str, Any]) -> str:
    return f'<script type="application/ld+json">{json.dumps(doc, ensure_ascii=False)}</script>'


def literal_shapes() -> list[tuple[str, str, dict[str, Any], Expected]]:
    card = (
        '<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">{}</span>'
        '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        '<span itemprop="price">{}</span></div></div>'
    )
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "@id": "/p"},
            {"@type": "Product", "name": "Ghee", "offers": [{"@id": "#o1"}, {"@id": "#o2"}]},
            {"@id": "#o1", "@type": "Offer", "price": "650.00", "priceCurrency": "INR",
             "availability": "OutOfStock", "seller": {"@id": "#s1"}},
            {"@id": "#o2", "@type": "Offer", "price": "689.00", "priceCurrency": "INR",
             "availability": "InStock", "seller": {"@id": "#s2"}},
            {"@id": "#s1", "@type": "Organization", "name": "A"},
            {"@id": "#s2", "@type": "Organization", "name": "B"},
        ],
    }  # fmt: skip
    tees = [
        {"sku": "TEE-L", "price": 499, "availability": "OutOfStock"},
        {"sku": "TEE-L-TALL", "price": 549, "availability": "InStock"},
    ]
    tee = {"@type": "Product", "name": "Tee", "offers": [{"@type": "Offer", **o} for o in tees]}
    return [
        ("graph @id offers, two sellers", _page(_ld(graph)), {}, (Decimal("689.00"), "INR", True)),
        ("offer matched exactly", _page(_ld(tee)), {"offer": "TEE-L"}, (Decimal("499.00"), "", False)),  # noqa: E501
        (
            "microdata with related products",
            _page(body='<div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">W</h1>'  # noqa: E501
            '<div itemprop="offers" itemscope itemtype="http://schema.org/Offer">'
            '<span itemprop="price">Rs. 1,299</span>'
            '<link itemprop="availability" href="http://schema.org/InStock"></div></div>'
            + card.format("Shaker", "Rs. 249") + card.format("Creatine", "Rs. 899")),
            {},
            (Decimal("1299.00"), "INR", True),
        ),
        (
            "OpenGraph amount with its sign",
            _page('<meta property="product:price:amount" content="₹1,299">'
            '<meta property="product:availability" content="available for order">'),
            {},
            (Decimal("1299.00"), "INR", True),
        ),
        (
            "JSON-LD string + OpenGraph text, one price",
            _page(_ld({"@type": "Product", "name": "F", "offers": {"@type": "Offer", "price": "1299.00"}})  # noqa: E501
            + '<meta property="og:price:amount" content="₹1,299">'
            '<meta property="og:availability" content="in stock">', "<p>₹1,299 <s>₹1,999</s></p>"),
            {},
            (Decimal("1299.00"), "INR", True),
        ),
        (
            "Hindi markup",
            _page(_ld({"@type": "Product", "name": "घी", "offers": {"@type": "Offer", "price": "₹1,299",  # noqa: E501
            "availability": "स्टॉक में नहीं"}})),
            {},
            (Decimal("1299.00"), "INR", False),
        ),
        (
            "compact schema:InStock",
            _page(_ld({"@type": "Product", "name": "P", "offers": {"@type": "Offer", "price": 10,
            "priceCurrency": "EUR", "availability": "schema:InStock"}})),
            {},
            (Decimal("10.00"), "EUR", True),
        ),
        (
            "JSON-LD in an HTML comment",
            _page('<script type="application/ld+json"><!--\n{"@type": "Product", "name": "P", '
            '"offers": {"@type": "Offer", "price": "5.5", "priceCurrency": "GBP", '
            '"availability": "InStock"}}\n--></script>'),
            {},
            (Decimal("5.50"), "GBP", True),
        ),
        (
            "visible €1.299,00",
            _page(body="<p>€1.299,00</p><button>Add to cart</button>"),
            {},
            (Decimal("1299.00"), "EUR", True),
        ),
    ]  # fmt: skip


# The fake shop's modes and options, with what a reader should find (price, currency, stock).
FAKE_SHAPES: list[tuple[str, dict[str, Any], dict[str, Any], Expected]] = [
    ("jsonld", {}, {}, (Decimal("1299.00"), "INR", True)),
    ("jsonld string http", {"price_style": "string", "availability_style": "http",
     "available": False}, {}, (Decimal("1299.00"), "INR", False)),
    ("jsonld lower-case", {"availability_style": "lower"}, {}, (Decimal("1299.00"), "INR", True)),
    ("jsonld_graph", {"mode": "jsonld_graph"}, {}, (Decimal("1299.00"), "INR", True)),
    ("jsonld_graph_ref", {"mode": "jsonld_graph_ref", "available": False}, {},
     (Decimal("1299.00"), "INR", False)),
    ("jsonld_aggregate", {"mode": "jsonld_aggregate"}, {}, (Decimal("1299.00"), "INR", True)),
    ("sellers, second in stock", {"offer_style": "sellers", "variants": [
        {"title": "A", "price": "1299", "available": False},
        {"title": "B", "price": "1349", "available": True}]}, {},
     (Decimal("1349.00"), "INR", True)),
    ("sizes, offer chosen", {"variants": [
        {"title": "S", "sku": "X-S", "price": "1299", "available": True},
        {"title": "L", "sku": "X-L", "price": "1499", "available": False}]}, {"offer": "X-L"},
     (Decimal("1499.00"), "INR", False)),
    ("opengraph", {"mode": "opengraph"}, {}, (Decimal("1299.00"), "INR", True)),
    ("opengraph og:", {"mode": "opengraph", "og_prefix": "og", "available": False}, {},
     (Decimal("1299.00"), "INR", False)),
    ("microdata", {"mode": "microdata"}, {}, (Decimal("1299.00"), "INR", True)),
    ("microdata Rs.", {"mode": "microdata", "price_style": "indian", "display_style": "indian"},
     {}, (Decimal("1299.00"), "INR", True)),
    ("duplicate price", {"mode": "duplicate_price"}, {}, (Decimal("1299.00"), "INR", True)),
    ("jsonld European", {"currency": "EUR", "price_style": "european",
     "display_style": "european"}, {}, (Decimal("1299.00"), "EUR", True)),
    ("text", {"mode": "text", "available": False}, {}, (Decimal("1299.00"), "INR", False)),
    ("text European", {"mode": "text", "currency": "EUR", "display_style": "european"}, {},
     (Decimal("1299.00"), "EUR", True)),
    ("text Hindi", {"mode": "text", "language": "hi", "display_style": "devanagari"}, {},
     (Decimal("1299.00"), "INR", True)),
]  # fmt: skip


def padding(kib: int) -> str:
    """Filler like a real shop page's: navigation, related product cards with prices and
    microdata-free markup, inline scripts; about `kib` KiB."""
    parts = ['<nav class="mega-menu"><ul>']
    parts += [
        f'<li class="menu-item"><a href="/c/cat-{n}">Category {n}</a></li>' for n in range(60)
    ]
    parts.append("</ul></nav><script>window.dataLayer=window.dataLayer||[];</script>")
    n = 0
    while sum(map(len, parts)) < kib * 1024:
        parts.append(
            f'<div class="card col-md-3" data-id="{n}"><a href="/p/other-{n}">'
            f'<img src="/img/{n}.jpg" alt="Other product {n}" loading="lazy"></a>'
            f'<h3 class="card-title">Other product {n}</h3><span class="card-price">'
            f'₹{n % 900 + 100}.00</span><button class="btn">View</button></div>'
        )
        n += 1
    return '<section class="related">' + "".join(parts) + "</section>"


def fake_pages(
    shop: JsonLdShop, count: int
) -> tuple[list[tuple[str, str, dict, Expected]], list[str]]:
    """The fake shapes (one page each) and `count` sample pages cycling through them."""
    shapes = []
    with httpx.Client(base_url=shop.base_url) as client:
        for n, (label, options, settings, expected) in enumerate(FAKE_SHAPES):
            shop.add(f"Item {n}", "1299.00", handle=f"shape-{n}", **options)
            shapes.append((label, client.get(f"/p/shape-{n}").text, settings, expected))
        sample = []
        for n in range(count):
            _, options, _, _ = FAKE_SHAPES[n % len(FAKE_SHAPES)]
            shop.add(f"Sample product {n}", f"{100 + n}.50", handle=f"s-{n}", **options)
            sample.append(client.get(f"/p/s-{n}").text)
    return shapes, sample


def cpu_ms_per_page(reader: Reader, pages: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.process_time()
        for html in pages:
            reader(html)
        best = min(best, time.process_time() - started)
    return best * 1000 / len(pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--padding-kib",
        type=int,
        default=100,
        help="also time the sample with this much real-page filler before </main> (0: skip)",
    )
    args = parser.parse_args()
    readers = {"hand-written": hand_written, "extruct": with_extruct}
    with JsonLdShop() as shop:
        fake_shapes, sample = fake_pages(shop, args.pages)
    shapes = fake_shapes + literal_shapes()
    right = dict.fromkeys(readers, 0)
    print(f"{'shape':45} " + " ".join(f"{name:>14}" for name in readers))
    for label, html, settings, expected in shapes:
        marks = []
        for name, reader in readers.items():
            got = outcome(reader, html, settings)
            ok = got == expected
            right[name] += ok
            marks.append("right" if ok else "WRONG")
            if not ok:
                print(f"  {name} on {label!r}: {got} (expected {expected})")
        print(f"{label:45} " + " ".join(f"{m:>14}" for m in marks))
    print()
    size = sum(len(p.encode()) for p in sample) / len(sample)
    print(f"{len(sample)} sample pages, {size / 1024:.1f} KiB on average")
    cost = {name: cpu_ms_per_page(r, sample, args.repeat) for name, r in readers.items()}
    for name in readers:
        print(
            f"{name:14} right on {right[name]}/{len(shapes)} shapes, "
            f"{cost[name]:.3f} CPU ms per page ({cost[name] / cost['hand-written']:.2f}x)"
        )
    if args.padding_kib:
        filler = padding(args.padding_kib)
        padded = [p.replace("</main>", filler + "</main>") for p in sample]
        size = sum(len(p.encode()) for p in padded) / len(padded)
        print(f"\nthe same pages with related-product filler, {size / 1024:.1f} KiB on average")
        cost = {name: cpu_ms_per_page(r, padded, args.repeat) for name, r in readers.items()}
        for name in readers:
            ratio = cost[name] / cost["hand-written"]
            print(f"{name:14} {cost[name]:.3f} CPU ms per page ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
