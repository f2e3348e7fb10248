"""Recording plain acceptances in one statement batch (`outcomes.record_acceptances`)."""

from __future__ import annotations

import pytest

from shelfwatch.notify.channels.base import accepted
from shelfwatch.notify.models import Notification
from shelfwatch.notify.outcomes import SendJob, record_acceptances
from tests.notify.conftest import make_contact, queue

pytestmark = pytest.mark.django_db


def leased(note: Notification, worker: str) -> Notification:
    Notification.objects.filter(pk=note.pk).update(
        status="sending", lease_owner=worker, last_error="timed out", last_error_code="408"
    )
    note.refresh_from_db()
    return note


def job(note: Notification, message_id: str) -> SendJob:
    # Recording reads only the notification and the provider's answer.
    return SendJob(
        notification=note,
        message=None,
        digested=[],
        channel=None,
        start_at=0.0,
        result=accepted(message_id),
    )


def test_acceptances_are_written_scrubbed_where_secret_and_only_under_the_workers_lease():
    contact = make_contact()
    alert = leased(queue(contact, "watch.back_in_stock", context={"item": 7}), "w1")
    code = leased(queue(contact, "verify_code"), "w1")
    theirs = leased(queue(contact, "verify_code"), "w2")
    before = Notification.objects.get(pk=theirs.pk)
    record_acceptances(
        [job(alert, "wamid.A"), job(code, "wamid.C"), job(theirs, "wamid.T")], worker="w1"
    )
    for note, message_id, context in ((alert, "wamid.A", {"item": 7}), (code, "wamid.C", {})):
        note.refresh_from_db()
        assert (note.status, note.attempts, note.provider_message_id) == ("sent", 1, message_id)
        assert (note.lease_owner, note.lease_until, note.last_error, note.last_error_code) == (
            "",
            None,
            "",
            "",
        )
        assert note.sent_at is not None and note.updated_at == note.sent_at
        assert note.context == context
    # Another worker's lease: its row is not ours to write.
    theirs.refresh_from_db()
    assert (theirs.status, theirs.lease_owner, theirs.attempts) == ("sending", "w2", 0)
    assert (theirs.context, theirs.sent_at, theirs.updated_at) == (
        before.context,
        None,
        before.updated_at,
    )
