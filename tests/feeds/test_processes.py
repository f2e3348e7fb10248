"""Feeds across real processes: single-flight refreshes and the SSE stream."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings

from shelfwatch.feeds.models import Dataset, RefreshRun
from shelfwatch.feeds.refresh import claim_refresh, run_refresh
from tests.feeds.conftest import refresh_now
from tests.processes import serving_all

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]


def child_env(subprocess_env: dict[str, str]) -> dict[str, str]:
    return {
        **subprocess_env,
        "FEEDS_DIR": str(settings.FEEDS_DIR),
        "EVENTS_TAIL_INTERVAL": "0.1",
        "EVENTS_HEARTBEAT_SECONDS": "0.3",
        "LOG_LEVEL": "WARNING",
    }


def test_a_hundred_concurrent_refresh_requests_on_two_web_processes_start_one(
    subprocess_env, tmp_path, make_dataset, stocked_store, reader_key
):
    dataset = make_dataset("inventory")
    key = reader_key("inventory", scopes=("read", "write"))
    commands = {name: ["web", "--workers", "1", "--threads", "8"] for name in ("web-a", "web-b")}
    with serving_all(commands, child_env(subprocess_env), tmp_path) as (bases, _):
        urls = [bases["web-a"], bases["web-b"]] * 50
        barrier = threading.Barrier(len(urls))

        def post(base: str) -> tuple[int, str]:
            with httpx.Client(timeout=30) as client:
                barrier.wait()
                response = client.post(
                    base + "/api/v1/feeds/inventory/refresh", headers={"X-API-Key": key}
                )
                return response.status_code, response.json().get("status", response.text)

        with ThreadPoolExecutor(max_workers=len(urls)) as pool:
            results = list(pool.map(post, urls))
    assert {status for status, _ in results} == {202}, results
    outcomes = [outcome for _, outcome in results]
    assert outcomes.count("triggered") == 1
    assert outcomes.count("already in progress") == 99
    assert RefreshRun.objects.filter(dataset=dataset).count() == 1


class SseReader(threading.Thread):
    """Reads one SSE response into (event, data) pairs and comment counts."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.events: list[tuple[str, dict]] = []
        self.comments = 0
        self.status: int | None = None
        self.got = threading.Condition()
        self.finished = threading.Event()

    def run(self) -> None:
        try:
            with httpx.stream("GET", self.url, headers=self.headers, timeout=60) as response:
                self.status = response.status_code
                name = None
                for line in response.iter_lines():
                    if line.startswith(":"):
                        self.comments += 1
                    elif line.startswith("event: "):
                        name = line[len("event: ") :]
                    elif line.startswith("data: ") and name:
                        with self.got:
                            self.events.append((name, json.loads(line[len("data: ") :])))
                            self.got.notify_all()
        finally:
            self.finished.set()
            with self.got:
                self.got.notify_all()

    def wait_for(self, count: int, timeout: float = 30.0) -> list[tuple[str, dict]]:
        with self.got:
            self.got.wait_for(lambda: len(self.events) >= count or self.finished.is_set(), timeout)
            return list(self.events)


def test_the_stream_sends_cached_then_updated_then_done(
    subprocess_env, tmp_path, make_dataset, stocked_store, reader_key
):
    from shelfwatch.inventory.models import StockItem

    dataset = make_dataset("inventory")
    refresh_now(dataset)
    key = reader_key("inventory")
    commands = {"stream": ["stream", "--workers", "1"], "front": ["front"]}
    with serving_all(commands, child_env(subprocess_env), tmp_path) as (bases, _):
        for remaining, base in enumerate(bases.values()):
            before = 3 - remaining
            # A refresh is running (as a worker would hold it) while the client connects.
            run = claim_refresh(dataset=dataset, trigger="api")
            reader = SseReader(base + "/api/v1/feeds/inventory?stream=true", {"X-API-Key": key})
            reader.start()
            [(kind, cached)] = reader.wait_for(1)
            assert reader.status == 200 and kind == "cached"
            assert cached["type"] == "cached" and cached["payload"]["count"] == before
            assert len(cached["payload"]["data"]) == before  # small: sent inline
            StockItem.objects.filter(store=stocked_store).first().delete()
            threading.Event().wait(0.8)  # a few heartbeats while it waits
            run_refresh(run.pk)
            events = reader.wait_for(3)
            reader.join(10)
            assert [name for name, _ in events] == ["cached", "updated", "done"]
            assert events[1][1]["payload"]["count"] == before - 1
            assert reader.comments >= 1 and not reader.is_alive()

        # Ordinary reads on the front still reach Django.
        response = httpx.get(bases["front"] + "/api/v1/feeds/inventory", headers={"X-API-Key": key})
        assert response.status_code == 200 and response.json()["count"] == 1


def test_the_stream_reports_a_failed_refresh_and_refuses_strangers(
    subprocess_env, tmp_path, make_dataset, stocked_store, reader_key, settings
):
    dataset = make_dataset("inventory")
    refresh_now(dataset)
    key = reader_key("inventory")
    with serving_all(
        {"stream": ["stream", "--workers", "1"]}, child_env(subprocess_env), tmp_path
    ) as (bases, _):
        url = bases["stream"] + "/api/v1/feeds/inventory?stream=true"
        assert httpx.get(url).status_code == 401
        stranger = reader_key("other")
        forbidden = httpx.get(url, headers={"X-API-Key": stranger})
        assert forbidden.status_code == 403 and forbidden.json()["code"] == "dataset_forbidden"
        # Nothing running, nothing asked: the cached snapshot and done.
        done = httpx.get(url, headers={"X-API-Key": key}, timeout=10)
        assert [line for line in done.text.splitlines() if line.startswith("event:")] == [
            "event: cached",
            "event: done",
        ]

        run = claim_refresh(dataset=dataset, trigger="api")
        reader = SseReader(url, {"X-API-Key": key})
        reader.start()
        reader.wait_for(1)
        settings.FEEDS_MAX_RECORDS = 1
        run_refresh(run.pk)
        events = reader.wait_for(3)
        assert [name for name, _ in events] == ["cached", "failed", "done"]
        assert events[1][1]["payload"]["code"] == "row_limit_exceeded"
    assert Dataset.objects.get(pk=dataset.pk).current_snapshot.record_count == 3
