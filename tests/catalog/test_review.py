"""The admin review of products: the queue, decisions, merges, and the admin actions."""

from __future__ import annotations

import pytest
from django.urls import reverse

from shelfwatch.catalog.models import Product, RegionalName, VerificationStatus
from shelfwatch.events.models import Event
from shelfwatch.inventory.models import StockItem, StockMovement
from shelfwatch.inventory.stock import move_stock

pytestmark = pytest.mark.django_db


def pending(name: str, **fields) -> Product:
    return Product.objects.create(name=name, status=VerificationStatus.PENDING, **fields)


def test_queue_puts_the_most_stocked_product_first(callers, store_a, store_b):
    lonely = pending("Lonely Pickle")
    popular = pending("Popular Papad")
    StockItem.objects.create(store=store_a, product=popular)
    StockItem.objects.create(store=store_b, product=popular)
    StockItem.objects.create(store=store_a, product=lonely)
    pending("Unstocked Chutney")
    queue = callers["admin"].get("/api/v1/catalog/review").json()
    assert [(p["name"], p["store_count"]) for p in queue] == [
        ("Popular Papad", 2),
        ("Lonely Pickle", 1),
        ("Unstocked Chutney", 0),
    ]


def test_approve_and_reject_record_who_and_why(callers):
    product = pending("Haldiram's Bhujia 400 g")
    url = f"/api/v1/catalog/review/{product.pk}"
    refused = callers["admin"].post(f"{url}/reject", {"reason": "   "})
    assert refused.status_code == 422 and refused.json()["code"] == "reason_required"
    rejected = callers["admin"].post(f"{url}/reject", {"reason": "blurry label, no brand"})
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["review_notes"] == "blurry label, no brand"
    approved = callers["admin"].post(f"{url}/approve", {"notes": "fixed"})
    assert approved.json()["status"] == "verified"
    product.refresh_from_db()
    assert product.reviewed_by == callers["users"]["admin"]
    assert list(
        Event.objects.filter(type__startswith="catalog.product_").values_list("type", flat=True)
    ) == ["catalog.product_rejected", "catalog.product_verified"]
    assert callers["staff_a"].post(f"{url}/approve", {}).status_code == 403


def test_merge_moves_stock_images_names_and_barcode_in_one_go(callers, store_a, store_b):
    survivor = Product.objects.create(
        name="Amul Butter 500 g", brand="Amul", status=VerificationStatus.VERIFIED
    )
    duplicate = pending("AMUL BUTTER 0.5KG", brand="AMUL", barcode="8901262010016")
    RegionalName.objects.create(product=duplicate, language="hi-IN", name="अमूल मक्खन")
    kept = StockItem.objects.create(store=store_a, product=survivor)
    move_stock(item=kept, delta=4, reason="restock")
    doubled = StockItem.objects.create(store=store_a, product=duplicate)
    move_stock(item=doubled, delta=6, reason="restock")
    moved = StockItem.objects.create(store=store_b, product=duplicate)
    move_stock(item=moved, delta=2, reason="restock")

    response = callers["admin"].post(
        f"/api/v1/catalog/review/{duplicate.pk}/merge", {"into": survivor.pk}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["barcode"] == "8901262010016"
    assert body["regional_names"] == {"hi-IN": ["अमूल मक्खन"]}
    # Store A stocked both: one item with the sum, the duplicate's ledger joined to it.
    kept.refresh_from_db()
    assert kept.quantity == 10
    assert StockMovement.objects.filter(item=kept).count() == 3
    assert not StockItem.objects.filter(pk=doubled.pk).exists()
    # Store B stocked only the duplicate: its item now points at the survivor.
    moved.refresh_from_db()
    assert moved.product_id == survivor.pk and moved.quantity == 2
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == survivor.pk and duplicate.barcode is None
    assert Event.objects.filter(type="catalog.product_merged").count() == 1
    # The old id still answers and says where the product went.
    old = callers["admin"].get(f"/api/v1/products/{duplicate.pk}").json()
    assert old["merged_into"] == survivor.pk
    # And a second merge of a tombstone is refused.
    again = callers["admin"].post(
        f"/api/v1/catalog/review/{duplicate.pk}/merge", {"into": survivor.pk}
    )
    assert again.status_code == 409 and again.json()["code"] == "product_merged"


def test_merge_into_itself_is_refused_and_changes_nothing(callers):
    product = pending("Tata Tea Gold 250 g")
    response = callers["admin"].post(
        f"/api/v1/catalog/review/{product.pk}/merge", {"into": product.pk}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "merge_into_self"
    product.refresh_from_db()
    assert product.merged_into_id is None and product.status == "pending"
    assert not Event.objects.exists()


def test_admin_review_queue_and_bulk_actions(client, make_user, store_a):
    make_user("root@example.com", admin=True)
    client.login(email="root@example.com", password="a-long-test-passphrase-42")
    first, second = pending("Kissan Jam 500 g"), pending("Maggi Noodles 70 g")
    queue = client.get(reverse("admin:catalog_reviewqueue_changelist"))
    assert queue.status_code == 200
    assert b"Kissan Jam" in queue.content and b"Maggi Noodles" in queue.content
    response = client.post(
        reverse("admin:catalog_product_changelist"),
        {"action": "approve_selected", "_selected_action": [first.pk, second.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert set(Product.objects.values_list("status", flat=True)) == {"verified"}
    assert b"Kissan Jam" not in client.get(reverse("admin:catalog_reviewqueue_changelist")).content


def test_merge_moves_watched_items_and_their_subscribers_to_the_survivor(callers, store_a, store_b):
    from django.utils import timezone

    from shelfwatch.alerts.models import Subscription
    from shelfwatch.notify.models import Contact
    from shelfwatch.watch.internal import internal_source_for
    from shelfwatch.watch.models import Observation, WatchedItem

    survivor = Product.objects.create(name="Amul Ghee 1 l", status=VerificationStatus.VERIFIED)
    duplicate = Product.objects.create(name="AMUL GHEE 1L", status=VerificationStatus.VERIFIED)
    StockItem.objects.create(store=store_a, product=survivor, quantity=3)
    StockItem.objects.create(store=store_a, product=duplicate, quantity=0)
    StockItem.objects.create(store=store_b, product=duplicate, quantity=0)
    source_a, source_b = internal_source_for(store_a), internal_source_for(store_b)
    kept = WatchedItem.objects.get(source=source_a, product=survivor)
    doubled = WatchedItem.objects.get(source=source_a, product=duplicate)
    alone = WatchedItem.objects.get(source=source_b, product=duplicate)
    Observation.objects.create(item=doubled, name=doubled.name, available=False)
    now = timezone.now()
    asha, ravi = (
        Contact.objects.create(channel="whatsapp", address=address, verified_at=now)
        for address in ("+919800000001", "+919800000002")
    )
    Subscription.objects.create(contact=asha, item=kept)  # on both: the survivor's stays
    on_both = Subscription.objects.create(contact=asha, item=doubled)
    moved = Subscription.objects.create(contact=ravi, item=doubled)
    elsewhere = Subscription.objects.create(contact=ravi, item=alone)

    response = callers["admin"].post(
        f"/api/v1/catalog/review/{duplicate.pk}/merge", {"into": survivor.pk}
    )
    assert response.status_code == 200, response.json()

    assert not WatchedItem.objects.filter(pk=doubled.pk).exists()
    assert not Subscription.objects.filter(pk=on_both.pk).exists()
    assert set(Subscription.objects.filter(item=kept).values_list("contact_id", flat=True)) == {
        asha.pk,
        ravi.pk,
    }
    assert Subscription.objects.get(pk=moved.pk).item_id == kept.pk
    assert Observation.objects.filter(item=kept, name="AMUL GHEE 1L").exists()
    # Store B watched only the duplicate: its item now stands for the survivor.
    alone.refresh_from_db()
    assert (alone.product_id, alone.external_id, alone.name) == (
        survivor.pk,
        str(survivor.pk),
        "Amul Ghee 1 l",
    )
    assert Subscription.objects.get(pk=elsewhere.pk).item_id == alone.pk


def test_review_queue_shows_candidates_with_reasons_and_merges_from_the_page(client, make_user):
    from shelfwatch.catalog.products import build_search_text

    make_user("root@example.com", admin=True)
    client.login(email="root@example.com", password="a-long-test-passphrase-42")
    survivor = Product(name="Amul Butter", brand="Amul", status=VerificationStatus.VERIFIED)
    survivor.search_text = build_search_text(survivor, {})
    survivor.save()
    duplicate = pending("Amul Buttr 500 g", brand="Amul")
    unrelated = pending("Maggi Noodles 70 g", brand="Maggi")
    queue = client.get(reverse("admin:catalog_reviewqueue_changelist"))
    assert queue.status_code == 200
    page = queue.content.decode()
    assert f'value="{duplicate.pk}:{survivor.pk}"' in page
    assert "same brand" in page  # the reasons are shown beside each candidate
    assert f'value="{unrelated.pk}:' not in page
    response = client.post(
        reverse("admin:catalog_reviewqueue_changelist"),
        {"merge_into": f"{duplicate.pk}:{survivor.pk}"},
        follow=True,
    )
    assert response.status_code == 200
    duplicate.refresh_from_db()
    assert duplicate.merged_into_id == survivor.pk
    assert Event.objects.filter(type="catalog.product_merged").count() == 1
    assert (
        "Amul Buttr"
        not in client.get(reverse("admin:catalog_reviewqueue_changelist")).content.decode()
    )


def test_review_queue_merge_of_a_product_into_itself_changes_nothing(client, make_user):
    make_user("root@example.com", admin=True)
    client.login(email="root@example.com", password="a-long-test-passphrase-42")
    product = pending("Kissan Jam 500 g")
    client.post(
        reverse("admin:catalog_reviewqueue_changelist"),
        {"merge_into": f"{product.pk}:{product.pk}"},
        follow=True,
    )
    product.refresh_from_db()
    assert product.merged_into_id is None and product.status == "pending"
