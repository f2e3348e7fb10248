"""Looking a barcode up at Open Food Facts (a real HTTP fake on loopback): found, not found,
timeouts, their 429, our own rate limit, the User-Agent, the guarded client."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.fakes.openfoodfacts import OpenFoodFactsFake

pytestmark = pytest.mark.django_db

POWDER = "7622210288257"  # the product of the API answer kept in tests/data
UNKNOWN = "4006381333931"  # a valid EAN-13 none of the samples has
LOOKUP = "/api/v1/catalog/lookup/"


@pytest.fixture
def off(settings):
    """The fake API, with settings pointing at it and loopback opened for the guarded client."""
    with OpenFoodFactsFake() as fake:
        settings.OFF_BASE_URL = fake.base_url
        settings.OFF_CONTACT_EMAIL = "catalog@example.com"
        settings.OFF_TIMEOUT = 2
        settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
        yield fake


@pytest.fixture
def staff(callers):
    return callers["staff_a"]


def gtin(n: int) -> str:
    from shelfwatch.catalog.barcodes import check_digit

    body = f"400638{n:06d}"
    return body + str(check_digit(body))


def products() -> int:
    from shelfwatch.catalog.models import Product

    return Product.objects.count()


def test_a_barcode_only_open_food_facts_knows_becomes_a_pending_product(off, staff):
    from shelfwatch.catalog.models import Category, Product

    drinks = Category.objects.create(name="Drinks", slug="drinks")
    leaf = Category.objects.create(name="Chocolate Powders", slug="cocoa", parent=drinks)
    response = staff.post(LOOKUP + POWDER)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["created"], body["source"], body["barcode"]) == (True, "openfoodfacts", POWDER)
    product = Product.objects.get(pk=body["product"]["id"])
    assert (product.name, product.brand, product.status) == ("Grand Arôme", "Poulain", "pending")
    assert (product.net_quantity, product.net_unit, product.category) == (Decimal(800), "g", leaf)
    assert dict(product.regional_names.values_list("language", "name")) == {"fr-FR": "Grand Arôme"}
    facts = product.attributes["openfoodfacts"]
    assert facts["image_url"].startswith("https://static.openfoodfacts.org/images/products/")
    assert facts["url"] == f"{off.base_url}/product/{POWDER}"

    (call,) = off.calls()
    assert call.path == f"/api/v2/product/{POWDER}.json"
    fields = call.arg("fields").split(",")
    assert {"product_name", "brands", "quantity", "categories_tags", "product_name_hi"} <= set(
        fields
    )
    # Asked again, the catalog answers by itself.
    again = staff.post(LOOKUP + POWDER)
    assert again.status_code == 200 and again.json()["source"] == "catalog"
    assert len(off.calls()) == 1 and products() == 1


def test_every_request_names_shelfwatch_and_its_contact_in_the_user_agent(off, staff):
    from shelfwatch import __version__

    staff.post(LOOKUP + POWDER)
    agent = off.last_call().header("user-agent")
    assert agent == f"Shelfwatch/{__version__} (catalog@example.com)"


def test_an_unknown_barcode_is_a_clear_404_and_creates_nothing(off, staff):
    response = staff.post(LOOKUP + UNKNOWN)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert (response.json()["code"], response.json()["barcode"]) == ("unknown_barcode", UNKNOWN)
    assert off.last_call().status == 404  # their own "product not found" answer
    assert products() == 0


def test_upc_and_ean8_codes_are_asked_as_open_food_facts_spells_them(off, staff):
    from shelfwatch.imports.openfoodfacts.client import api_code

    assert api_code("0000096385074") == "96385074"
    assert api_code("0012345678905") == "0012345678905"
    assert api_code("12345678901231") == "12345678901231"
    staff.post(LOOKUP + "96385074")
    assert off.last_call().path == "/api/v2/product/96385074.json"


def test_bad_input_is_refused_without_asking_anyone(off, staff, callers):
    assert staff.post(LOOKUP + "12345").json()["code"] == "invalid_barcode"
    assert staff.post(LOOKUP + "abc%00def").status_code == 422
    assert staff.post(LOOKUP + "4" * 33).json()["code"] == "validation_error"
    assert callers["customer"].post(LOOKUP + POWDER).status_code == 403
    assert callers["anon"].post(LOOKUP + POWDER).status_code == 401
    assert off.calls() == [] and products() == 0


def test_a_slow_answer_times_out_as_unavailable(off, staff, settings):
    settings.OFF_TIMEOUT = 0.3
    off.slow_next(seconds=2)
    response = staff.post(LOOKUP + POWDER)
    assert response.status_code == 502
    assert (response.json()["code"], response.json()["reason"]) == (
        "openfoodfacts_unavailable",
        "fetch_timeout",
    )
    assert products() == 0


def test_their_429_holds_every_lookup_off_for_their_retry_after(off, staff):
    off.rate_limit_next(retry_after=30)
    response = staff.post(LOOKUP + POWDER)
    assert response.status_code == 429
    assert response.json()["code"] == "openfoodfacts_throttled"
    assert response["Retry-After"] == "30"
    # The pause is shared (in the cache): the next lookup does not even reach them.
    again = staff.post(LOOKUP + POWDER)
    assert again.status_code == 429 and int(again["Retry-After"]) <= 30
    assert len(off.calls()) == 1 and products() == 0


@pytest.mark.throttle_window(3600)
def test_our_own_rate_limit_is_kept_below_theirs(off, staff, settings):
    settings.OFF_RATE_LIMIT = "3/h"  # an hour's window, so five quick lookups share one
    off.requests_per_minute = 100
    codes = [gtin(n) for n in range(5)]
    answers = [staff.post(LOOKUP + code) for code in codes]
    assert [a.status_code for a in answers] == [404, 404, 404, 429, 429]
    assert answers[3].json()["code"] == "openfoodfacts_rate_limited"
    assert 1 <= int(answers[3]["Retry-After"]) <= 3600
    assert len(off.calls()) == 3


def test_the_fake_limits_like_their_servers(off):
    import httpx

    off.requests_per_minute = 2
    url = off.url(f"/api/v2/product/{POWDER}.json")
    statuses = [httpx.get(url).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


def test_without_a_contact_address_nothing_is_sent(off, staff, settings):
    settings.OFF_CONTACT_EMAIL = ""
    response = staff.post(LOOKUP + POWDER)
    assert (response.status_code, response.json()["code"]) == (
        502,
        "openfoodfacts_not_configured",
    )
    assert off.calls() == []


def test_the_guarded_client_refuses_a_private_base_url_unless_allowed(off, staff, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    response = staff.post(LOOKUP + POWDER)
    assert response.status_code == 502
    assert response.json()["reason"] == "address_not_allowed"
    assert off.calls() == [] and products() == 0
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert staff.post(LOOKUP + POWDER).status_code == 201


def test_a_product_the_caller_may_not_see_is_named_only_by_its_id(off, callers, staff):
    from shelfwatch.accounts.models import User
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user
    from shelfwatch.imports.openfoodfacts.lookup import lookup_barcode

    owner = User.objects.get(email="owner-b@example.com")
    made = lookup_barcode(principal=Principal.of(active_user(owner.pk), "t"), barcode=POWDER)
    response = staff.post(LOOKUP + POWDER)
    assert response.status_code == 409
    assert response.json()["existing_product_id"] == made.product.pk
    assert "Grand" not in response.content.decode()


def test_the_quiet_form_for_imports_gives_none_when_nobody_can_help(off, callers, settings):
    from shelfwatch.accounts.models import User
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.accounts.user_cache import active_user
    from shelfwatch.imports.openfoodfacts.lookup import product_for_unknown_barcode

    user = User.objects.get(email="staff-a@example.com")
    principal = Principal.of(active_user(user.pk), "import")
    assert product_for_unknown_barcode(principal=principal, barcode=UNKNOWN) is None
    assert product_for_unknown_barcode(principal=principal, barcode="123") is None
    off.fail_next(status=503)
    assert product_for_unknown_barcode(principal=principal, barcode=POWDER) is None
    found = product_for_unknown_barcode(principal=principal, barcode=POWDER)
    assert found is not None and found.barcode == POWDER and found.status == "pending"


def test_a_spreadsheet_row_with_only_a_barcode_is_filled_in_from_open_food_facts(
    off, upload, run, store_a
):
    from shelfwatch.imports.models import ImportRow
    from shelfwatch.inventory.models import StockItem

    content = f"Barcode,Qty\n{POWDER},6\n{UNKNOWN},2\n".encode()
    job = run(upload(content).json()["id"])
    outcomes = {row.line: row for row in ImportRow.objects.filter(job=job)}
    assert outcomes[2].status == "created"
    item = StockItem.objects.get(pk=outcomes[2].item_id)
    assert (item.store_id, item.quantity, item.product.name) == (store_a.pk, 6, "Grand Arôme")
    assert item.product.status == "pending"
    assert (outcomes[3].status, outcomes[3].code) == ("failed", "name_required")
    assert sorted(call.path for call in off.calls()) == sorted(
        f"/api/v2/product/{code}.json" for code in (POWDER, UNKNOWN)
    )
