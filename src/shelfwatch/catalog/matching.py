"""Candidate products for a product about to be created, ranked, with the reasons.

Three kinds of evidence: the same barcode, the same picture (perceptual hash), and a
name + brand + quantity (+ regional names) that the matcher in `similarity.py` scores as
alike. The full-text index narrows 100,000s of products to a few dozen first, so only
those are scored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import prefetch_related_objects

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.barcodes import InvalidBarcode, normalize_barcode
from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.catalog.normalize import Quantity, parse_quantity, to_canonical
from shelfwatch.catalog.search import query_terms, word_matches
from shelfwatch.catalog.selectors import visible_products
from shelfwatch.catalog.similarity import (
    CANDIDATE_THRESHOLD,
    MATCH_THRESHOLD,
    ProductRecord,
    prepare,
    score_pair,
)
from shelfwatch.catalog.vocabulary import forms_in_catalog

TEXT_POOL = 40  # products each word lookup hands to the scorer
IMAGE_MAX_DISTANCE = 6
# "500", "500g", "0.5kg", "g", "ml", "pcs", "x": sizes are scored, not looked up.
_QUANTITY_WORD = re.compile(
    r"\d+(?:[.,]\d+)?(?:g|gm|gms|kg|kgs|mg|ml|l|ltr|lt|pc|pcs|x)?|g|gm|gms|kg|ml|l|ltr|pcs?|x|pack"
)  # bits of 64 in which two pictures may differ and still be one


@dataclass
class Candidate:
    product_id: int
    name: str
    brand: str
    status: str
    score: float
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "name": self.name,
            "brand": self.brand,
            "status": self.status,
            "score": self.score,
            "reasons": self.reasons,
        }


def _quantity(amount: Decimal | None, unit: str, name: str) -> Quantity | None:
    if amount is not None and unit:
        try:
            return to_canonical(amount, unit)
        except ValueError:
            return None
    return parse_quantity(name)


def record_of(product: Product) -> ProductRecord:
    """The matcher's view of a stored product (regional names should be prefetched)."""
    return ProductRecord(
        name=product.name,
        brand=product.brand,
        quantity=_quantity(product.net_quantity, product.net_unit, product.name),
        regional_names=tuple(r.name for r in product.regional_names.all()),
        barcode=product.barcode,
    )


def _add(found: dict[int, Candidate], product: Product, score: float, reasons: list[str]) -> None:
    current = found.get(product.pk)
    if current is None:
        found[product.pk] = Candidate(
            product_id=product.pk,
            name=product.name,
            brand=product.brand,
            status=product.status,
            score=score,
            reasons=list(reasons),
        )
        return
    current.score = max(current.score, score)
    current.reasons += [r for r in reasons if r not in current.reasons]


def find_candidates(
    *,
    principal: Principal | None,
    name: str,
    brand: str = "",
    net_quantity: Decimal | None = None,
    net_unit: str = "",
    regional_names: list[str] | tuple[str, ...] = (),
    barcode: str | None = None,
    image_sha256: str | None = None,
    limit: int = 10,
) -> list[Candidate]:
    """Products the caller can see that may be the described one, best first."""
    pool = (
        visible_products(principal)
        .filter(merged_into__isnull=True)
        .exclude(status=VerificationStatus.REJECTED)
    )
    found: dict[int, Candidate] = {}
    if barcode:
        try:
            code = normalize_barcode(barcode)
        except InvalidBarcode:
            code = None
        for product in pool.filter(barcode=code) if code else ():
            _add(found, product, 1.0, ["same barcode"])
    if image_sha256:
        _add_image_candidates(found, pool, image_sha256)
    query = ProductRecord(
        name=name,
        brand=brand,
        quantity=_quantity(net_quantity, net_unit, name),
        regional_names=tuple(regional_names),
        barcode=None,
    )
    prepared = prepare(query)
    nearby = _text_candidates(pool, name=name, brand=brand, regional_names=regional_names)
    for product in nearby:
        result = score_pair(prepared, record_of(product))
        if result.score >= CANDIDATE_THRESHOLD:
            _add(found, product, result.score, list(result.reasons))
    ranked = sorted(found.values(), key=lambda c: (-c.score, c.product_id))
    return ranked[:limit]


def _telling_words(text: str) -> list[str]:
    """The words of `text` worth looking up: not quantities, units or single letters."""
    return [
        word
        for word in query_terms(text)
        if not _QUANTITY_WORD.fullmatch(word) and not (word.isascii() and len(word) < 2)
    ]


def _text_candidates(
    pool, *, name: str, brand: str, regional_names: list[str] | tuple[str, ...]
) -> list[Product]:
    """Up to a few TEXT_POOLs of products sharing words with the description.

    Selective word sets only, never "any word": an OR of common words ("powder", "milk")
    would rank half the catalog. First products holding every word; then, for a name that
    has a word the stored one lacks, those holding the brand (or the first word, which in
    grocery names usually is the brand) and any other word; then each regional name.
    """
    found: dict[int, Product] = {}
    words = _telling_words(f"{brand} {name}")
    regional_terms = [_telling_words(regional) for regional in regional_names]
    # Whole words, but in the forms the catalog holds: "biscuit" also finds "biscuits".
    every = [word for terms in (words, *regional_terms) for word in terms]
    forms = forms_in_catalog(list(dict.fromkeys(every)))

    def group(word: str) -> list[str]:
        return forms.get(word) or [word]

    def take(required: list[str], any_of: list[str] = ()) -> None:
        # Whole words: a prefix lookup of a common word gathers every word it begins (42 ms
        # against 3 ms on PostgreSQL at 200,000 products); the scorer forgives the rest.
        alternatives = [form for word in any_of for form in group(word)]
        matched = word_matches(
            pool, required=[group(word) for word in required], any_of=alternatives, prefix=False
        )
        for product in matched.order_by("-rank", "id")[:TEXT_POOL]:
            found.setdefault(product.pk, product)

    if words:
        take(words)
    if len(found) < TEXT_POOL and len(words) > 1:
        anchor = _telling_words(brand) or words[:1]
        others = [word for word in words if word not in anchor]
        if others:
            take(anchor, others)
    for terms in regional_terms:
        if terms:
            take(terms)
    products = list(found.values())
    prefetch_related_objects(products, "regional_names")
    return products


def _add_image_candidates(found: dict[int, Candidate], pool, image_sha256: str) -> None:
    from shelfwatch.catalog.images import similar_blobs
    from shelfwatch.catalog.models import ImageBlob

    blob = ImageBlob.objects.filter(sha256=image_sha256).first()
    if blob is None:
        return
    distances = {
        other.sha256: distance
        for other, distance in similar_blobs(blob.phash, max_distance=IMAGE_MAX_DISTANCE)
    }
    if not distances:
        return
    products = pool.filter(images__blob__in=list(distances)).distinct()
    for product in products.prefetch_related("images"):
        distance = min(distances.get(i.blob_id, 64) for i in product.images.all())
        reason = "same image" if distance == 0 else f"same image ({distance} bits apart)"
        _add(found, product, 0.95 if distance == 0 else 0.85, [reason])


def likely_duplicates(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates strong enough to stop a creation without confirmation."""
    return [c for c in candidates if c.score >= MATCH_THRESHOLD]
