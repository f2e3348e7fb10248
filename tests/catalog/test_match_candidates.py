"""Match candidates survive what people type: typos, joined words, abbreviations, scripts
and Hindi words for English ones; the scorer weighs words with the catalog's statistics."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shelfwatch.catalog.matching import catalog_stats, find_candidates
from shelfwatch.catalog.models import Product
from shelfwatch.catalog.products import build_search_text
from shelfwatch.catalog.similarity import ProductRecord

pytestmark = pytest.mark.django_db


def stored(name: str, brand: str, amount: str, unit: str, **fields) -> Product:
    product = Product(
        name=name,
        brand=brand,
        net_quantity=Decimal(amount),
        net_unit=unit,
        status="verified",
        **fields,
    )
    product.search_text = build_search_text(product, {})
    product.save()
    return product


@pytest.fixture
def shelf() -> dict[str, Product]:
    return {
        "butter": stored("Amul Butter", "Amul", "500", "g"),
        "ghee": stored("Amul Pure Ghee", "Amul", "1", "l"),
        "salt": stored("Tata Salt", "Tata", "1", "kg"),
        "turmeric": stored("Tata Sampann Turmeric Powder", "Tata Sampann", "200", "g"),
        "chilli": stored("Tata Sampann Red Chilli Powder", "Tata Sampann", "200", "g"),
        "goodday": stored("Britannia Good Day Cashew Cookies", "Britannia", "200", "g"),
        "premium": stored("Taj Mahal Premium Tea", "Brooke Bond", "500", "g"),
    }


def top(name: str, brand: str = "", amount: str | None = None, unit: str = "") -> list[str]:
    found = find_candidates(
        principal=None,
        name=name,
        brand=brand,
        net_quantity=Decimal(amount) if amount else None,
        net_unit=unit,
    )
    return [c.name for c in found]


@pytest.mark.parametrize(
    ("name", "brand", "amount", "unit", "expected"),
    [
        ("Amul Buttr", "Amul", "500", "g", "Amul Butter"),  # a letter dropped
        ("Tata Slat", "Tata", "1", "kg", "Tata Salt"),  # two letters swapped
        (
            "Britannia Goodday Cashew Cookies",
            "Britannia",
            "200",
            "g",
            "Britannia Good Day Cashew Cookies",
        ),
        ("Taj Mahal Prem Tea", "Brooke Bond", "500", "g", "Taj Mahal Premium Tea"),
        ("अमूल मक्खन", "", "500", "g", "Amul Butter"),  # Devanagari, Hindi word
        ("டாடா சம்பன் மஞ்சள் தூள்", "", "200", "g", "Tata Sampann Turmeric Powder"),  # Tamil
        ("Tata Sampann Haldi Powder", "Tata Sampann", "200", "g", "Tata Sampann Turmeric Powder"),
    ],
)
def test_the_existing_product_is_the_best_candidate(shelf, name, brand, amount, unit, expected):
    found = top(name, brand, amount, unit)
    assert found and found[0] == expected, found


def test_a_typo_of_a_stored_product_is_a_likely_duplicate(shelf):
    found = find_candidates(
        principal=None, name="Amul Buttr", brand="Amul", net_quantity=Decimal(500), net_unit="g"
    )
    assert found[0].score >= 0.5


def test_another_product_of_the_same_brand_is_not_a_likely_duplicate(shelf):
    found = find_candidates(
        principal=None,
        name="Tata Sampann Haldi Powder",
        brand="Tata Sampann",
        net_quantity=Decimal(200),
        net_unit="g",
    )
    chilli = [c for c in found if c.name == "Tata Sampann Red Chilli Powder"]
    assert not chilli or chilli[0].score < 0.5


def test_catalog_statistics_count_products_holding_each_word(shelf):
    stats = catalog_stats([ProductRecord(name="Tata Sampann Turmeric Powder", brand="Tata")])
    assert stats.documents >= len(shelf)
    assert stats.frequencies["tata"] == 3  # Tata Salt and both Tata Sampann products
    assert stats.frequencies["turmeric"] == 1
    # A word held by fewer products weighs more.
    assert stats.idf("turmeric") > stats.idf("tata")


def test_the_product_meant_is_scored_among_many_of_its_brand(shelf):
    # More products share the brand than the model scores: the quick text comparison
    # must keep the one meant among those scored.
    for i in range(40):
        stored(f"Amul Flavoured Drink Variety {i}", "Amul", "200", "ml")
    assert top("Amul Drink Buttr", "Amul", "500", "g")[0] == "Amul Butter"
    assert top("Amul Drink Butter", "Amul", "500", "g")[0] == "Amul Butter"
