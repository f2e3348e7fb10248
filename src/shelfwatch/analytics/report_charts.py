"""A report's charts as PNG (emails show PNG attached inline; they block data: URIs and
SVG): views over the recent days or weeks, and the most viewed products.

The images carry no words of ours (titles and legends are in the email's own text, in the
reader's language), so one set serves every recipient.
"""

from __future__ import annotations

import base64
from datetime import date
from typing import Any

from shelfwatch.charts import Series, bar_chart, day_chart

# Content-IDs of the inline images, also the names the staff page serves them by.
CHART_NAMES = ("trend", "top_viewed")


def draw(data: dict[str, Any]) -> dict[str, str]:
    """The report's charts by name, as base64 PNG (the JSON-safe form they are kept in)."""
    trend = data.get("trend") or []
    days = [date.fromisoformat(point["first"]) for point in trend]
    charts = {
        "trend": day_chart(
            days,
            [Series("views", [point["views"] for point in trend])],
            key="trend",
            title="views",
            area=True,
        ),
    }
    top = data.get("top_viewed") or []
    if top:
        charts["top_viewed"] = bar_chart(
            [row["name"] for row in top],
            [row["views"] for row in top],
            key="top-viewed",
            title="top viewed",
        )
    return {name: base64.b64encode(chart.png()).decode("ascii") for name, chart in charts.items()}
