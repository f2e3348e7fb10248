"""Product pages in the shapes real shops write them, read right: offers, stock, prices, money.

Each test says what the hand-written reader before this suite (commit 13af267) did with the
shape. Shapes that matter end to end go through a real poll of the fake shop; the others are
HTML strings given to `extract_product` / `item_from_page`.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from shelfwatch.watch.adapters.base import NeedsConfiguration
from shelfwatch.watch.adapters.jsonld import item_from_page
from shelfwatch.watch.adapters.page_data import availability_of, extract_product
from shelfwatch.watch.models import Source, WatchedItem
from tests.fakes.jsonld_pages import JsonLdShop
from tests.watch.conftest import event_types, last_event_id, make_source, poll_again

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]

URL = "https://shop.example/p/item"


@pytest.fixture
def shop():
    with JsonLdShop() as fake:
        yield fake


def watch(shop: JsonLdShop, handle: str, **settings) -> Source:
    return make_source(
        name="Pages",
        kind="jsonld",
        base_url=shop.base_url,
        settings={"urls": [shop.product_url(handle)], **settings},
    )


def the_item(source: Source) -> WatchedItem:
    return source.items.get()


def page(*, head: str = "", body: str = "", lang: str = "en") -> str:
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>Item | Shop'
        f"</title>{head}</head><body>{body}</body></html>"
    )


def ld(document: dict) -> str:
    return f'<script type="application/ld+json">{json.dumps(document, ensure_ascii=False)}</script>'


# -- several offers ----------------------------------------------------------------------------


def test_a_second_seller_restocking_is_back_in_stock(shop):
    """`offers` is an array, one offer per seller of the same article. Before: the sellers'
    two prices were "several prices", so the page needed configuration and was never read."""
    product = shop.add(
        "Amul Ghee 1 L",
        "650.00",
        handle="ghee",
        offer_style="sellers",
        variants=[
            {"title": "Kirana Mart", "price": "650.00", "available": False},
            {"title": "Dairy Direct", "price": "689.00", "available": False},
        ],
    )
    source = watch(shop, "ghee")
    assert poll_again(source).ok
    ghee = the_item(source)
    assert ghee.available is False and ghee.price == Decimal("650.00") and ghee.currency == "INR"
    before = last_event_id()
    shop.catalogue.set_variant("ghee", product.variants[1].id, available=True)
    assert poll_again(source).ok
    assert "watch.back_in_stock" in event_types(before)
    ghee = the_item(source)
    # The only seller who has it asks 689: that is what it costs now.
    assert ghee.available is True and ghee.price == Decimal("689.00")


def test_sellers_as_graph_references():
    """Offers and sellers given as @id references inside @graph. Before: the offers were
    read as the bare references, so neither a price nor the stock was found."""
    html = page(
        head=ld(
            {
                "@context": "https://schema.org",
                "@graph": [
                    {"@type": "WebPage", "@id": URL},
                    {
                        "@type": "Product",
                        "@id": URL + "#product",
                        "name": "Ghee",
                        "offers": [{"@id": "#o1"}, {"@id": "#o2"}],
                    },
                    {
                        "@id": "#o1",
                        "@type": "Offer",
                        "price": "650.00",
                        "priceCurrency": "INR",
                        "availability": "https://schema.org/OutOfStock",
                        "seller": {"@id": "#s1"},
                    },
                    {
                        "@id": "#o2",
                        "@type": "Offer",
                        "price": "689.00",
                        "priceCurrency": "INR",
                        "availability": "https://schema.org/InStock",
                        "seller": {"@id": "#s2"},
                    },
                    {"@id": "#s1", "@type": "Organization", "name": "Kirana Mart"},
                    {"@id": "#s2", "@type": "Organization", "name": "Dairy Direct"},
                ],
            }
        )
    )
    item = item_from_page(html, url=URL, settings={})
    assert (item.available, item.price, item.currency) == (True, Decimal("689.00"), "INR")


def test_two_sizes_name_their_offers_and_the_chosen_one_is_tracked(shop):
    """Two offers for two sizes at different prices. Before: the message listed the prices
    only, so the user could not tell what to write in `offer`."""
    product = shop.add(
        "Desi Ghee",
        "650.00",
        handle="ghee",
        variants=[
            {"title": "500 ml", "sku": "GHEE-500ML", "price": "650.00", "available": True},
            {"title": "1 L", "sku": "GHEE-1L", "price": "1199.00", "available": False},
        ],
    )
    source = watch(shop, "ghee")
    assert poll_again(source).code == "needs_configuration"
    source.refresh_from_db()
    assert "several prices (650.00, 1199.00)" in source.last_error
    assert "'GHEE-500ML' (Desi Ghee 500 ml) 650.00 INR in stock" in source.last_error
    assert "'GHEE-1L' (Desi Ghee 1 L) 1199.00 INR out of stock" in source.last_error
    # The user copies the 1 L offer's sku into the settings.
    Source.objects.filter(pk=source.pk).update(
        settings={"urls": [shop.product_url("ghee")], "offer": "GHEE-1L"}
    )
    assert poll_again(source).ok
    ghee = the_item(source)
    assert (ghee.available, ghee.price, ghee.currency) == (False, Decimal("1199.00"), "INR")
    # The other size selling out is not this item's business; the 1 L restocking is.
    before = last_event_id()
    shop.catalogue.set_variant("ghee", product.variants[0].id, available=False)
    assert poll_again(source).ok
    assert event_types(before) == []
    shop.catalogue.set_variant("ghee", product.variants[1].id, available=True)
    shop.catalogue.set_variant("ghee", product.variants[1].id, price="1149.00")
    assert poll_again(source).ok
    assert sorted(event_types(before)) == ["watch.back_in_stock", "watch.price_changed"]
    assert the_item(source).price == Decimal("1149.00")


def test_an_offer_setting_matches_exactly_before_it_matches_a_part():
    """Skus where one contains the other ("TEE-L" in "TEE-L-TALL"). Before: `offer` matched
    any offer containing the text, so both sizes counted: several prices again, and the
    other size's stock could make this one look in stock."""
    offers = [
        {"sku": "TEE-L", "name": "Tee L", "price": 499, "availability": "OutOfStock"},
        {"sku": "TEE-L-TALL", "name": "Tee L Tall", "price": 549, "availability": "InStock"},
    ]
    html = page(
        head=ld(
            {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": "Tee",
                "offers": [{"@type": "Offer", "priceCurrency": "INR", **o} for o in offers],
            }
        )
    )
    item = item_from_page(html, url=URL, settings={"offer": "tee-l"})
    assert (item.available, item.price) == (False, Decimal("499.00"))
    with pytest.raises(NeedsConfiguration, match=r"no offer .* matches offer 'TEE-M'.*TEE-L"):
        item_from_page(html, url=URL, settings={"offer": "TEE-M"})


# -- @graph and availability spellings --------------------------------------------------------


@pytest.mark.parametrize("mode", ["jsonld_graph", "jsonld_graph_ref"])
def test_graph_wrapped_products_restock(shop, mode):
    """The Product inside `@graph`, its offer inline or as an @id reference. Before: inline
    was read right; a referenced offer gave no price and no stock (the item was unknown)."""
    shop.add("Paneer 200 g", "90.00", handle="paneer", mode=mode, available=False)
    source = watch(shop, "paneer")
    assert poll_again(source).ok
    assert (the_item(source).available, the_item(source).price) == (False, Decimal("90.00"))
    before = last_event_id()
    shop.catalogue.set_available("paneer", True)
    assert poll_again(source).ok
    assert event_types(before) == ["watch.back_in_stock"]


@pytest.mark.parametrize(
    ("written", "available"),
    [
        ("InStock", True),
        ("https://schema.org/InStock", True),
        ("http://schema.org/InStock", True),
        ("instock", True),
        ("In Stock", True),
        ("schema:InStock", True),  # before: None (compact IRI not understood)
        ("in_stock", True),  # before: None
        ("https://schema.org/LimitedAvailability", True),
        ("OutOfStock", False),
        ("https://schema.org/OutOfStock", False),
        ("http://schema.org/OutOfStock", False),
        ("outofstock", False),
        ("SoldOut", False),
        ("https://schema.org/SoldOut", False),
        ("out of stock", False),
        ("https://schema.org/Discontinued", False),
        ("", None),
        ("maybe", None),
    ],
)
def test_availability_spellings(written, available):
    """Before: all of these were right except the compact "schema:InStock" and "in_stock"."""
    html = page(
        head=ld(
            {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": "Item",
                "offers": {"@type": "Offer", "price": "10", "availability": written},
            }
        )
    )
    assert availability_of(written) is available
    assert item_from_page(html, url=URL, settings={}).available is available


@pytest.mark.parametrize(("style", "first"), [("http", True), ("lower", False)])
def test_availability_styles_end_to_end(shop, style, first):
    """`http://schema.org/...` and lower-case `instock` through a poll; before: right too."""
    shop.add("Curd 400 g", "35.00", handle="curd", availability_style=style, available=first)
    source = watch(shop, "curd")
    assert poll_again(source).ok and the_item(source).available is first
    before = last_event_id()
    shop.catalogue.set_available("curd", not first)
    assert poll_again(source).ok
    expected = "watch.out_of_stock" if first else "watch.back_in_stock"
    assert event_types(before) == [expected]


# -- microdata and OpenGraph only ---------------------------------------------------------------


def test_microdata_only_with_an_indian_price(shop):
    """Microdata whose price content is "Rs. 1,299" and visible "Rs. 1,299/-". Before: read
    right (1299.00 INR); kept right through the new itemscope-aware reader."""
    shop.add(
        "Whey 1 kg",
        "1299.00",
        handle="whey",
        mode="microdata",
        price_style="indian",
        display_style="indian",
    )
    source = watch(shop, "whey")
    assert poll_again(source).ok
    whey = the_item(source)
    assert (whey.price, whey.currency, whey.available) == (Decimal("1299.00"), "INR", True)
    before = last_event_id()
    shop.catalogue.set_available("whey", False)
    assert poll_again(source).ok
    assert event_types(before) == ["watch.out_of_stock"]


def test_microdata_related_products_are_not_the_products_prices():
    """The product's microdata and then "customers also bought" items with theirs. Before:
    every itemprop="price" on the page counted, so it needed configuration; and a
    currency given only as the sign ("Rs. 1,299", no priceCurrency) was lost."""
    card = (
        '<div itemscope itemtype="https://schema.org/Product"><span itemprop="name">{name}'
        '</span><div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
        '<span itemprop="price">{price}</span></div></div>'
    )
    html = page(
        body='<div itemscope itemtype="http://schema.org/Product">'
        '<h1 itemprop="name">Whey 1 kg</h1>'
        '<div itemprop="offers" itemscope itemtype="http://schema.org/Offer">'
        '<span itemprop="price">Rs. 1,299</span>'
        '<link itemprop="availability" href="http://schema.org/InStock"></div></div>'
        '<section class="related">'
        + card.format(name="Shaker", price="Rs. 249")
        + card.format(name="Creatine", price="Rs. 899")
        + "</section>"
    )
    item = item_from_page(html, url=URL, settings={})
    assert (item.name, item.price, item.currency) == ("Whey 1 kg", Decimal("1299.00"), "INR")
    assert item.available is True


@pytest.mark.parametrize("prefix", ["product", "og"])
def test_opengraph_only(shop, prefix):
    """`product:price:amount` or `og:price:amount` with `product:availability`. Before: read
    right; kept right."""
    shop.add("Butter 500 g", "275.00", handle="butter", mode="opengraph", og_prefix=prefix)
    source = watch(shop, "butter")
    assert poll_again(source).ok
    butter = the_item(source)
    assert (butter.price, butter.currency, butter.available) == (Decimal("275.00"), "INR", True)
    before = last_event_id()
    shop.catalogue.set_available("butter", False)
    shop.catalogue.set_price("butter", "260.00")
    assert poll_again(source).ok
    assert sorted(event_types(before)) == ["watch.out_of_stock", "watch.price_changed"]


def test_opengraph_currency_from_the_sign_and_facebook_availability():
    """OpenGraph with the amount written "₹1,299" and no currency tag, availability
    "available for order". Before: no currency, and the stock unknown."""
    html = page(
        head='<meta property="og:type" content="product"><meta property="og:title" content="Mixer">'
        '<meta property="product:price:amount" content="₹1,299">'
        '<meta property="product:availability" content="available for order">'
    )
    item = item_from_page(html, url=URL, settings={})
    assert (item.name, item.price, item.currency, item.available) == (
        "Mixer",
        Decimal("1299.00"),
        "INR",
        True,
    )


# -- one price in several formats -----------------------------------------------------------------


def test_the_same_price_in_two_formats_is_one_price(shop):
    """JSON-LD `"price": 1299` and ₹1,299.00 on screen. Before: one price too (the visible
    text was not read beside markup); kept so."""
    shop.add("Air fryer", "1299.00", handle="fryer", mode="duplicate_price")
    source = watch(shop, "fryer")
    assert poll_again(source).ok
    assert the_item(source).price == Decimal("1299.00")


def test_json_ld_string_and_opengraph_text_are_one_price():
    """JSON-LD "1299.00" without stock or currency, OpenGraph "₹1,299" and "in stock".
    Before: the OpenGraph offer was appended beside the JSON-LD one: one price all the
    same, but the currency stayed unknown. Now the OpenGraph facts fill in the offer."""
    html = page(
        head=ld(
            {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": "Air fryer",
                "offers": {"@type": "Offer", "price": "1299.00"},
            }
        )
        + '<meta property="og:price:amount" content="₹1,299">'
        + '<meta property="og:availability" content="in stock">',
        body="<p>Price: ₹1,299 <s>MRP ₹1,999</s></p>",
    )
    product = extract_product(html)
    assert product.distinct_prices() == [Decimal("1299.00")]
    item = item_from_page(html, url=URL, settings={})
    assert (item.price, item.currency, item.available) == (Decimal("1299.00"), "INR", True)


def test_markup_without_a_currency_takes_the_visible_price_sign():
    """JSON-LD price 450 with no priceCurrency, "Rs. 450/-" on screen. Before: no currency."""
    html = page(
        head=ld(
            {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": "Lassi",
                "offers": {"@type": "Offer", "price": 450, "availability": "InStock"},
            }
        ),
        body="<p>Rs. 450/-</p><p>Rs. 30 off</p>",
    )
    item = item_from_page(html, url=URL, settings={})
    assert (item.price, item.currency) == (Decimal("450.00"), "INR")


# -- Hindi, Indian and European pages -------------------------------------------------------------


def test_a_hindi_page_is_read_right(shop):
    """A page in Hindi, no markup: Devanagari name, the price in Devanagari digits,
    "स्टॉक में" / "स्टॉक में नहीं". Before: the price was read but neither its currency
    nor the stock, so a sell-out and a restock never made events."""
    shop.add(
        "अमूल देसी घी 1 लीटर",
        "1299.00",
        handle="ghee",
        mode="text",
        language="hi",
        display_style="devanagari",
    )
    source = watch(shop, "ghee")
    assert poll_again(source).ok
    ghee = the_item(source)
    assert ghee.name == "अमूल देसी घी 1 लीटर"
    assert (ghee.price, ghee.currency, ghee.available) == (Decimal("1299.00"), "INR", True)
    before = last_event_id()
    shop.catalogue.set_available("ghee", False)
    assert poll_again(source).ok
    assert event_types(before) == ["watch.out_of_stock"]
    shop.catalogue.set_available("ghee", True)
    assert poll_again(source).ok
    assert event_types(before) == ["watch.out_of_stock", "watch.back_in_stock"]


def test_hindi_markup():
    """JSON-LD written in Hindi: availability "स्टॉक में नहीं", price "₹1,299". Before: the
    price was read, the currency and the stock were unknown."""
    html = page(
        lang="hi",
        head=ld(
            {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": "अमूल घी",
                "offers": {"@type": "Offer", "price": "₹1,299", "availability": "स्टॉक में नहीं"},
            }
        ),
    )
    item = item_from_page(html, url=URL, settings={})
    assert (item.name, item.price, item.currency, item.available) == (
        "अमूल घी",
        Decimal("1299.00"),
        "INR",
        False,
    )


def test_a_german_page_without_markup(shop):
    """A German shop's page, no markup, "1.299,00 €" on screen. Before: only prices with
    the sign in front were found, so the page "stated no product offer"."""
    shop.add("Kaffeemaschine", "1299.00", handle="kaffee", mode="text", currency="EUR")
    shop.set_mode("kaffee", "text", display_style="european")
    source = watch(shop, "kaffee")
    assert poll_again(source).ok
    kaffee = the_item(source)
    assert (kaffee.price, kaffee.currency, kaffee.available) == (Decimal("1299.00"), "EUR", True)


def test_a_german_page_with_european_markup(shop):
    """JSON-LD `"price": "1.299,00"` with priceCurrency EUR, "1.299,00 €" on screen.
    Before: right (1299.00 EUR); kept right."""
    shop.add(
        "Kaffeemaschine",
        "1299.00",
        handle="kaffee",
        currency="EUR",
        price_style="european",
        display_style="european",
    )
    source = watch(shop, "kaffee")
    assert poll_again(source).ok
    assert (the_item(source).price, the_item(source).currency) == (Decimal("1299.00"), "EUR")


@pytest.mark.parametrize(
    ("shown", "price", "currency"),
    [
        # Before: "€1.29", the regex stopped at the first dot.
        ("€1.299,00", Decimal("1299.00"), "EUR"),
        ("1 299,50 zł", Decimal("1299.50"), "PLN"),  # before: no price found
        ("CHF 1'299.00", Decimal("1299.00"), "CHF"),  # before: no price found
        ("£3.50", Decimal("3.50"), "GBP"),
        ("Rs.99", Decimal("99.00"), "INR"),
        ("₹ 1,29,999", Decimal("129999.00"), "INR"),
        ("MRP: ₹450.00 Inclusive of all taxes", Decimal("450.00"), "INR"),
    ],
)
def test_visible_prices_in_many_currencies(shown, price, currency):
    """Before: no text price had a currency, and some were missed or misread (noted)."""
    html = page(body=f"<h1>Item</h1><p class=price>{shown}</p><button>Add to cart</button>")
    item = item_from_page(html, url=URL, settings={})
    assert (item.price, item.currency, item.available) == (price, currency, True)


def test_structured_prices_follow_schema_org():
    """ "1.299" in JSON-LD is 1.299 (schema.org uses a decimal point): 1.30. Before: 1299."""
    html = page(
        head=ld(
            {
                "@context": "https://schema.org",
                "@type": "Product",
                "name": "Pin",
                "offers": {"@type": "Offer", "price": "1.299", "priceCurrency": "EUR"},
            }
        )
    )
    assert item_from_page(html, url=URL, settings={}).price == Decimal("1.30")


def test_a_nul_byte_in_a_shop_name_is_dropped_so_the_poll_is_recorded():
    from shelfwatch.watch.adapters.base import ItemState
    from shelfwatch.watch.changes import apply_states
    from shelfwatch.watch.models import Source

    source = Source.objects.create(name="Shop", kind="internal", baseline_done=True)
    state = ItemState(external_id="w\x001", name="Whey\x00 Protein", available=True)
    apply_states(source=source, states=[state], complete=False)
    item = source.items.get()
    assert item.name == "Whey Protein" and item.external_id == "w1"


# -- markup that is not quite JSON --------------------------------------------------------------


def test_a_trailing_comma_in_json_ld_is_forgiven():
    script = (
        '{"@type": "Product", "name": "Cow Ghee, 1 L", "offers": [{"@type": "Offer",'
        ' "price": "550", "priceCurrency": "INR", "availability": "InStock",},],}'
    )
    product = extract_product(page(head=f'<script type="application/ld+json">{script}</script>'))
    assert product.name == "Cow Ghee, 1 L"
    assert [(o.price, o.currency, o.available) for o in product.offers] == [
        (Decimal("550.00"), "INR", True)
    ]


def test_entity_escaped_and_wrapped_names_read_as_shown():
    html = page(
        head=ld(
            {
                "@type": "Product",
                "name": "Tea &amp; Biscuits\n  Combo",
                "offers": {"price": "99", "priceCurrency": "INR"},
            }
        )
    )
    assert extract_product(html).name == "Tea & Biscuits Combo"


def test_json_ld_nested_beyond_the_parser_is_skipped_not_raised():
    deep = "[" * 50_000 + "]" * 50_000
    html = page(
        head=f'<script type="application/ld+json">{deep}</script>'
        '<meta property="og:title" content="Honey">'
        '<meta property="product:price:amount" content="299">'
        '<meta property="product:price:currency" content="INR">',
    )
    product = extract_product(html)
    assert product.name == "Honey"
    assert [o.price for o in product.offers] == [Decimal("299.00")]
