"""Delivery health for the operator's probes: the pauses in force, for `/ready` and `/metrics`.

A paused number or channel does not make a process unready (it can serve and queue), so
`/ready` should show the pauses without failing; `/metrics` exposes them as gauges.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.utils import timezone

from shelfwatch.notify import pauses


def paused_channels() -> list[dict[str, Any]]:
    """The pauses in force: key, until (ISO 8601), seconds left, reason and provider code."""
    now = timezone.now()
    return [
        {
            "key": pause.key,
            "until": pause.until.isoformat(),
            "seconds_left": round((pause.until - now).total_seconds(), 1),
            "reason": pause.reason,
            "code": pause.code,
        }
        for pause in pauses.active()
    ]


class PauseCollector:
    """Prometheus collector: `shelfwatch_notify_paused_seconds{key, code}` per pause in force
    (seconds until it ends), read when Prometheus scrapes, so every process reports the same."""

    def collect(self) -> Iterator[Any]:
        """One gauge: seconds left for each paused number or channel, by key and provider code."""
        from prometheus_client.metrics_core import GaugeMetricFamily

        gauge = GaugeMetricFamily(
            "shelfwatch_notify_paused_seconds",
            "Seconds until a paused sending number or channel resumes, by key and provider code.",
            labels=["key", "code"],
        )
        for pause in paused_channels():
            gauge.add_metric([pause["key"], pause["code"]], pause["seconds_left"])
        yield gauge
