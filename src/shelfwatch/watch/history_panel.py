"""One item's price history panel (chart, summary, restock sentence) as HTML, for pages."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from shelfwatch.watch.chart import money, price_chart_svg
from shelfwatch.watch.history import DEFAULT_DAYS, item_price_history
from shelfwatch.watch.models import WatchedItem
from shelfwatch.watch.restock_pattern import describe, item_restock_pattern, item_time_zone


def price_history_panel(item: WatchedItem, *, days: int = DEFAULT_DAYS) -> str:
    """The panel's HTML in the active language; three queries (two for the range, one for
    the restock pattern) plus the source's store when it has one."""
    history = item_price_history(item, days=days)
    # The chart's days are the shop's days, like its restock sentence's weekdays and hours.
    svg = price_chart_svg(
        history, id_prefix=f"price-chart-{item.pk}", name=item.name, tz=item_time_zone(item)
    )
    return render_to_string(
        "watch/price_history.html",
        {
            "item": item,
            "days": days,
            "history": history,
            # Our own markup, every text in it escaped (watch/chart.py).
            "svg": mark_safe(svg),  # noqa: S308
            "lowest": money(history.lowest, history.currency),
            "highest": money(history.highest, history.currency),
            "current": money(history.current_price, history.currency),
            "restock_sentence": describe(item_restock_pattern(item)),
        },
    )
