"""The recommendation rows on the storefront: the product page and the cart page, in the
shop's own cards, in English and Hindi."""

from __future__ import annotations

import re

import pytest

from shelfwatch.recommend.refresh import refresh_all


@pytest.fixture
def history(grocery):
    for _ in range(3):
        grocery.order(["bread", "jam", "rusk"])
        grocery.order(["bread", "butter", "curd"])
        grocery.order(["turmeric", "chilli"])
    refresh_all()
    return grocery


def shop_at(client, store) -> None:
    client.post("/store/", {"store": store.pk, "next": "/"})


def section(html: str, section_id: str) -> str:
    found = re.search(rf'<section[^>]*id="{section_id}".*?</section>', html, re.S)
    return found.group(0) if found else ""


def card_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="card[^"]*" data-live-product="(\d+)"', html)]


def test_the_product_page_shows_what_goes_with_it_in_stock_at_the_chosen_store(client, history):
    g = history
    shop_at(client, g.here)

    html = client.get(f"/products/{g['bread'].pk}").content.decode()

    together = section(html, "bought-together")
    assert "Frequently bought together" in together
    # Butter is out of stock here and rusk everywhere: neither is offered on this page.
    assert sorted(card_ids(together)) == sorted([g["jam"].pk, g["curd"].pk])
    assert "INR 50.00" in together and "In stock" in together
    assert f'href="/products/{g["jam"].pk}"' in together


def test_without_a_store_the_rows_show_what_some_store_has(client, history):
    g = history

    html = client.get(f"/products/{g['turmeric'].pk}").content.decode()

    similar = section(html, "similar-products")
    assert "Similar products" in similar
    assert set(card_ids(similar)) == {g["haldi"].pk, g["chilli"].pk}
    assert card_ids(section(html, "bought-together")) == [g["chilli"].pk]


def test_a_product_with_nothing_to_recommend_shows_no_empty_rows(client, history):
    html = client.get(f"/products/{history['milk'].pk}").content.decode()

    assert 'id="bought-together"' not in html


def test_the_cart_suggests_what_goes_with_its_lines_at_that_store(client, history):
    g = history
    shop_at(client, g.here)
    client.post("/cart/add", {"product": g["bread"].pk, "quantity": 1})

    html = client.get("/cart/").content.decode()

    row = section(html, f"add-these-too-{g.here.pk}")
    assert "Add these too" in row
    assert sorted(card_ids(row)) == sorted([g["jam"].pk, g["curd"].pk])


def test_the_rows_speak_hindi(client, history):
    g = history
    shop_at(client, g.here)
    client.cookies["django_language"] = "hi"

    html = client.get(f"/products/{g['turmeric'].pk}", HTTP_ACCEPT_LANGUAGE="hi").content.decode()

    similar = section(html, "similar-products")
    assert card_ids(similar) == [g["chilli"].pk]
    assert "लाल मिर्च" in similar  # the regional name on the card
