"""Analytics fixtures: a store with products on its shelf, and a recorder emptied of the
hits other tests left behind."""

from __future__ import annotations

from decimal import Decimal

import pytest

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36"
PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile"
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture
def recorder(db, settings):
    """The hit recorder with nothing pending; flushes only when asked (or when a test
    lowers the thresholds)."""
    from shelfwatch.analytics import tracking, visitors
    from shelfwatch.analytics.models import SearchMiss, Visit

    settings.ANALYTICS_FLUSH_HITS = 1_000_000
    settings.ANALYTICS_FLUSH_SECONDS = 1_000_000
    settings.THROTTLE_ENABLED = False
    visitors.forget()
    if settings.REDIS_URL:
        # A process another test killed mid-flush may have left the drain lock behind.
        tracking._client().delete(tracking.LOCK_KEY)
    tracking.flush()
    Visit.objects.all().delete()
    SearchMiss.objects.all().delete()
    return tracking


@pytest.fixture
def shelf(store_a, make_user):
    """Two verified products stocked at store A."""
    from shelfwatch.accounts.principal import Principal
    from shelfwatch.catalog.products import create_product
    from shelfwatch.inventory.models import StockItem

    curator = Principal(user=make_user("curator@example.com", admin=True), method="session")
    products = []
    for name in ("Sourdough loaf", "Masala chai 250 g"):
        product = create_product(principal=curator, name=name, confirm_new=True)
        StockItem.objects.create(
            store=store_a, product=product, quantity=5, selling_price=Decimal("99.00")
        )
        products.append(product)
    return products


def choose(client, store) -> None:
    """Pick `store` on the storefront, as a shopper does."""
    response = client.post("/store/", {"store": str(store.pk), "next": "/products/"})
    assert response.status_code == 302


# The report tests' store history, shared by their files.
from tests.analytics.reports_world import world  # noqa: E402, F401
