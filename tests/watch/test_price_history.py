"""Price history from observations, and its chart as a self-contained SVG."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from shelfwatch.watch.chart import price_chart_svg
from shelfwatch.watch.history import History, item_price_history
from shelfwatch.watch.history_panel import price_history_panel
from shelfwatch.watch.models import Observation, Source, SourceStatus, WatchedItem

SVG = "{http://www.w3.org/2000/svg}"
NOW = timezone.now().replace(microsecond=0)


def parse(svg: str) -> ET.Element:
    """The chart as XML: a parse error fails the test. Our own output, so no XML bombs."""
    return ET.fromstring(svg)  # noqa: S314


@pytest.fixture
def item(db):
    source = Source.objects.create(
        name="Amul shop", kind="internal", status=SourceStatus.OK, baseline_done=True
    )
    return WatchedItem.objects.create(
        source=source, external_id="1", name="Amul Whey Protein", currency="INR"
    )


def observe(item, days_ago: float, *, available=True, price="100.00"):
    Observation.objects.create(
        item=item,
        observed_at=NOW - timedelta(days=days_ago),
        available=available,
        price=Decimal(price) if price is not None else None,
        currency="INR",
        name=item.name,
    )


def test_an_item_with_no_observations_has_an_empty_history(item):
    history = item_price_history(item, now=NOW)
    assert history.is_empty and history.current_price is None and history.days_out == 0
    svg = price_chart_svg(history, id_prefix="c")
    assert parse(svg).find(f"{SVG}polyline") is None
    assert "No price seen yet" in svg


def test_the_price_steps_and_out_of_stock_periods_over_the_range(item):
    observe(item, 200, price="150.00")  # before the range: the starting state
    observe(item, 60, price="120.00")
    observe(item, 50, available=False, price="120.00")
    observe(item, 40, available=True, price="130.00")
    observe(item, 10, available=False, price="130.00")
    with CaptureQueriesContext(connection) as queries:
        history = item_price_history(item, days=90, now=NOW)
    assert len(queries) == 2
    assert [p.price for p in history.points] == [
        Decimal("150.00"),
        Decimal("120.00"),
        Decimal("130.00"),
    ]
    assert history.points[0].at == NOW - timedelta(days=90)  # the old price from the start
    assert [(p.start, p.end) for p in history.out_periods] == [
        (NOW - timedelta(days=50), NOW - timedelta(days=40)),
        (NOW - timedelta(days=10), NOW),  # still out now
    ]
    assert history.days_out == 20
    assert (history.lowest, history.highest, history.current_price) == (
        Decimal("120.00"),
        Decimal("150.00"),
        Decimal("130.00"),
    )
    assert history.currency == "INR"


def test_thousands_of_changes_are_capped_keeping_the_extremes(item):
    rows = []
    for i in range(5000):
        price = Decimal("100.00") + (i % 37)
        if i == 2500:
            price = Decimal("9.99")  # one deep dip must survive the cap
        rows.append(
            Observation(
                item=item,
                observed_at=NOW - timedelta(days=89) + timedelta(minutes=25 * i),
                available=i % 100 != 0,
                price=price,
                currency="INR",
                name=item.name,
            )
        )
    Observation.objects.bulk_create(rows)
    history = item_price_history(item, days=90, now=NOW, max_points=300)
    assert 2 < len(history.points) <= 300
    assert len(history.out_periods) <= 300
    assert Decimal("9.99") in [p.price for p in history.points]
    assert history.lowest == Decimal("9.99") and history.highest == Decimal("136.00")
    times = [p.at for p in history.points]
    assert times == sorted(times)
    assert history.current_price == rows[-1].price
    svg = price_chart_svg(history, id_prefix="big")
    assert len(svg) < 40_000


def test_the_chart_is_valid_accessible_svg_with_shaded_out_of_stock_periods(item):
    observe(item, 80, price="99.00")
    observe(item, 30, available=False, price="99.00")
    observe(item, 20, available=True, price="89.50")
    svg = price_chart_svg(item_price_history(item, now=NOW), id_prefix="chart-1", name=item.name)
    root = parse(svg)
    assert root.tag == f"{SVG}svg" and root.get("viewBox") and root.get("width") == "100%"
    assert "Amul Whey Protein" in root.find(f"{SVG}title").text
    desc = root.find(f"{SVG}desc").text
    assert "INR 89.50" in desc and "INR 99.00" in desc and "out of stock for 10 days" in desc
    shaded = root.findall(f"{SVG}rect[@class='out-of-stock']")
    assert len(shaded) == 1 and float(shaded[0].get("width")) > 0
    assert root.find(f"{SVG}polyline").get("points")
    assert "INR 99.00" in svg  # the currency is on the chart itself


def test_the_chart_refers_to_no_other_host(item):
    observe(item, 30, price="99.00")
    observe(item, 5, available=False, price="95.00")
    svg = price_chart_svg(item_price_history(item, now=NOW), id_prefix="x", name=item.name)
    assert re.findall(r"https?://[^\s\"'<>]+", svg) == ["http://www.w3.org/2000/svg"]
    assert not re.search(r"<script|href=|src=|url\(", svg)


def test_a_product_name_cannot_inject_markup_into_the_chart():
    history = History(start=NOW - timedelta(days=1), end=NOW)
    svg = price_chart_svg(history, id_prefix="x", name='<script>alert(1)</script>"')
    root = parse(svg)
    assert "<script" not in svg and root.find(f"{SVG}script") is None
    assert root.find(f"{SVG}title").text.endswith('<script>alert(1)</script>"')


def days_out_sentence(item, *, language: str = "en") -> str:
    """The panel's out-of-stock words as the page shows them."""
    with translation.override(language):
        html = price_history_panel(item)
    match = re.search(r'<span class="days-out">(.*?)</span>', html)
    assert match, html
    return match.group(1)


def test_a_newly_watched_item_reads_never_out_of_stock_not_zero_days(item):
    observe(item, 0.01, price="99.00")
    assert days_out_sentence(item) == "never out of stock in this period"
    assert "0.0" not in price_history_panel(item)


@pytest.mark.parametrize(
    ("out_for_days", "sentence"),
    [
        (0.2, "out of stock for less than a day"),
        (1.2, "out of stock for 1 day"),
        (2.7, "out of stock for 3 days"),
    ],
)
def test_the_out_of_stock_time_is_whole_days_in_words(item, out_for_days, sentence):
    observe(item, 10, price="99.00")
    observe(item, out_for_days, available=False, price="99.00")
    assert days_out_sentence(item) == sentence


def test_the_out_of_stock_words_are_translated(item):
    observe(item, 10, price="99.00")
    assert days_out_sentence(item, language="hi") == "इस अवधि में कभी स्टॉक ख़त्म नहीं हुआ"
    observe(item, 3, available=False, price="99.00")
    assert days_out_sentence(item, language="hi") == "3 दिन स्टॉक ख़त्म रहा"
