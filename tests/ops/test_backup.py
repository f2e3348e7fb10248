"""`shelfwatch backup` and `shelfwatch restore` as an operator runs them, on a live system."""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import tarfile
import threading
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection, connections

from shelfwatch.catalog.models import Product
from shelfwatch.inventory.models import StockItem, Store
from shelfwatch.inventory.stock import move_stock
from shelfwatch.ops.backup import MANIFEST
from tests.ops.processes import run_shelfwatch

pytestmark = [pytest.mark.multiprocess, pytest.mark.django_db(transaction=True)]

STOCKED = 100_000  # more than the till can sell while a backup runs


def populate() -> list[StockItem]:
    store = Store.objects.create(name="Corner Bakery", slug="corner-bakery", city="Pune")
    items = []
    for n in range(5):
        product = Product.objects.create(name=f"Sourdough {n}", brand="Corner")
        items.append(StockItem.objects.create(store=store, product=product, quantity=0))
        move_stock(item=items[-1], delta=STOCKED, reason="restock")
    media = Path(settings.MEDIA_ROOT) / "products" / "sourdough.jpg"
    media.parent.mkdir(parents=True, exist_ok=True)
    media.write_bytes(b"\xff\xd8 a picture of bread " * 100)
    snapshot = Path(settings.FEEDS_DIR) / "orders" / "1.json.gz"
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.write_bytes(b"\x1f\x8b a feed snapshot")
    return items


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Sales(threading.Thread):
    """A till selling one unit after another until told to stop: writes during the backup."""

    def __init__(self, items: list[StockItem]) -> None:
        super().__init__(daemon=True)
        self.items, self.stop, self.sold = items, threading.Event(), 0

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                item = StockItem.objects.get(pk=self.items[self.sold % len(self.items)].pk)
                move_stock(item=item, delta=-1, reason="sale")
                self.sold += 1
        finally:
            connections.close_all()


@pytest.fixture
def restore_env(subprocess_env, tmp_path):
    """The environment of a new, empty installation to restore into."""
    env = {**subprocess_env, "DATA_DIR": str(tmp_path / "restored")}
    if connection.vendor == "sqlite":
        env["SQLITE_PATH"] = str(tmp_path / "restored" / "shelfwatch.sqlite3")
        yield env
        return
    import psycopg

    db = connection.settings_dict
    name = f"{db['NAME']}_restored"
    admin = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = admin.rsplit("/", 1)[0] + f"/{name}"
    yield env
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def restored_ledgers(env: dict[str, str]) -> list[tuple[int, int]]:
    """(quantity, sum of the item's movements) per stock item of the restored database."""
    sql = (
        "SELECT i.quantity, (SELECT sum(m.delta) FROM inventory_stockmovement m"
        " WHERE m.item_id = i.id) FROM inventory_stockitem i ORDER BY i.id"
    )
    if connection.vendor == "sqlite":
        with sqlite3.connect(env["SQLITE_PATH"]) as restored:
            return restored.execute(sql).fetchall()
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as restored:
        return restored.execute(sql).fetchall()


def test_a_backup_taken_while_the_shop_sells_restores_elsewhere_whole_and_consistent(
    subprocess_env, restore_env, tmp_path
):
    items = populate()
    sales = Sales(items)
    sales.start()
    try:
        made = run_shelfwatch(["backup", "--to", str(tmp_path / "backups")], subprocess_env)
    finally:
        sales.stop.set()
        sales.join(10)
    assert made.returncode == 0, made.stdout + made.stderr
    assert sales.sold > 0  # the till really sold while the copy was taken
    [archive] = (tmp_path / "backups").glob("shelfwatch-backup-*.tar")
    with tarfile.open(archive) as opened:
        manifest = json.loads(opened.extractfile(MANIFEST).read())
    assert manifest["row_counts"]["inventory_stockitem"] == 5
    assert "catalog" in manifest["migrations"]

    restored = run_shelfwatch(["restore", str(archive)], restore_env)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    # One moment's copy: every item's quantity is what its own ledger adds up to.
    ledgers = restored_ledgers(restore_env)
    assert len(ledgers) == 5 and all(quantity == total for quantity, total in ledgers)
    moved = manifest["row_counts"]["inventory_stockmovement"]
    assert moved >= 5 and sum(STOCKED - q for q, _ in ledgers) == moved - 5
    data = Path(restore_env["DATA_DIR"])
    media = Path(settings.MEDIA_ROOT) / "products" / "sourdough.jpg"
    assert sha256(data / "media" / "products" / "sourdough.jpg") == sha256(media)
    assert (data / "feeds" / "orders" / "1.json.gz").read_bytes() == b"\x1f\x8b a feed snapshot"
    # Restoring over a database that now has rows is refused.
    again = run_shelfwatch(["restore", str(archive)], restore_env)
    assert again.returncode == 1 and "not empty" in again.stderr


def test_a_backup_from_a_newer_version_is_refused_before_anything_is_written(
    subprocess_env, restore_env, tmp_path
):
    populate()
    made = run_shelfwatch(["backup", "--to", str(tmp_path / "backups")], subprocess_env)
    assert made.returncode == 0, made.stderr
    [archive] = (tmp_path / "backups").glob("shelfwatch-backup-*.tar")
    newer = tmp_path / "newer.tar"
    with tarfile.open(archive) as source, tarfile.open(newer, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name == MANIFEST:
                manifest = json.loads(data)
                manifest["version"] = "9.0.0"
                manifest["migrations"]["catalog"].append("0099_from_the_future")
                data = json.dumps(manifest).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    refused = run_shelfwatch(["restore", str(newer)], restore_env)
    assert refused.returncode == 1
    assert "9.0.0" in refused.stderr and "catalog.0099_from_the_future" in refused.stderr
    assert not (Path(restore_env["DATA_DIR"]) / "media").exists()
    if connection.vendor == "sqlite":
        with sqlite3.connect(restore_env["SQLITE_PATH"]) as target:
            tables = target.execute("SELECT count(*) FROM sqlite_master WHERE type='table'")
            assert tables.fetchone()[0] == 0


def restored_image_keys(env: dict[str, str]) -> list[str]:
    sql = "SELECT original FROM catalog_imageblob ORDER BY original"
    if connection.vendor == "sqlite":
        with sqlite3.connect(env["SQLITE_PATH"]) as restored:
            return [row[0] for row in restored.execute(sql)]
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as restored:
        return [row[0] for row in restored.execute(sql)]


def test_with_media_in_a_bucket_the_backup_names_the_bucket_and_restores_against_it(
    subprocess_env, restore_env, tmp_path, s3_media
):
    from shelfwatch.catalog.images import store_image
    from tests.catalog.images_factory import jpeg

    populate()
    blob = store_image(data=jpeg(seed=21))
    bucket_env = {
        "MEDIA_S3_BUCKET": s3_media.name,
        "MEDIA_S3_ENDPOINT_URL": s3_media.endpoint.url,
        "MEDIA_S3_REGION": "us-east-1",
        "MEDIA_S3_ACCESS_KEY_ID": "test-access-key",
        "MEDIA_S3_SECRET_ACCESS_KEY": "test-secret-key",
    }
    in_bucket = s3_media.keys()

    made = run_shelfwatch(
        ["backup", "--to", str(tmp_path / "backups")], {**subprocess_env, **bucket_env}
    )

    assert made.returncode == 0, made.stdout + made.stderr
    assert f"bucket {s3_media.name}" in made.stdout
    [archive] = (tmp_path / "backups").glob("shelfwatch-backup-*.tar")
    with tarfile.open(archive) as opened:
        manifest = json.loads(opened.extractfile(MANIFEST).read())
        members = opened.getnames()
    # The bucket is named, not copied; the local media folder is not read at all.
    assert manifest["media_bucket"]["bucket"] == s3_media.name
    assert [m for m in members if m.startswith(("media/", "feeds/"))] == []
    assert s3_media.keys() == in_bucket

    # An installation without the bucket would restore rows naming pictures it cannot find.
    refused = run_shelfwatch(["restore", str(archive)], restore_env)
    assert refused.returncode == 1 and f"S3 bucket '{s3_media.name}'" in refused.stderr
    assert restored_table_count(restore_env) == 0

    restored = run_shelfwatch(["restore", str(archive)], {**restore_env, **bucket_env})
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert restored_image_keys(restore_env) == [blob.original]
    assert blob.original in s3_media.keys("images/")


def restored_table_count(env: dict[str, str]) -> int:
    """How many tables the restore target holds (0: nothing was written)."""
    if connection.vendor == "sqlite":
        path = Path(env["SQLITE_PATH"])
        if not path.exists():
            return 0
        with sqlite3.connect(path) as target:
            return target.execute(
                "SELECT count(*) FROM sqlite_master WHERE type='table'"
            ).fetchone()[0]
    import psycopg

    with psycopg.connect(env["DATABASE_URL"]) as target:
        return target.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
