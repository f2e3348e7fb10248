"""Writing what polls saw: a bad result among many never loses the others."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shelfwatch.events.models import Event
from shelfwatch.watch.adapters.base import ItemState, PollResult
from shelfwatch.watch.models import Source, SourceStatus
from shelfwatch.watch.recording import PollOutcome, record_all

pytestmark = pytest.mark.django_db(transaction=True)


def polled(source: Source, *states: ItemState) -> tuple[Source, PollOutcome]:
    outcome = PollOutcome(source.pk, ok=True, result=PollResult(items=list(states)))
    return source, outcome


def test_a_source_deleted_mid_poll_does_not_lose_the_others_written_with_it():
    kept = Source.objects.create(name="Kept", kind="jsonld", base_url="https://a.example/p/1")
    gone = Source.objects.create(name="Gone", kind="jsonld", base_url="https://b.example/p/1")
    batch = [
        polled(kept, ItemState(external_id="1", name="Ghee 1 L", available=True)),
        polled(gone, ItemState(external_id="1", name="Atta 5 kg", available=True)),
    ]
    Source.objects.filter(pk=gone.pk).delete()  # an admin deletes it while it is polled
    record_all(batch)
    kept.refresh_from_db()
    assert kept.status == SourceStatus.OK and kept.baseline_done
    assert [item.name for item in kept.items.all()] == ["Ghee 1 L"]
    # Written again on its own, it is still its first poll: a baseline alerts nobody.
    assert not Event.objects.filter(type__startswith="watch.").exists()


def test_text_and_counts_a_column_cannot_hold_are_cut_to_fit():
    source = Source.objects.create(name="Shop", kind="jsonld", base_url="https://a.example/p")
    state = ItemState(
        external_id="x" * 300,
        name="Ghee\x00 " + "y" * 600,
        available=True,
        price=Decimal("650.00"),
        quantity=2**40,
        url="https://a.example/" + "z" * 1200,
    )
    record_all([polled(source, state)])
    item = source.items.get()
    assert len(item.external_id) == 200 and len(item.name) == 500 and len(item.url) == 1000
    assert "\x00" not in item.name and item.quantity is None
