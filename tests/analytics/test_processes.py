"""Real web processes: without Redis a server writes the views it holds on a timer, with
no further request; with Redis a view outlives the web process that recorded it."""

from __future__ import annotations

import os

import httpx
import pytest

from shelfwatch.analytics.models import Visit
from tests.analytics.conftest import BROWSER
from tests.processes import wait_for, web_server

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]


def test_an_embedded_web_process_writes_held_views_on_its_timer(
    subprocess_env, recorder, shelf, tmp_path
):
    env = {**subprocess_env, "ANALYTICS_FLUSH_SECONDS": "1", "ANALYTICS_FLUSH_HITS": "1000"}
    env.pop("REDIS_URL", None)
    with web_server(env, tmp_path / "web.log") as base:
        for product in shelf:
            response = httpx.get(f"{base}/products/{product.pk}", headers={"User-Agent": BROWSER})
            assert response.status_code == 200
        # Two views, far under the size threshold, and no request after them.
        wait_for(lambda: Visit.objects.count() == 2, timeout=20)
    assert sorted(Visit.objects.values_list("product_id", flat=True)) == sorted(p.pk for p in shelf)


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis")
def test_with_redis_a_view_survives_its_web_process(subprocess_env, recorder, shelf, tmp_path):
    with web_server(subprocess_env, tmp_path / "web.log") as base:
        response = httpx.get(f"{base}/products/{shelf[0].pk}", headers={"User-Agent": BROWSER})
        assert response.status_code == 200
    # The web process is gone; the flush job (here called directly) still finds the view.
    assert recorder.flush()["views"] == 1
    assert Visit.objects.get().product_id == shelf[0].pk
