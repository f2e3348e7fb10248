"""A day rolls up from the source tables into the daily figures, and rolling it up again
replaces it."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from shelfwatch.analytics.models import (
    AlertChannelDay,
    ProductDay,
    SearchMissDay,
    StoreDay,
    Visit,
)
from shelfwatch.analytics.rollup import roll_up_day
from shelfwatch.analytics.visitors import today
from shelfwatch.analytics.zones import local_day
from tests.analytics.conftest import BROWSER, GOOGLEBOT, PHONE, choose

pytestmark = pytest.mark.django_db


def store_today(store):
    """The date at the store now: its views and orders count on its own day."""
    return local_day(store.pk)


def view(client, product, agent=BROWSER):
    assert client.get(f"/products/{product.pk}", HTTP_USER_AGENT=agent).status_code == 200


def test_views_visitors_and_bots_roll_up_per_product_and_store(recorder, shelf, store_a):
    loaf, chai = shelf
    first, second, crawler = Client(), Client(), Client()
    for client in (first, second, crawler):
        choose(client, store_a)
    view(first, loaf)
    view(first, loaf)
    view(first, chai)
    view(second, loaf, PHONE)
    view(crawler, loaf, GOOGLEBOT)
    view(Client(), chai)  # no store chosen
    recorder.flush()

    # The store's views count on its local date, the one with no store on the UTC date
    # (the same date but in the evening UTC, when Kolkata is on the next one).
    written = sum(roll_up_day(day=d)["product_days"] for d in {store_today(store_a), today()})
    assert written == 3
    rows = {
        (row.store_id, row.product_id): (row.views, row.bot_views, row.visitors)
        for row in ProductDay.objects.filter(
            Q(day=store_today(store_a), store__isnull=False) | Q(day=today(), store__isnull=True)
        )
    }
    assert rows == {
        (store_a.pk, loaf.pk): (3, 1, 2),
        (store_a.pk, chai.pk): (1, 0, 1),
        (None, chai.pk): (1, 0, 1),
    }
    day = StoreDay.objects.get(store=store_a, day=store_today(store_a))
    assert (day.views, day.bot_views, day.visitors) == (4, 1, 2)


def test_rolling_a_day_up_again_replaces_it(recorder, shelf, store_a):
    client = Client()
    choose(client, store_a)
    view(client, shelf[0])
    recorder.flush()
    roll_up_day(day=store_today(store_a))
    roll_up_day(day=store_today(store_a))
    assert ProductDay.objects.get().views == 1

    view(client, shelf[0])
    recorder.flush()
    roll_up_day(day=store_today(store_a))
    assert ProductDay.objects.get().views == 2
    assert StoreDay.objects.get().views == 2


def test_views_of_a_product_deleted_before_the_roll_up_are_left_out(recorder, shelf, store_a):
    from shelfwatch.inventory.models import StockItem

    client = Client()
    choose(client, store_a)
    view(client, shelf[0])
    view(client, shelf[1])
    recorder.flush()
    StockItem.objects.filter(product=shelf[1]).delete()
    shelf[1].delete()
    roll_up_day(day=store_today(store_a))
    assert list(ProductDay.objects.values_list("product_id", flat=True)) == [shelf[0].pk]


def test_views_at_a_store_that_no_longer_exists_are_left_out_and_untracked_viewers_are_not_visitors(
    shelf, store_a
):
    loaf = shelf[0]
    day = date(2026, 3, 2)
    Visit.objects.bulk_create(
        [
            Visit(day=day, store_id=store_a.pk, product_id=loaf.pk, visitor="a"),
            Visit(day=day, store_id=store_a.pk, product_id=loaf.pk, visitor="a"),
            Visit(day=day, store_id=store_a.pk, product_id=loaf.pk, visitor=""),  # not tracked
            Visit(day=day, store_id=store_a.pk, product_id=loaf.pk, is_bot=True),
            Visit(day=day, store_id=None, product_id=loaf.pk, visitor="b"),
            Visit(day=day, store_id=store_a.pk + 1000, product_id=loaf.pk, visitor="c"),
        ]
    )
    assert roll_up_day(day=day)["product_days"] == 2
    rows = {
        (row.store_id, row.product_id): (row.views, row.bot_views, row.visitors)
        for row in ProductDay.objects.filter(day=day)
    }
    assert rows == {(store_a.pk, loaf.pk): (3, 1, 1), (None, loaf.pk): (1, 0, 1)}


def test_carts_checkouts_orders_and_revenue_count_shoppers_of_the_day(store_a, shelf, make_user):
    from shelfwatch.shop.models import Cart, CartLine, Order

    buyer = make_user("buyer@example.com")
    browsing = Cart.objects.create(session_key="visitor-1")
    CartLine.objects.create(
        cart=browsing, store=store_a, product=shelf[0], quantity=1, unit_price=Decimal("99")
    )
    CartLine.objects.create(
        cart=browsing, store=store_a, product=shelf[1], quantity=2, unit_price=Decimal("99")
    )
    money = {"currency": "INR", "subtotal": Decimal("10")}
    Order.objects.create(store=store_a, user=buyer, total=Decimal("150.50"), **money)
    Order.objects.create(store=store_a, user=buyer, total=Decimal("49.50"), **money)
    Order.objects.create(
        store=store_a, session_key="visitor-2", status="cancelled", total=Decimal("999"), **money
    )
    Order.objects.create(
        store=store_a,
        user=buyer,
        total=Decimal("70"),
        created_at=timezone.now() - timedelta(days=2),
        **money,
    )

    roll_up_day(day=store_today(store_a))
    day = StoreDay.objects.get(store=store_a, day=store_today(store_a))
    # Carts: the browsing visitor, the buyer and the cancelled order's visitor.
    assert (day.cart_sessions, day.checkout_sessions) == (3, 2)
    assert (day.orders, day.revenue) == (2, Decimal("200.00"))


def test_orders_with_neither_account_nor_session_are_each_their_own_shopper(store_a):
    from shelfwatch.shop.models import Order

    money = {"currency": "INR", "subtotal": Decimal("10"), "total": Decimal("10")}
    for _ in range(3):  # imported history, or an API client keeping no cookie
        Order.objects.create(store=store_a, **money)
    Order.objects.create(store=store_a, session_key="visitor-1", **money)
    Order.objects.create(store=store_a, session_key="visitor-1", **money)

    roll_up_day(day=store_today(store_a))
    day = StoreDay.objects.get(store=store_a, day=store_today(store_a))
    assert (day.cart_sessions, day.checkout_sessions, day.orders) == (4, 4, 5)


def test_a_restock_is_a_move_from_nothing_to_some(store_a, shelf):
    from shelfwatch.inventory.models import StockItem
    from shelfwatch.inventory.stock import move_stock, set_quantity

    item = StockItem.objects.get(store=store_a, product=shelf[0])
    set_quantity(item=item, quantity=0)  # sold out
    move_stock(item=item, delta=4, reason="restock")  # restock
    move_stock(item=item, delta=2, reason="restock")  # more of what was there
    set_quantity(item=item, quantity=0)
    set_quantity(item=item, quantity=1)  # restock
    roll_up_day(day=store_today(store_a))
    assert StoreDay.objects.get(store=store_a, day=store_today(store_a)).restocks == 2


def test_alerts_roll_up_per_channel_by_how_far_they_got(store_a, shelf, make_user):
    from shelfwatch.alerts.models import Subscription
    from shelfwatch.notify.models import Contact, Notification
    from shelfwatch.watch.models import Source, WatchedItem

    source, _ = Source.objects.get_or_create(
        store=store_a, defaults={"name": store_a.name, "kind": "internal"}
    )
    item = WatchedItem.objects.create(
        source=source, external_id=str(shelf[0].pk), product=shelf[0], name=shelf[0].name
    )
    other = WatchedItem.objects.create(
        source=Source.objects.create(name="Elsewhere", kind="jsonld", base_url="https://a.example"),
        external_id="x",
        name="Elsewhere",
    )
    now = timezone.now()
    contacts = [
        Contact.objects.create(channel=channel, address=f"{n}@example.com", verified_at=now)
        for n, channel in enumerate(["email", "email", "whatsapp", "whatsapp"])
    ]
    subs = [Subscription.objects.create(contact=c, item=item) for c in contacts]
    Subscription.objects.create(contact=contacts[0], item=other)  # not this store's
    for n, (sub, status) in enumerate(
        zip(subs, ["read", "failed", "delivered", "sent"], strict=True)
    ):
        Notification.objects.create(
            contact=sub.contact,
            channel=sub.contact.channel,
            template="watch.back_in_stock",
            kind="alert",
            subscription=sub,
            idempotency_key=f"k{n}",
            status=status,
        )
    roll_up_day(day=store_today(store_a))

    assert StoreDay.objects.get(store=store_a, day=store_today(store_a)).subscriptions == 4
    rows = {
        row.channel: (row.sent, row.delivered, row.read, row.failed)
        for row in AlertChannelDay.objects.filter(store=store_a)
    }
    assert rows == {"email": (1, 1, 1, 1), "whatsapp": (2, 1, 0, 0)}


def test_search_misses_roll_up_by_query(client, recorder, shelf, store_a):
    client.defaults["HTTP_USER_AGENT"] = BROWSER  # an empty agent counts as a bot
    choose(client, store_a)
    for q in ("Gluten free", "gluten   FREE", "kombucha"):
        assert client.get("/products/", {"q": q}).status_code == 200
    recorder.flush()
    roll_up_day(day=store_today(store_a))
    rows = dict(SearchMissDay.objects.filter(store=store_a).values_list("query", "searches"))
    assert rows == {"gluten free": 2, "kombucha": 1}
    assert StoreDay.objects.get(store=store_a).search_misses == 3


@pytest.mark.django_db(transaction=True)
def test_the_rollup_command_rolls_a_day_by_hand_and_refuses_a_bad_date(subprocess_env, store_a):
    from tests.ops.processes import run_shelfwatch

    StoreDay.objects.create(store=store_a, day=store_today(store_a) - timedelta(days=3), views=99)
    done = run_shelfwatch(
        ["analytics-rollup", "--day", (store_today(store_a) - timedelta(days=3)).isoformat()],
        subprocess_env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "rolled up" in done.stdout
    # Nothing was recorded that day: the stale figures are replaced by none.
    assert not StoreDay.objects.exists()

    bad = run_shelfwatch(["analytics-rollup", "--day", "03/12/2026"], subprocess_env, timeout=120)
    assert bad.returncode == 2 and "YYYY-MM-DD" in bad.stderr


def test_a_day_rolls_up_in_the_same_number_of_queries_for_few_or_many_visits(
    recorder, shelf, store_a
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shelfwatch.analytics.models import Visit

    def visits(count: int) -> None:
        Visit.objects.bulk_create(
            Visit(
                day=store_today(store_a),
                store_id=store_a.pk,
                product_id=shelf[n % 2].pk,
                visitor=f"{n % 37:032x}",
            )
            for n in range(count)
        )

    visits(10)
    with CaptureQueriesContext(connection) as few:
        roll_up_day(day=store_today(store_a))
    visits(3000)
    with CaptureQueriesContext(connection) as many:
        roll_up_day(day=store_today(store_a))
    assert len(many) == len(few)
    # The visits are summed by the database, never fetched row by row.
    visit_reads = [q["sql"] for q in many.captured_queries if 'FROM "analytics_visit"' in q["sql"]]
    assert visit_reads and all("GROUP BY" in sql for sql in visit_reads)
    day = StoreDay.objects.get(store=store_a)
    assert (day.views, day.visitors) == (3010, 37)


def test_the_purge_forgets_old_salts_and_raw_rows_but_keeps_the_roll_ups(recorder, shelf):
    from shelfwatch.analytics.models import DailySalt, Visit
    from shelfwatch.analytics.tasks import purge_analytics

    old = today() - timedelta(days=40)
    for day in (old, today() - timedelta(days=2), today() - timedelta(days=1), today()):
        DailySalt.objects.create(day=day, salt=b"x" * 32)
    Visit.objects.create(day=old, product_id=shelf[0].pk)
    Visit.objects.create(day=today(), product_id=shelf[0].pk)
    roll_up_day(day=old)

    assert purge_analytics.call() == {"salts": 2, "visits": 1, "search_misses": 0}
    assert sorted(DailySalt.objects.values_list("day", flat=True)) == [
        today() - timedelta(days=1),
        today(),
    ]
    assert list(Visit.objects.values_list("day", flat=True)) == [today()]
    assert ProductDay.objects.get(day=old).views == 1


def test_the_analytics_jobs_are_periodic_jobs():
    from django.utils.module_loading import import_string

    from shelfwatch.analytics import tasks
    from shelfwatch.config.periodic import PERIODIC_JOBS

    jobs = {job.task: job for job in PERIODIC_JOBS}
    assert import_string("shelfwatch.analytics.tasks.flush_hits") is tasks.flush_hits
    assert jobs["shelfwatch.analytics.tasks.flush_hits"].every == timedelta(seconds=60)
    assert "shelfwatch.analytics.tasks.roll_up_recent_days" in jobs
    assert "shelfwatch.analytics.tasks.purge_analytics" in jobs


def test_the_hourly_job_writes_pending_views_and_rolls_up_today(recorder, shelf, store_a):
    from shelfwatch.analytics.tasks import roll_up_recent_days

    client = Client()
    choose(client, store_a)
    view(client, shelf[0])
    view(client, shelf[0], PHONE)
    roll_up_recent_days.call()
    day = StoreDay.objects.get(store=store_a, day=store_today(store_a))
    assert (day.views, day.visitors) == (2, 2)
