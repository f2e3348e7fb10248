"""Search that copes with misspellings and broad words, on SQLite and PostgreSQL alike.

A query that finds nothing because of words no product holds is retried with those words
corrected against the catalog's vocabulary, and the response says so; a broad query is
listed in catalog order instead of ranking every match.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.db import connection

from shelfwatch.catalog import search, vocabulary
from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.catalog.products import build_search_text

pytestmark = pytest.mark.django_db

PRODUCTS = [
    {"name": "Everest Garam Masala 100 g", "brand": "Everest"},
    {"name": "MDH Chana Masala 100 g", "brand": "MDH"},
    {"name": "Sri Ganesh Masale Turmeric Powder 200 g", "brand": "Sri Ganesh Masale"},
    {"name": "Tata Sugar 1 kg", "brand": "Tata"},
    {"name": "Parle Glucose Biscuits 100 g", "brand": "Parle"},
    {
        "name": "Amul Butter 500 g",
        "brand": "Amul",
        "barcode": "8901262010016",
        "regional_names": {"hi-IN": ["अमूल मक्खन"], "ta-IN": ["அமுல் வெண்ணெய்"]},
    },
]


@pytest.fixture
def catalog(callers):
    for product in PRODUCTS:
        response = callers["admin"].post("/api/v1/products", {**product, "confirm_new": True})
        assert response.status_code == 201, response.json()
    return callers


def found(caller, query: str, **params) -> dict:
    extra = "".join(f"&{key}={value}" for key, value in params.items())
    response = caller.get(f"/api/v1/products?q={quote(query)}{extra}")
    assert response.status_code == 200, response.json()
    body = response.json()
    body["names"] = [item["name"] for item in body["items"]]
    return body


def test_a_misspelt_word_finds_the_product_and_reports_the_correction(catalog):
    body = found(catalog["anon"], "masalla")
    assert body["corrected_query"] == "masala"
    assert sorted(body["names"]) == ["Everest Garam Masala 100 g", "MDH Chana Masala 100 g"]
    # One wrong word among right ones: only that word changes.
    body = found(catalog["anon"], "Amul Buttr")
    assert body["corrected_query"] == "amul butter"
    assert body["names"] == ["Amul Butter 500 g"]
    # A swap of neighbouring letters is one edit.
    assert found(catalog["anon"], "sugra")["corrected_query"] == "sugar"


def test_a_correctly_spelt_word_is_never_corrected(catalog):
    plain = found(catalog["anon"], "masala")
    assert plain["corrected_query"] is None
    assert len(plain["names"]) == 2
    # "masale" is one letter from "masala" but is a catalog word itself.
    masale = found(catalog["anon"], "masale")
    assert masale["corrected_query"] is None
    assert masale["names"] == ["Sri Ganesh Masale Turmeric Powder 200 g"]
    # A word prefix matches as typed.
    assert found(catalog["anon"], "masal")["corrected_query"] is None
    # Every word known but no product holds them together: nothing to correct.
    assert found(catalog["anon"], "sugar masala") == {
        "items": [],
        "next_cursor": None,
        "corrected_query": None,
        "names": [],
    }


def test_a_word_only_unseen_products_hold_is_neither_found_nor_corrected(catalog):
    catalog["staff_a"].post(
        "/api/v1/products", {"name": "Kesari Saffron Strands 1 g", "confirm_new": True}
    )
    assert found(catalog["staff_a"], "saffron")["names"] == ["Kesari Saffron Strands 1 g"]
    # The pending product's word is in the catalog, so it is not corrected for anyone...
    anon = found(catalog["anon"], "saffron")
    assert anon["names"] == [] and anon["corrected_query"] is None
    # ...and a misspelling of it tells an anonymous caller nothing about it.
    anon = found(catalog["anon"], "safron")
    assert anon["names"] == [] and anon["corrected_query"] is None
    assert found(catalog["staff_a"], "safron")["corrected_query"] == "saffron"


def test_a_new_products_words_are_found_and_corrected_to_at_once(catalog):
    # Warm the vocabulary first, so a copy held from before the write would be stale.
    assert found(catalog["anon"], "masalla")["corrected_query"] == "masala"
    assert found(catalog["anon"], "zafrani")["names"] == []
    created = catalog["admin"].post(
        "/api/v1/products", {"name": "Zafrani Kesar Peda 250 g", "confirm_new": True}
    )
    assert created.status_code == 201
    assert found(catalog["anon"], "zafrani")["names"] == ["Zafrani Kesar Peda 250 g"]
    body = found(catalog["anon"], "zafranni peda")
    assert body["corrected_query"] == "zafrani peda"
    assert body["names"] == ["Zafrani Kesar Peda 250 g"]
    # Renamed away, its old word is no longer a correction.
    product_id = created.json()["id"]
    catalog["admin"].patch(f"/api/v1/products/{product_id}", {"name": "Kesar Peda 250 g"})
    body = found(catalog["anon"], "zafranni")
    assert body["names"] == [] and body["corrected_query"] is None


def test_regional_scripts_search_and_correct_within_their_script(catalog):
    assert found(catalog["anon"], "मक्खन")["names"] == ["Amul Butter 500 g"]
    assert found(catalog["anon"], "வெண்ணெய்")["names"] == ["Amul Butter 500 g"]
    # A Devanagari typo is corrected to the Devanagari word...
    body = found(catalog["anon"], "मक्खम")
    assert body["corrected_query"] == "मक्खन"
    assert body["names"] == ["Amul Butter 500 g"]
    # ...and never to a Latin one, however alike the code points: "butter" in Devanagari
    # letters has no Devanagari neighbour.
    body = found(catalog["anon"], "बटर")
    assert body["names"] == [] and body["corrected_query"] is None
    assert vocabulary.corrections(["बटरर"]) == {}
    # Tamil vowel signs are part of the word: a typo in one is still one edit.
    body = found(catalog["anon"], "வெண்ணேய்")
    assert body["corrected_query"] == "வெண்ணெய்"


def test_digits_barcodes_and_short_words_are_never_corrected(catalog):
    assert found(catalog["anon"], "890126")["names"] == ["Amul Butter 500 g"]
    body = found(catalog["anon"], "890127")  # no such barcode prefix: no guessing
    assert body["names"] == [] and body["corrected_query"] is None
    body = found(catalog["anon"], "amul 5000g")
    assert body["names"] == [] and body["corrected_query"] is None
    body = found(catalog["anon"], "sugr")  # four letters: one edit allowed
    assert body["corrected_query"] == "sugar"
    body = found(catalog["anon"], "tta")  # three letters: never corrected
    assert body["names"] == [] and body["corrected_query"] is None


def test_a_word_with_no_close_match_gives_an_empty_page(catalog):
    for query in ("xylophone", "qqqqqqqq", "!!!", "masalla xylophone"):
        body = found(catalog["anon"], query)
        assert body["items"] == [] and body["next_cursor"] is None
        assert body["corrected_query"] is None


def test_corrected_results_page_with_the_cursor(catalog):
    seen: list[str] = []
    cursor = ""
    while True:
        body = found(catalog["anon"], "masalla", limit=1, **({"cursor": cursor} if cursor else {}))
        assert body["corrected_query"] == "masala"
        seen += body["names"]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == ["Everest Garam Masala 100 g", "MDH Chana Masala 100 g"]


def _bulk_products(names: list[str]) -> None:
    products = [Product(name=name, status=VerificationStatus.VERIFIED) for name in names]
    for product in products:
        product.search_text = build_search_text(product, {})
    Product.objects.bulk_create(products)


@pytest.mark.parametrize("window", [3, 6, 1000])
def test_broad_queries_list_every_match_once_in_catalog_order(callers, monkeypatch, window):
    _bulk_products([f"Crunchy Mixture {'Spicy ' * (n % 3)}{n}" for n in range(12)])
    # Enough other words for PostgreSQL's statistics to trust its word frequencies.
    _bulk_products([f"Plain Rusk r{n}" for n in range(150)])
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # the planner's estimates decide, as at scale
            cursor.execute("ANALYZE catalog_product")
    monkeypatch.setattr(search, "RANK_LIMIT", 10)
    # PostgreSQL looks for a page among the next `window` products: with 3 it finds none
    # and ranks the first page; with 6 the first two pages come from that walk and the last
    # from sorting the rest; with 1000 every page comes from the walk.
    monkeypatch.setattr(search, "PG_WINDOW", window)
    ids = [p.pk for p in Product.objects.filter(name__startswith="Crunchy").order_by("pk")]
    seen: list[int] = []
    cursor = ""
    while True:
        suffix = f"&cursor={cursor}" if cursor else ""
        body = callers["anon"].get(f"/api/v1/products?q=mixture&limit=5{suffix}").json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == ids and len(seen) == len(set(seen))
    if window > 3 or connection.vendor != "postgresql":
        assert seen == ids  # catalog order throughout
    # Under the limit, results are ranked: the word repeated ranks first.
    narrow = callers["anon"].get("/api/v1/products?q=spicy").json()["items"]
    assert len(narrow) == 8 and narrow[0]["name"].count("Spicy") == 2


def test_word_forms_expand_to_the_forms_the_catalog_holds(catalog):
    assert vocabulary.word_forms("biscuit") == ["biscuits"]
    assert vocabulary.word_forms("biscuits") == ["biscuits"]
    assert vocabulary.word_forms("sugar") == ["sugar"]
    assert vocabulary.word_forms("cookie") == []
    assert vocabulary.word_forms("मक्खन") == ["मक्खन"]
    assert vocabulary.forms_in_catalog(["biscuit", "500", "cookies", "tata"]) == {
        "biscuit": ["biscuits"],
        "500": ["500"],
        "cookies": [],
        "tata": ["tata"],
    }
    catalog["admin"].post("/api/v1/products", {"name": "Parle Biscuit Mini", "confirm_new": True})
    assert vocabulary.word_forms("biscuits") == ["biscuits", "biscuit"]
    # Ready for a whole-word lookup that must not miss a stored plural.
    matched = search.word_matches(
        Product.objects.all(), required=[vocabulary.word_forms("biscuit")], prefix=False
    )
    assert {p.name for p in matched} == {"Parle Glucose Biscuits 100 g", "Parle Biscuit Mini"}


def test_refreshing_the_vocabulary_recounts_it(catalog):
    if connection.vendor != "postgresql":
        assert vocabulary.refresh_vocabulary() == 0  # the index is the vocabulary
        return
    with connection.cursor() as cursor:
        cursor.execute("UPDATE catalog_search_word SET documents = 0 WHERE word = 'masala'")
        cursor.execute("INSERT INTO catalog_search_word VALUES ('stale', 5)")
    assert vocabulary.refresh_vocabulary() > 10
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT word, documents FROM catalog_search_word WHERE word = ANY (%s)",
            [["masala", "stale"]],
        )
        assert dict(cursor.fetchall()) == {"masala": 2}
