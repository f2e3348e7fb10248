"""How a report shows a change: "+12 (+8.5%)", "-3", "new" from nothing, a dash unknown."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils.translation import gettext as _

register = template.Library()


def _signed(value: Any) -> str:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    text = f"{number:,}" if number == number.to_integral_value() else f"{number:,.2f}"
    return text if number < 0 else f"+{text}"


@register.filter
def report_change(change: dict | None) -> str:
    """One comparison of a report figure as short text."""
    if not change or change.get("before") is None:
        return "\u2013"  # an en dash: nothing to compare with
    diff = change.get("diff")
    if change.get("percent") is None:
        return _("new") if diff else "±0"
    if not Decimal(str(diff)):
        return "±0"
    return f"{_signed(diff)} ({change['percent']:+.1f}%)"


@register.filter
def report_trend(change: dict | None) -> str:
    """ "up", "down" or "same": a class for colouring a change."""
    if not change or change.get("diff") is None:
        return "same"
    diff = Decimal(str(change["diff"]))
    return "up" if diff > 0 else "down" if diff < 0 else "same"


def _labels() -> dict[str, str]:
    return {
        "views": _("Product views"),
        "visitors": _("Visitors"),
        "orders": _("Orders"),
        "revenue": _("Revenue"),
        "restocks": _("Back in stock"),
        "search_misses": _("Searches with no results"),
        "alerts_sent": _("Alerts sent"),
        "alerts_failed": _("Alerts failed"),
        "low_stock": _("Items low on stock"),
        "waiting": _("Subscribers waiting on items out of stock"),
    }


@register.simple_tag
def report_rows(report: dict) -> list[dict]:
    """The report's figures in reading order, each with its label in the active language."""
    labels = _labels()
    figures = {**(report.get("figures") or {}), **(report.get("stock_figures") or {})}
    currency = (report.get("store") or {}).get("currency", "")
    rows = []
    for name in labels:
        if name in figures:
            row = {"name": name, "label": labels[name], **figures[name]}
            if name == "revenue" and currency:
                row["value"] = f"{row['value']} {currency}"
            rows.append(row)
    return rows


@register.simple_tag
def report_columns(report: dict) -> tuple[str, str]:
    """The headings of the two comparisons of a daily or weekly report."""
    if report.get("kind") == "weekly":
        return _("vs previous week"), _("vs four weeks before")
    return _("vs previous day"), _("vs same day last week")
