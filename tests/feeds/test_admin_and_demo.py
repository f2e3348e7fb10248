"""The admin's dataset list and refresh action, the demo datasets, the topic rule."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from shelfwatch.feeds.models import Dataset, RefreshRun
from tests.feeds.conftest import refresh_now

pytestmark = pytest.mark.django_db


def test_admin_lists_datasets_with_status_and_refreshes_on_request(
    client, admin_user, make_dataset, stocked_store
):
    dataset = make_dataset("inventory")
    refresh_now(dataset)
    client.force_login(admin_user)
    page = client.get("/admin/feeds/dataset/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "inventory" in text and "succeeded" in text

    def run_action() -> list[str]:
        response = client.post(
            "/admin/feeds/dataset/",
            {"action": "refresh_now", "index": "0", "_selected_action": [dataset.pk]},
        )
        assert response.status_code == 302
        return [str(message) for message in get_messages(response.wsgi_request)]

    change = client.get(f"/admin/feeds/dataset/{dataset.pk}/change/").content.decode()
    assert "succeeded (3 records)" in change
    assert run_action() == ["inventory: triggered"]
    assert run_action()[-1] == "inventory: already in progress"
    assert RefreshRun.objects.filter(dataset=dataset, trigger="admin").count() == 1


def test_admin_deletes_a_dataset_with_its_files_unless_it_is_refreshing(
    client, admin_user, make_dataset, stocked_store, django_capture_on_commit_callbacks
):
    from shelfwatch.feeds.refresh import claim_refresh
    from shelfwatch.feeds.storage import dataset_dir

    dataset = make_dataset("inventory")
    refresh_now(dataset)
    client.force_login(admin_user)
    delete_url = f"/admin/feeds/dataset/{dataset.pk}/delete/"
    claim_refresh(dataset=dataset, trigger="admin")
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    Dataset.objects.filter(pk=dataset.pk).update(lease_token="", lease_until=None)

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(delete_url, {"post": "yes"}).status_code == 302
    assert not Dataset.objects.exists()
    assert not dataset_dir("inventory").exists()


def test_admin_form_refuses_a_bad_source_config(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        "/admin/feeds/dataset/add/",
        {
            "name": "x",
            "source_kind": "sql",
            "source_config": '{"url": "sqlite:///x.db", "query": "DROP TABLE t"}',
            "owner": admin_user.pk,
            "refresh_every": "01:00:00",
            "is_active": "on",
            "next_refresh_at_0": "2026-01-01",
            "next_refresh_at_1": "00:00:00",
        },
    )
    assert response.status_code == 200 and "only SELECT" in response.content.decode()
    assert not Dataset.objects.exists()


def test_demo_data_brings_refreshable_feeds(settings):
    from shelfwatch.ops.demo import load_demo_data

    load_demo_data()
    load_demo_data()  # idempotent
    names = set(Dataset.objects.values_list("name", flat=True))
    assert names == {"stock", "maple-street-products"}
    for dataset in Dataset.objects.all():
        run = refresh_now(dataset)
        assert run.status == "succeeded" and run.records > 0, run.error


def test_only_readers_may_follow_a_feed_topic(make_dataset, make_user, reader_key):
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.events.topics import may_follow

    make_dataset("inventory")
    stranger = Principal(user=make_user("s@example.com"), method="api_key", scopes=frozenset())
    reader = Principal(
        user=stranger.user, method="api_key", scopes=frozenset({"read", "feeds:inventory"})
    )
    assert not may_follow(stranger, "feed:inventory")
    assert may_follow(reader, "feed:inventory")
