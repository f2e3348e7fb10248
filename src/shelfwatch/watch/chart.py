"""A price history as a small, self-contained SVG: the price as a step line, out-of-stock
periods shaded, the lowest and highest price and the range's dates as labels.

Written by hand (a polyline and rectangles) rather than with a charting library: nothing
to load from another host, no script, and the markup stays a few kilobytes. The viewBox
with width 100% lets it shrink to a 390 px phone without sideways scrolling.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal

from django.utils import formats, timezone
from django.utils.html import escape
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from shelfwatch.watch.history import History

# Near a phone's own width, so 14-unit labels read at about 13 px on a 390 px screen.
WIDTH, HEIGHT = 400, 170
LEFT, RIGHT, TOP, BOTTOM = 4, 4, 22, 22  # room for the labels above and below the plot
SVG_NS = "http://www.w3.org/2000/svg"
LINE_COLOUR = "#1f6feb"
OUT_COLOUR = "#f4c7c3"
DASH = "\u2013"  # between two dates


def out_of_stock_words(history: History) -> str:
    """How long the item was out of stock, in whole days and plain words; the same
    messages as the panel's template (watch/price_history.html) so both read alike."""
    if not history.out_periods:
        return _("never out of stock in this period")
    days = history.whole_days_out
    if not days:
        return _("out of stock for less than a day")
    return ngettext("out of stock for %(out)s day", "out of stock for %(out)s days", days) % {
        "out": days
    }


def money(amount: Decimal | None, currency: str) -> str:
    """`amount` with its currency code, or "" when unknown."""
    if amount is None:
        return ""
    return f"{currency} {amount:.2f}".strip()


def _day(at: datetime, tz: tzinfo | None) -> str:
    return formats.date_format(timezone.localtime(at, tz) if tz else at, "j M")


def price_chart_svg(
    history: History, *, id_prefix: str, name: str = "", tz: tzinfo | None = None
) -> str:
    """The SVG markup of `history`; `id_prefix` keeps ids unique when a page holds several.
    Its dates are days in `tz` (the item's shop's zone), as the moments are given without."""
    span = (history.end - history.start).total_seconds() or 1.0
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(at: datetime) -> float:
        seconds = (min(max(at, history.start), history.end) - history.start).total_seconds()
        return round(LEFT + plot_w * seconds / span, 1)

    low, high = history.lowest, history.highest
    spread = float(high - low) if low is not None and high is not None else 0.0

    def y(price: Decimal) -> float:
        if not spread:
            return round(TOP + plot_h / 2, 1)
        return round(TOP + plot_h * (1 - float(price - low) / spread), 1)

    title = _("Price history") + (f": {name}" if name else "")
    desc = _(
        "Price from %(start)s to %(end)s: lowest %(low)s, highest %(high)s, now %(now)s; "
        "%(out)s. Shaded bands: out of stock."
    ) % {
        "start": _day(history.start, tz),
        "end": _day(history.end, tz),
        "low": money(low, history.currency) or "-",
        "high": money(high, history.currency) or "-",
        "now": money(history.current_price, history.currency) or "-",
        "out": out_of_stock_words(history),
    }
    parts = [
        f'<svg xmlns="{SVG_NS}" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" '
        f'class="price-chart" aria-labelledby="{id_prefix}-title {id_prefix}-desc" '
        f'preserveAspectRatio="xMidYMid meet" style="max-width:100%;height:auto">',
        f'<title id="{id_prefix}-title">{escape(title)}</title>',
        f'<desc id="{id_prefix}-desc">{escape(desc)}</desc>',
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" '
        'stroke="#d0d7de"/>',
    ]
    out_label = escape(_("Out of stock"))
    for period in history.out_periods:
        left, right = x(period.start), x(period.end)
        parts.append(
            f'<rect class="out-of-stock" x="{left}" y="{TOP}" width="{max(right - left, 1.0)}" '
            f'height="{plot_h}" fill="{OUT_COLOUR}"><title>{out_label}: '
            f"{escape(_day(period.start, tz))} {DASH} {escape(_day(period.end, tz))}</title></rect>"
        )
    if history.points:
        coords: list[str] = []
        for index, point in enumerate(history.points):
            if coords:  # the step: the old price runs up to this change
                coords.append(f"{x(point.at)},{y(history.points[index - 1].price)}")
            coords.append(f"{x(point.at)},{y(point.price)}")
        coords.append(f"{x(history.end)},{y(history.points[-1].price)}")
        parts.append(
            f'<polyline class="price" points="{" ".join(coords)}" fill="none" '
            f'stroke="{LINE_COLOUR}" stroke-width="2.5" stroke-linejoin="round"/>'
        )
        labels = [(high, TOP - 6), (low, HEIGHT - 5)] if spread else [(low, TOP - 6)]
        for amount, baseline in labels:
            parts.append(
                f'<text x="{LEFT}" y="{baseline}" font-size="14" fill="#24292f">'
                f"{escape(money(amount, history.currency))}</text>"
            )
    else:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{TOP + plot_h / 2}" font-size="14" fill="#57606a" '
            f'text-anchor="middle">{escape(_("No price seen yet"))}</text>'
        )
    first, last = escape(_day(history.start, tz)), escape(_day(history.end, tz))
    parts.append(
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 5}" font-size="13" fill="#57606a" '
        f'text-anchor="end">{first} {DASH} {last}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
