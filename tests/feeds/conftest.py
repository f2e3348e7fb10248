"""Fixtures of the feeds tests: owners, stocked stores, datasets and keys that may read them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.conftest import Caller


@pytest.fixture
def admin_user(make_user):
    return make_user("feeds-admin@example.com", admin=True)


@pytest.fixture
def stocked_store(store_a, admin_user):
    """Store A with three stocked products."""
    from shelfwatch.catalog.models import Product
    from shelfwatch.inventory.models import StockItem

    for index in range(3):
        product = Product.objects.create(name=f"Loaf {index}", brand="Bakehouse")
        StockItem.objects.create(
            store=store_a,
            product=product,
            quantity=5 + index,
            selling_price=Decimal("2.50") + index,
        )
    return store_a


@pytest.fixture
def make_dataset(admin_user):
    from shelfwatch.feeds.datasets import create_dataset

    def make(name: str = "inventory", *, kind: str = "internal", config=None, owner=None, **extra):
        return create_dataset(
            name=name,
            source_kind=kind,
            source_config=config if config is not None else {"table": "inventory"},
            owner=owner or admin_user,
            **extra,
        )

    return make


@pytest.fixture
def reader_key(make_user):
    """A key factory: `reader_key("inventory")` may read that dataset (and only that one)."""
    from shelfwatch.accounts.api_keys import create_api_key
    from shelfwatch.accounts.models import ApiKey

    user = make_user("feed-client@example.com")

    def make(*dataset_names: str, scopes=("read",)) -> str:
        created = create_api_key(user=user, name="client", scopes=list(scopes))
        granted = [f"feeds:{name}" for name in dataset_names]
        ApiKey.objects.filter(pk=created.key.pk).update(scopes=[*created.key.scopes, *granted])
        return created.raw

    return make


@pytest.fixture
def feed_client(client, reader_key):
    def make(*dataset_names: str, scopes=("read", "write")) -> Caller:
        return Caller(client, {"X-API-Key": reader_key(*dataset_names, scopes=scopes)})

    return make


def refresh_now(dataset):
    """Claim and run a refresh in this process, as the worker would; returns the run."""
    from shelfwatch.feeds.refresh import claim_refresh, run_refresh

    run = claim_refresh(dataset=dataset, trigger="command")
    assert run is not None, "a refresh was already in progress"
    return run_refresh(run.pk)


@pytest.fixture(autouse=True)
def _own_feeds_dir(settings, tmp_path):
    """Each test stores its snapshots apart, so file listings see only its own."""
    settings.FEEDS_DIR = tmp_path / "feeds"
