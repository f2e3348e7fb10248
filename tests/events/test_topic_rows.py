"""An event's topic rows go with it when it is deleted, on every database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from shelfwatch.events.models import Event, EventTopic
from shelfwatch.events.publishing import emit
from shelfwatch.events.retention import purge_dispatched_events


@pytest.mark.django_db
def test_purging_an_event_deletes_its_topic_rows_and_keeps_the_others():
    with transaction.atomic():
        old = emit(type="stock.changed", payload={"n": 1}, topics=["store:1", "product:2"])
        kept = emit(type="stock.changed", payload={"n": 2}, topics=["store:1"])
    past = timezone.now() - timedelta(days=30)
    Event.objects.filter(pk=old.pk).update(created_at=past, dispatched_at=past)

    assert purge_dispatched_events(older_than=timedelta(days=7)) == 1
    assert not Event.objects.filter(pk=old.pk).exists()
    assert list(EventTopic.objects.values_list("event_id", "topic")) == [(kept.pk, "store:1")]
