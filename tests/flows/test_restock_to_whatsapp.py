"""The whole product flow across real processes: a shop restocks, the scheduler's dispatcher
has a worker poll it, the change becomes an event, the event a notification, and the
notification a WhatsApp message -- nothing called by the test but the fakes' controls."""

from __future__ import annotations

import pytest
from django.utils import timezone

from shelfwatch.alerts.models import Subscription
from shelfwatch.notify.models import Contact, Notification
from shelfwatch.watch.models import Host, Source
from shelfwatch.watch.sources import create_source
from tests.fakes.shopify import ShopifyShop
from tests.fakes.whatsapp import (
    DEFAULT_APP_SECRET,
    DEFAULT_PHONE_NUMBER_ID,
    DEFAULT_TOKEN,
    WhatsAppFake,
)
from tests.ops.processes import Running
from tests.processes import wait_for

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]


def test_a_restock_reaches_the_subscriber_on_whatsapp(subprocess_env, settings):
    settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    with ShopifyShop() as shop, WhatsAppFake() as whatsapp:
        shop.add("Amul Whey Protein 1 kg", "2399.00", handle="whey", available=False)
        source = create_source(
            name="Amul", kind="shopify", base_url=shop.base_url, poll_interval=30
        )
        Host.objects.update(min_interval_ms=0)
        env = {
            **subprocess_env,
            "OUTBOUND_ALLOWED_NETWORKS": "127.0.0.0/8",
            "SCHEDULER_TICK_SECONDS": "0.5",
            "WHATSAPP_API_BASE": whatsapp.graph_url,
            "WHATSAPP_PHONE_NUMBER_ID": DEFAULT_PHONE_NUMBER_ID,
            "WHATSAPP_ACCESS_TOKEN": DEFAULT_TOKEN,
            "WHATSAPP_APP_SECRET": DEFAULT_APP_SECRET,
            "NOTIFY_QUIET_HOURS": "off",
            "LOG_LEVEL": "WARNING",
        }
        with Running(["worker"], env) as worker, Running(["scheduler"], env) as scheduler:
            try:
                wait_for(lambda: Source.objects.get(pk=source.pk).baseline_done, timeout=60)
                item = source.items.get()
                contact = Contact.objects.create(
                    channel="whatsapp", address="+919876543210", verified_at=timezone.now()
                )
                Subscription.objects.create(contact=contact, item=item)
                shop.set_available("whey", True)
                Source.objects.filter(pk=source.pk).update(next_run_at=timezone.now())
                wait_for(lambda: whatsapp.messages, timeout=60)
            except AssertionError:
                print("".join(worker.lines[-40:]), "".join(scheduler.lines[-40:]))
                raise
        [message] = whatsapp.messages
        assert message.wa_id == "919876543210" and message.template == "shelfwatch_back_in_stock"
        params = message.body["template"]["components"][0]["parameters"]
        assert params[0]["text"] == "Amul Whey Protein 1 kg"
        note = Notification.objects.get(contact=contact)
        assert note.status == "sent" and note.provider_message_id == message.id
