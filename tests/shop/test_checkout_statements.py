"""Statement budgets of the flash-sale rush path: adding a sale product to the cart and a
one-line checkout, over HTTP, as a server runs them (outside any test transaction), every
statement counted: BEGIN and COMMIT included."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from shelfwatch.shop.models import FlashSale

pytestmark = pytest.mark.django_db(transaction=True)


def _add_budget() -> int:
    """8 on PostgreSQL, where the hold's reservation, its cart line and the customer's
    count are one statement (data-modifying WITH); SQLite writes them one by one."""
    return 8 if connection.vendor == "postgresql" else 10


def _checkout_budget() -> int:
    """5 on PostgreSQL, where the stock move writes its ledger rows, events and the sale's
    counters in its UPDATE's statement, and the order, its lines, history, emptied cart lines and
    converted holds are one statement too (data-modifying WITH). SQLite takes eight more:
    those five writes one by one, the ledger rows, the events and their topics in
    statements of their own, and the database task backend used with it writes the
    events' dispatch task in the transaction (the outbox row)."""
    return 5 if connection.vendor == "postgresql" else 14


def _sent_with_commit(sql: str) -> bool:
    """Whether the log shows `sql` sent with the COMMIT: in its text with client-side
    binding; with server-side binding the COMMIT follows it in the same pipeline, which
    the query log does not show."""
    if connection.settings_dict.get("OPTIONS", {}).get("server_side_binding"):
        return True
    return sql.endswith("; COMMIT")


def _statements(queries) -> list[str]:
    return [query["sql"] for query in queries.captured_queries]


def _report(label: str, statements: list[str]) -> str:
    if os.environ.get("SHOW_STATEMENTS"):
        print(f"\n{label}: {len(statements)}")
        for number, sql in enumerate(statements, 1):
            print(f"  {number:2} {sql[:160]}")
    return "\n".join(statements)


@pytest.fixture
def rush(sale, shoppers):
    """A customer in the middle of a rush: signed in before (the user is cached), has
    bought once (the cart exists, empty), and the sale's units-left figure went out less
    than a second ago (later figures are only marked due, as under load)."""
    sale.per_customer_limit = 5
    sale.save()
    ((_user, headers),) = shoppers(1)
    client = Client(headers=headers)
    body = {"store_id": sale.store_id, "product_id": sale.product_id, "quantity": 1}
    assert (
        client.post("/api/v1/cart/lines", body, content_type="application/json").status_code == 201
    )
    paid = client.post(
        "/api/v1/checkout",
        {},
        content_type="application/json",
        headers={"Idempotency-Key": "first"},
    )
    assert paid.status_code == 201, paid.content
    FlashSale.objects.filter(pk=sale.pk).update(units_left_at=timezone.now(), units_left_due=True)
    return client, body


def test_adding_a_flash_sale_unit_stays_within_its_statement_budget(rush):
    client, body = rush
    with CaptureQueriesContext(connection) as queries:
        added = client.post("/api/v1/cart/lines", body, content_type="application/json")
    assert added.status_code == 201, added.content
    assert added.json()["stores"][0]["lines"][0]["price_kind"] == "sale"
    statements = _statements(queries)
    assert len(statements) <= _add_budget(), _report("add to cart", statements)
    _report("add to cart", statements)


def test_a_one_line_checkout_stays_within_its_statement_budget(rush, sale):
    client, body = rush
    assert (
        client.post("/api/v1/cart/lines", body, content_type="application/json").status_code == 201
    )
    with CaptureQueriesContext(connection) as queries:
        paid = client.post(
            "/api/v1/checkout",
            {},
            content_type="application/json",
            headers={"Idempotency-Key": "second"},
        )
    assert paid.status_code == 201, paid.content
    order = paid.json()
    assert order["lines"][0]["flash_sale_id"] == sale.pk
    assert [change["status"] for change in order["history"]] == ["pending"]
    statements = _statements(queries)
    assert len(statements) <= _checkout_budget(), _report("checkout", statements)
    _report("checkout", statements)


# What may run between taking the hot stock row and the commit: the ledger rows (SQLite
# writes them in a statement of their own), the events of the change and their dispatch
# task, and the sale's counters (the other hot row, always locked last).
AFTER_STOCK_ALLOWED = (
    '"inventory_stockmovement"',
    '"events_event"',
    '"events_eventtopic"',
    '"django_tasks_database_dbtaskresult"',
    '"shop_flashsale"',
)


def test_a_checkout_takes_the_stock_row_after_everything_but_its_events_and_sale_counters(
    rush, sale
):
    # Every other checkout of the product queues on the stock row from our UPDATE until
    # our commit, so the order, its lines, the cart and the hold are written before it.
    client, body = rush
    assert (
        client.post("/api/v1/cart/lines", body, content_type="application/json").status_code == 201
    )
    with CaptureQueriesContext(connection) as queries:
        paid = client.post(
            "/api/v1/checkout",
            {},
            content_type="application/json",
            headers={"Idempotency-Key": "ordered"},
        )
    assert paid.status_code == 201, paid.content
    statements = _statements(queries)
    taken = next(n for n, sql in enumerate(statements) if 'UPDATE "inventory_stockitem"' in sql)
    commit = next(n for n, sql in enumerate(statements) if n > taken and sql == "COMMIT")
    between = statements[taken + 1 : commit]
    assert all(any(table in sql for table in AFTER_STOCK_ALLOWED) for sql in between), _report(
        "checkout", statements
    )
    if connection.vendor == "postgresql":
        # The events and the sale's counters ride in the stock move's statement, and the
        # COMMIT goes in the same round trip: nothing runs between them.
        assert between == [], _report("checkout", statements)
        assert '"shop_flashsale"' in statements[taken], statements[taken]
        assert _sent_with_commit(statements[taken]), statements[taken][-80:]
    assert any('UPDATE "shop_reservation"' in sql for sql in statements[:taken])
