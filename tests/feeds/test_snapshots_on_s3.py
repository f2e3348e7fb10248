"""Feed snapshots kept in an S3-compatible bucket (moto's server on 127.0.0.1).

With MEDIA_S3_BUCKET a refresh uploads its snapshot to the bucket under `feeds/`, every
web process reads it from there in each representation, and old or deleted datasets'
snapshots leave the bucket; FEEDS_DIR keeps only a refresh's scratch files.
"""

from __future__ import annotations

import gzip
import json

import pytest

from shelfwatch.feeds.datasets import delete_dataset
from shelfwatch.feeds.models import Dataset
from shelfwatch.feeds.storage import dataset_dir
from tests.feeds.conftest import refresh_now

pytestmark = pytest.mark.django_db

URL = "/api/v1/feeds/inventory"


@pytest.fixture
def inventory(make_dataset, stocked_store, s3_media):
    dataset = make_dataset("inventory")
    refresh_now(dataset)
    return Dataset.objects.select_related("current_snapshot").get(pk=dataset.pk)


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_a_refreshed_snapshot_is_written_to_the_bucket_and_not_left_on_disk(inventory, s3_media):
    snapshot = inventory.current_snapshot
    key = f"feeds/inventory/{snapshot.file_name}"
    assert s3_media.keys("feeds/") == [key]
    stored = s3_media.read(key)
    assert len(stored) == snapshot.stored_bytes
    document = json.loads(gzip.decompress(stored))
    assert document["count"] == 3 and len(document["data"]) == 3
    assert list(dataset_dir("inventory").iterdir()) == []


def test_each_representation_is_read_back_from_the_bucket(feed_client, inventory, s3_media):
    caller = feed_client("inventory")
    snapshot = inventory.current_snapshot
    stored = s3_media.read(f"feeds/inventory/{snapshot.file_name}")

    compressed = caller.get(URL, **{"Accept-Encoding": "gzip"})
    plain = caller.get(URL)
    lines = caller.get(URL + "?format=ndjson&fields=id,quantity")

    assert compressed["Content-Encoding"] == "gzip" and body_of(compressed) == stored
    assert int(compressed["Content-Length"]) == len(stored)
    assert body_of(plain) == gzip.decompress(stored)
    assert int(plain["Content-Length"]) == snapshot.raw_bytes
    records = [json.loads(line) for line in body_of(lines).decode().splitlines()]
    assert [set(record) for record in records] == [{"id", "quantity"}] * 3


def test_old_snapshots_and_deleted_datasets_leave_the_bucket(
    inventory, s3_media, settings, django_capture_on_commit_callbacks
):
    settings.FEEDS_KEEP_SNAPSHOTS = 1
    newer = refresh_now(inventory).snapshot
    assert s3_media.keys("feeds/") == [f"feeds/inventory/{newer.file_name}"]

    with django_capture_on_commit_callbacks(execute=True):
        delete_dataset(dataset=inventory)

    assert s3_media.keys("feeds/") == []
