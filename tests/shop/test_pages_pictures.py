"""Pictures and flash sales on the storefront's pages: a photo comes with every rendition in
`srcset`, lazily and in a fixed square; a product without one gets a placeholder of its
initials; a running sale shows on the home page, the shelf and search with the time left
in days and hours."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.images import attach_image, store_image
from shelfwatch.catalog.renditions import make_renditions
from shelfwatch.inventory.models import StockItem
from shelfwatch.ops.demo_pictures import draw_picture
from shelfwatch.shop.models import FlashSale
from tests.catalog.images_factory import use_media_root
from tests.shop.storefront_data import Bakery, make_bakery

pytestmark = pytest.mark.django_db


@pytest.fixture
def bakery(settings, tmp_path) -> Bakery:
    use_media_root(settings, tmp_path)
    return make_bakery()


def at_the_bakery(bakery: Bakery) -> Client:
    client = Client()
    client.post("/store/", {"store": bakery.store.pk, "next": "/"})
    return client


def card_of(html: str, product_id: int) -> str:
    match = re.search(
        rf'<li class="card[^"]*" data-live-product="{product_id}">.*?</li>', html, re.S
    )
    assert match, f"no card for product {product_id}"
    return match.group(0)


def give_photo(product) -> None:
    blob = store_image(data=draw_picture(shape="pack", colour="#f2c230", label="Butter"))
    attach_image(
        product=product, blob=blob, principal=Principal(user=product.created_by, method="session")
    )
    make_renditions(blob.sha256)


def test_a_photo_comes_in_every_rendition_lazily_in_a_square_and_others_get_initials(bakery):
    give_photo(bakery.butter)
    html = at_the_bakery(bakery).get("/products/").content.decode()
    butter = card_of(html, bakery.butter.pk)
    image = re.search(r"<img [^>]*>", butter).group(0)
    assert re.search(
        r'srcset="/media/\S+-thumbnail\.webp 200w, /media/\S+-medium\.webp 800w"', image
    )
    assert 'loading="lazy"' in image and 'width="200" height="200"' in image and "sizes=" in image
    # The bread has no photo: its initials on a tint of its own, never an empty grey box.
    bread = card_of(html, bakery.bread.pk)
    assert "<img" not in bread
    assert re.search(r'class="picture placeholder" style="--hue: \d+"', bread)
    assert '<span aria-hidden="true">SC</span>' in bread


def test_the_product_page_loads_its_picture_at_once_with_the_larger_rendition(bakery):
    give_photo(bakery.butter)
    html = at_the_bakery(bakery).get(f"/products/{bakery.butter.pk}").content.decode()
    image = re.search(r'<div class="product-media"><img [^>]*>', html).group(0)
    assert re.search(r'src="/media/\S+-medium\.webp"', image)
    assert 'loading="eager"' in image and 'alt="Amul Butter 500 g"' in image


def give_shelf_photo(item) -> None:
    blob = store_image(data=draw_picture(shape="jar", colour="#c0392b", label="Shelf"))
    item.custom_images.add(blob)
    make_renditions(blob.sha256)


def test_the_stores_shelf_photo_shows_at_that_store_and_stands_in_for_a_missing_one(bakery):
    bread_here = StockItem.objects.get(store=bakery.store, product=bakery.bread)
    give_shelf_photo(bread_here)
    client = at_the_bakery(bakery)
    # The bread has no catalog photo: at this store its card shows the shelf photo.
    bread = card_of(client.get("/products/").content.decode(), bakery.bread.pk)
    assert re.search(r'<img class="picture" src="/media/\S+-thumbnail\.webp"', bread)
    page = client.get(f"/products/{bakery.bread.pk}").content.decode()
    assert re.search(r'<div class="product-media"><img [^>]*-medium\.webp', page)
    assert 'id="shelf-photos"' not in page  # the one shelf photo is already the main one
    # With no store chosen the shop's own photo is not shown.
    anywhere = Client().get(f"/products/{bakery.bread.pk}").content.decode()
    assert "<img" not in anywhere.split('class="product-media"')[1].split("</div>")[0]

    # A product with a catalog photo shows the shelf photos beside it, captioned.
    give_photo(bakery.butter)
    butter_here = StockItem.objects.get(store=bakery.store, product=bakery.butter)
    give_shelf_photo(butter_here)
    page = client.get(f"/products/{bakery.butter.pk}").content.decode()
    gallery = page.split('id="shelf-photos"')[1].split("</figure>")[0]
    assert "On the shelf at Maple Street Bakery" in gallery
    assert 'alt="Amul Butter 500 g on the shelf at Maple Street Bakery"' in gallery
    assert 'loading="lazy"' in gallery and 'width="120" height="120"' in gallery


def test_a_running_sale_shows_on_home_shelf_and_search_with_days_and_hours_left(bakery):
    now = timezone.now()
    FlashSale.objects.create(
        store=bakery.store,
        product=bakery.butter,
        title="Butter week",
        sale_price=Decimal("199.00"),
        quantity_allotted=5,
        per_customer_limit=2,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(days=6, hours=23, minutes=30),
    )
    client = at_the_bakery(bakery)
    home = client.get("/").content.decode()
    assert 'id="flash-sales"' in home
    for html in (
        home,
        client.get("/products/").content.decode(),
        client.get("/products/?q=butter").content.decode(),
    ):
        card = card_of(html, bakery.butter.pk)
        assert "Flash sale" in card and "INR 199.00" in card
        assert '<s class="muted" data-price>INR 275.00</s>' in card
        assert "Ends in 6 d 23 h" in card
    product = client.get(f"/products/{bakery.butter.pk}").content.decode()
    assert re.search(r"<time data-countdown[^>]*>6 d 23 h</time>", product)
    # The bread is not on sale: its card shows its own price only.
    assert "Flash sale" not in card_of(client.get("/products/").content.decode(), bakery.bread.pk)


def test_a_sold_out_sale_is_not_advertised_and_without_a_store_the_home_page_points_to_it(
    bakery,
):
    now = timezone.now()
    sale = FlashSale.objects.create(
        store=bakery.store,
        product=bakery.butter,
        sale_price=Decimal("199.00"),
        quantity_allotted=2,
        per_customer_limit=2,
        starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=2),
    )
    home = Client().get("/").content.decode()
    assert "Flash sales are running: pick a store above to see them." in home
    FlashSale.objects.filter(pk=sale.pk).update(sold=2)
    client = at_the_bakery(bakery)
    assert 'id="flash-sales"' not in client.get("/").content.decode()
    assert "Flash sale" not in card_of(client.get("/products/").content.decode(), bakery.butter.pk)
