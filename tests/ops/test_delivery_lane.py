"""Alerts go out while a long poll holds a task worker: delivery has a lane of its own."""

from __future__ import annotations

import time

import pytest

from shelfwatch.notify.models import Notification
from shelfwatch.notify.tasks import kick_delivery
from shelfwatch.watch.sources import create_source
from tests.conftest import free_port
from tests.fakes.jsonld_pages import JsonLdShop
from tests.fakes.webhook_receiver import WebhookReceiver
from tests.notify.conftest import make_contact, queue
from tests.ops.processes import Running
from tests.processes import wait_for

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]


def test_a_notification_is_sent_within_seconds_while_a_minute_long_poll_runs(subprocess_env):
    env = {
        **subprocess_env,
        "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
        "WATCH_FETCH_TIMEOUT": "90",
        "NOTIFY_QUIET_HOURS": "off",
        "NOTIFY_RECIPIENT_MIN_INTERVAL_SECONDS": "0",
    }
    with JsonLdShop() as shop, WebhookReceiver(secret="s3cret") as receiver:
        shop.add("Ghee 1 L", "650.00", handle="ghee")
        shop.slow_next(1, 60, path="/p/")  # the shop takes a minute to answer
        create_source(name="Slow shop", kind="jsonld", base_url=shop.product_url("ghee"))
        with Running(["serve", "--port", str(free_port())], env) as serve:
            # The scheduler dispatches the poll and a worker sits in it.
            wait_for(lambda: shop.log("/p/"), timeout=60, interval=0.2)
            contact = make_contact(
                "webhook", receiver.url("/hooks/shelfwatch"), signing_secret="s3cret"
            )
            note = queue(contact)
            kick_delivery()
            created = time.monotonic()
            receiver.wait_for(1, timeout=10)
            assert time.monotonic() - created < 10
            wait_for(
                lambda: Notification.objects.get(pk=note.pk).status == "sent",
                timeout=5,
            )
            assert len(shop.log("/p/")) == 1, serve.output  # the poll is still running
