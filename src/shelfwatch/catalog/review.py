"""The admin review of catalog products: approve, reject with a reason, merge a duplicate.

A merge moves everything that points at the duplicate to the survivor in one transaction
(stock items, images, regional names, the barcode), then leaves the duplicate as a
tombstone whose `merged_into` redirects old links. Apps that hold product references of
their own connect to `product_merged`, which is sent inside that transaction.
"""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.models import Product, ProductImage, RegionalName, VerificationStatus
from shelfwatch.catalog.products import build_search_text
from shelfwatch.catalog.quality import refresh_quality_score
from shelfwatch.errors import Conflict, Invalid
from shelfwatch.events.publishing import emit

# Sent with duplicate=, survivor=, principal= inside the merge transaction.
product_merged = Signal()


class InvalidReview(Invalid):
    code = "invalid_review"


def _locked(product_id: int) -> Product:
    return Product.objects.select_for_update().get(pk=product_id)


def _decide(product: Product, *, status: str, notes: str, principal: Principal) -> Product:
    with transaction.atomic():
        product = _locked(product.pk)
        if product.is_merged:
            raise Conflict("this product was merged into another", code="product_merged")
        product.status = status
        product.review_notes = notes
        product.reviewed_by = principal.user
        product.reviewed_at = timezone.now()
        product.save(update_fields=["status", "review_notes", "reviewed_by", "reviewed_at"])
        topics = [f"product:{product.pk}"]
        if product.created_by_id:
            topics.append(f"user:{product.created_by_id}")
        emit(
            type=f"catalog.product_{status}",
            payload={"product_id": product.pk, "status": status, "notes": notes},
            topics=topics,
        )
    return product


def approve_product(*, product: Product, principal: Principal, notes: str = "") -> Product:
    """Mark the product verified by `principal` and emit the event; a merged product raises
    Conflict."""
    return _decide(product, status=VerificationStatus.VERIFIED, notes=notes, principal=principal)


def reject_product(*, product: Product, principal: Principal, reason: str) -> Product:
    """Mark the product rejected by `principal` with `reason` and emit the event; raises
    InvalidReview without a reason and Conflict for a merged product."""
    if not (reason or "").strip():
        raise InvalidReview("a rejection needs a reason", code="reason_required")
    return _decide(
        product, status=VerificationStatus.REJECTED, notes=reason.strip(), principal=principal
    )


def merge_products(*, duplicate: Product, survivor: Product, principal: Principal) -> Product:
    """Fold `duplicate` into `survivor`; returns the survivor. Other apps move their own
    rows (stock, watched items) on `product_merged`, inside the same transaction."""
    if duplicate.pk == survivor.pk:
        raise InvalidReview("a product cannot be merged into itself", code="merge_into_self")
    with transaction.atomic():
        # Locked in id order, so two merges of the same pair cannot deadlock.
        first, second = sorted([duplicate.pk, survivor.pk])
        locked = {first: _locked(first), second: _locked(second)}
        duplicate, survivor = locked[duplicate.pk], locked[survivor.pk]
        if duplicate.is_merged or survivor.is_merged:
            raise Conflict("one of these products was already merged", code="product_merged")
        _move_images(duplicate, survivor)
        _move_regional_names(duplicate, survivor)
        barcode = duplicate.barcode
        if barcode:
            Product.objects.filter(pk=duplicate.pk).update(barcode=None)
            duplicate.barcode = None
            if not survivor.barcode:
                survivor.barcode = barcode
        product_merged.send(
            sender=Product, duplicate=duplicate, survivor=survivor, principal=principal
        )
        duplicate.merged_into = survivor
        duplicate.status = VerificationStatus.REJECTED
        duplicate.review_notes = f"merged into product {survivor.pk}"
        duplicate.reviewed_by = principal.user
        duplicate.reviewed_at = timezone.now()
        duplicate.save()
        survivor.search_text = build_search_text(survivor)
        survivor.save()
        refresh_quality_score(survivor)
        emit(
            type="catalog.product_merged",
            payload={"duplicate_id": duplicate.pk, "survivor_id": survivor.pk},
            topics=[f"product:{duplicate.pk}", f"product:{survivor.pk}"],
        )
    return survivor


def _move_images(duplicate: Product, survivor: Product) -> None:
    have = set(survivor.images.values_list("blob_id", flat=True))
    position = survivor.images.count()
    for image in ProductImage.objects.filter(product=duplicate).order_by("position", "id"):
        if image.blob_id in have:
            image.delete()
            continue
        image.product = survivor
        image.position = position
        image.save(update_fields=["product", "position"])
        position += 1


def _move_regional_names(duplicate: Product, survivor: Product) -> None:
    have = set(survivor.regional_names.values_list("language", "name"))
    for regional in RegionalName.objects.filter(product=duplicate):
        if (regional.language, regional.name) in have:
            regional.delete()
        else:
            regional.product = survivor
            regional.save(update_fields=["product"])
