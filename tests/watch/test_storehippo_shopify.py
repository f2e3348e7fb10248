"""StoreHippo and Shopify shops as they really answer: paged listings, relative images,
variants, oversold counts, the shop's currency, products without a handle. Real polls of the
fake shops, over HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shelfwatch.watch.models import Observation, Source, WatchedItem
from shelfwatch.watch.sources import InvalidSource
from tests.fakes.shopify import ShopifyShop
from tests.fakes.storehippo import PRODUCTS_PATH, StoreHippoShop
from tests.watch.conftest import event_types, last_event_id, make_source, poll_again

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]

PROTEIN = {"pincode": "302001", "category": "protein"}


def storehippo_source(shop: StoreHippoShop, **settings) -> Source:
    return make_source(
        name="Amul", kind="storehippo", base_url=shop.base_url, settings={**PROTEIN, **settings}
    )


def shopify_source(shop: ShopifyShop, **settings) -> Source:
    return make_source(name="Shop", kind="shopify", base_url=shop.base_url, settings=settings)


def first_poll(source: Source) -> None:
    outcome = poll_again(source)
    assert outcome.ok, Source.objects.get(pk=source.pk).last_error


def items(source: Source) -> dict[str, WatchedItem]:
    return {item.external_id: item for item in WatchedItem.objects.filter(source=source)}


def live(source: Source) -> set[str]:
    return set(
        WatchedItem.objects.filter(source=source, is_gone=False).values_list(
            "external_id", flat=True
        )
    )


# ---------------------------------------------------------------------------------------------
# StoreHippo: paging
# ---------------------------------------------------------------------------------------------


def test_storehippo_reads_every_page_before_calling_a_product_gone():
    with StoreHippoShop() as shop:
        added = [shop.add(f"Amul Protein Bar {n:03d}", 40 + n % 7) for n in range(250)]
        source = storehippo_source(shop)
        first_poll(source)
        assert live(source) == {p.id for p in added}
        starts = [r.arg("start") for r in shop.log(PRODUCTS_PATH)]
        assert starts == ["0", "100", "200"]  # three pages, each asked for once
        shop.remove(added[-1].id)  # the last product of the last page
        shop.clear_log()
        assert poll_again(source).ok
        assert live(source) == {p.id for p in added[:-1]}
        assert items(source)[added[-1].id].is_gone
        assert len(shop.log(PRODUCTS_PATH)) == 3


def test_storehippo_page_failing_mid_listing_marks_nothing_gone():
    with StoreHippoShop() as shop:
        added = [shop.add(f"Amul Lassi {n:03d}", 25) for n in range(250)]
        source = storehippo_source(shop)
        first_poll(source)
        shop.remove(added[0].id)  # gone for real, but this poll cannot know it
        shop.set_available(added[1].id, False)  # on the first page, which still answers
        shop.fail_page(100, status=503)
        before = last_event_id()
        outcome = poll_again(source)
        assert outcome.ok
        assert live(source) == {p.id for p in added}  # products of unread pages stay
        assert items(source)[added[1].id].available is False  # what was read still counts
        assert event_types(before) == ["watch.out_of_stock"]
        # Read to its end, the listing tells the removed product apart.
        assert poll_again(source).ok
        assert live(source) == {p.id for p in added[1:]}


def test_storehippo_follows_a_shop_that_pages_smaller_than_asked_and_says_skip():
    with StoreHippoShop(max_limit=40, paging_offset="skip") as shop:
        added = [shop.add(f"Amul Kool {n:03d}", 30) for n in range(250)]
        source = storehippo_source(shop)
        first_poll(source)
        assert live(source) == {p.id for p in added}
        assert len(shop.log(PRODUCTS_PATH)) == 7  # 6 pages of 40 and one of 10


# ---------------------------------------------------------------------------------------------
# StoreHippo: what an item shows
# ---------------------------------------------------------------------------------------------


def test_storehippo_relative_image_paths_become_absolute_urls():
    with StoreHippoShop() as shop:
        whey = shop.add("Amul Whey Protein", 2400)
        paneer = shop.add("Amul Paneer", 90, image="https://cdn.example/paneer.png?v=2")
        source = storehippo_source(shop)
        first_poll(source)
        image = items(source)[whey.id].image_url
        assert image.startswith(shop.file_base_url) and image.endswith(f"/{whey.handle}.png")
        assert items(source)[paneer.id].image_url == "https://cdn.example/paneer.png?v=2"


def test_storehippo_available_zero_is_out_of_stock_whatever_the_count():
    with StoreHippoShop() as shop:
        whey = shop.add("Amul Whey Protein", 2400, available=False, quantity=5)
        source = storehippo_source(shop)
        first_poll(source)
        item = items(source)[whey.id]
        assert item.available is False
        assert item.quantity == 5  # counted, yet not for sale


def test_storehippo_negative_count_is_out_of_stock_and_never_stored_negative():
    with StoreHippoShop() as shop:
        lassi = shop.add("Amul Rose Lassi", 25, available=True, quantity=-3)
        whey = shop.add(
            "Amul Whey Protein",
            2400,
            variants=[
                {"title": "30 sachets", "price": 2400, "quantity": -1},
                {"title": "60 sachets", "price": 4600, "quantity": 4},
            ],
        )
        source = storehippo_source(shop, variants=True)
        first_poll(source)
        found = items(source)
        assert (found[lassi.id].available, found[lassi.id].quantity) == (False, 0)
        small, large = (found[f"{whey.id}:{v.id}"] for v in whey.variants)
        assert (small.available, small.quantity) == (False, 0)
        assert (large.available, large.quantity) == (True, 4)
        assert not Observation.objects.filter(item__source=source, quantity__lt=0).exists()


def test_storehippo_records_the_currency_the_shop_states():
    with StoreHippoShop(currency="AED") as shop:
        shop.add("Amul Ghee 1 L", 38)
        source = storehippo_source(shop)
        first_poll(source)
        assert {i.currency for i in items(source).values()} == {"AED"}
    with StoreHippoShop() as shop:
        shop.add("Amul Ghee 1 L", 650)
        source = storehippo_source(shop)
        first_poll(source)
        assert {i.currency for i in items(source).values()} == {"INR"}


# ---------------------------------------------------------------------------------------------
# StoreHippo: variants
# ---------------------------------------------------------------------------------------------


def whey_with_sizes(shop: StoreHippoShop):
    return shop.add(
        "Amul Whey Protein",
        2400,
        variants=[
            {"title": "30 sachets", "price": 2400, "available": False, "sku": "WHEY-30"},
            {"title": "60 sachets", "price": 4600, "available": True, "sku": "WHEY-60"},
            {"title": "90 sachets", "price": 6600, "available": True, "sku": "WHEY-90"},
        ],
    )


def test_storehippo_product_is_available_when_any_variant_is_at_the_lowest_available_price():
    with StoreHippoShop() as shop:
        whey = whey_with_sizes(shop)
        source = storehippo_source(shop)
        first_poll(source)
        [item] = items(source).values()
        assert item.external_id == whey.id
        assert (item.available, item.price) == (True, Decimal("4600.00"))
        for variant in whey.variants:
            shop.set_variant(whey.id, variant.id, available=False)
        assert poll_again(source).ok
        assert items(source)[whey.id].available is False


def test_storehippo_variants_are_watched_as_separate_items():
    with StoreHippoShop() as shop:
        whey = whey_with_sizes(shop)
        small = whey.variants[0]
        source = storehippo_source(shop, variants=True)
        first_poll(source)
        found = items(source)
        assert set(found) == {f"{whey.id}:{v.id}" for v in whey.variants}
        item = found[f"{whey.id}:{small.id}"]
        assert item.name == "Amul Whey Protein - 30 sachets"
        assert (item.available, item.price) == (False, Decimal("2400.00"))
        before = last_event_id()
        shop.set_variant(whey.id, small.id, available=True)
        assert poll_again(source).ok
        assert event_types(before) == ["watch.back_in_stock"]
        assert items(source)[f"{whey.id}:{small.id}"].available is True


def test_storehippo_offer_picks_the_variant_the_product_item_follows():
    with StoreHippoShop() as shop:
        whey = whey_with_sizes(shop)
        source = storehippo_source(shop, offer="30 SACHETS")
        first_poll(source)
        [item] = items(source).values()
        assert item.external_id == whey.id  # still the product, priced as the chosen size
        assert (item.available, item.price) == (False, Decimal("2400.00"))
        source.settings = {**source.settings, "offer": "whey-90"}  # a sku works too
        source.save(update_fields=["settings"])
        assert poll_again(source).ok
        assert (items(source)[whey.id].available, items(source)[whey.id].price) == (
            True,
            Decimal("6600.00"),
        )


@pytest.mark.parametrize(
    ("bad", "message"),
    [({"variants": "yes"}, "variants is true"), ({"offer": "x" * 201}, "offer is text")],
)
def test_storehippo_and_shopify_refuse_unclear_variant_settings(bad, message):
    with pytest.raises(InvalidSource, match=message):
        make_source(
            name="Amul",
            kind="storehippo",
            base_url="https://shop.amul.com",
            settings={**PROTEIN, **bad},
        )
    with pytest.raises(InvalidSource, match=message):
        make_source(name="Shop", kind="shopify", base_url="https://shop.example", settings=bad)


# ---------------------------------------------------------------------------------------------
# Shopify
# ---------------------------------------------------------------------------------------------


def test_shopify_items_carry_the_shop_currency_read_once_a_day():
    with ShopifyShop(currency="CAD") as shop:
        shop.add("Maple Whey 1 kg", "39.00")
        source = shopify_source(shop)
        first_poll(source)
        assert {i.currency for i in items(source).values()} == {"CAD"}
        shop.set_price(shop.products()[0].id, "35.00")
        assert poll_again(source).ok
        assert {(i.currency, i.price) for i in items(source).values()} == {
            ("CAD", Decimal("35.00"))
        }
        assert len(shop.log("/meta.json")) == 1  # kept in the source's state


def test_shopify_currency_comes_from_cart_js_when_meta_json_fails():
    with ShopifyShop(currency="EUR") as shop:
        shop.add("Whey 1 kg", "29.90")
        shop.fail_next(1, status=500, path="/meta.json")
        source = shopify_source(shop)
        first_poll(source)
        assert {i.currency for i in items(source).values()} == {"EUR"}
        assert len(shop.log("/cart.js")) == 1


def test_shopify_poll_succeeds_without_the_currency_and_learns_it_later():
    with ShopifyShop(currency="GBP") as shop:
        shop.add("Whey 1 kg", "24.00")
        shop.fail_next(1, status=500, path="/meta.json")
        shop.fail_next(1, status=404, path="/cart.js")
        source = shopify_source(shop)
        first_poll(source)
        assert {i.currency for i in items(source).values()} == {""}
        # The retry is due (an hour later): the listing has not changed, yet the items
        # get the currency.
        source.refresh_from_db()
        Source.objects.filter(pk=source.pk).update(state={**source.state, "currency_next_check": 0})
        assert poll_again(source).ok
        assert {i.currency for i in items(source).values()} == {"GBP"}


def test_shopify_product_without_handle_links_to_its_id():
    with ShopifyShop() as shop:
        bare = shop.add("Sample Pack", "5.00", without_handle=True)
        source = shopify_source(shop)
        first_poll(source)
        item = items(source)[bare.id]
        assert item.url == shop.url(f"/products/{bare.id}")
        assert item.name == "Sample Pack"


def test_shopify_variants_and_offer_choose_what_is_watched():
    with ShopifyShop() as shop:
        whey = shop.add(
            "Whey Isolate",
            "49.90",
            variants=[
                {"title": "1 kg", "price": "49.90", "available": False, "sku": "W1"},
                {"title": "2 kg", "price": "89.00", "sku": "W2"},
            ],
        )
        small, large = whey.variants
        plain = shop.add("Shaker", "9.00")
        source = shopify_source(shop, variants=True)
        first_poll(source)
        found = items(source)
        assert set(found) == {f"{whey.id}:{small.id}", f"{whey.id}:{large.id}", plain.id}
        item = found[f"{whey.id}:{small.id}"]
        assert (item.name, item.available) == ("Whey Isolate - 1 kg", False)
        assert item.url == shop.url(f"/products/{whey.handle}?variant={small.id}")
    with ShopifyShop() as shop:
        whey = shop.add("Whey Isolate", "49.90", variants=[
            {"title": "1 kg", "price": "49.90", "available": False, "sku": "W1"},
            {"title": "2 kg", "price": "89.00", "sku": "W2"},
        ])  # fmt: skip
        small = whey.variants[0]
        source = shopify_source(shop, offer="1 KG")
        first_poll(source)
        item = items(source)[whey.id]
        assert (item.available, item.price) == (False, Decimal("49.90"))
        assert item.url == shop.url(f"/products/{whey.handle}?variant={small.id}")
