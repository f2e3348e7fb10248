"""Candidate products for a product about to be created, ranked, with the reasons.

Three kinds of evidence: the same barcode, the same picture (perceptual hash), and a
name + brand + quantity (+ regional names) that the matcher in `similarity.py` scores as
alike. The full-text index narrows 100,000s of products to a few dozen first, so only
those are scored, with the word statistics of the catalog itself (`catalog_stats`: the
search index's own document counts, so they are as current as the index).

The word lookups, which forgive typos, joined words, abbreviations and other scripts, are
`word_lookup.py`'s.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.barcodes import InvalidBarcode, normalize_barcode
from shelfwatch.catalog.match_reasons import reason_code
from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.catalog.normalize import Quantity, parse_quantity, to_canonical
from shelfwatch.catalog.search import query_terms
from shelfwatch.catalog.selectors import visible_products
from shelfwatch.catalog.similarity import (
    CANDIDATE_THRESHOLD,
    MATCH_THRESHOLD,
    CorpusStats,
    ProductRecord,
    prepare,
    score_many,
)
from shelfwatch.catalog.word_lookup import document_counts, text_candidates
from shelfwatch.db_plans import unprepared

IMAGE_MAX_DISTANCE = 6  # bits of 64 in which two pictures may differ and still be one


@dataclass
class Candidate:
    product_id: int
    name: str
    brand: str
    status: str
    score: float
    reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The candidate as a JSON-ready dict."""
        return {
            "product_id": self.product_id,
            "name": self.name,
            "brand": self.brand,
            "status": self.status,
            "score": self.score,
            "reasons": self.reasons,
            "reason_codes": [reason_code(r).as_dict() for r in self.reasons],
        }


def described_quantity(amount: Decimal | None, unit: str, name: str) -> Quantity | None:
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
        quantity=described_quantity(product.net_quantity, product.net_unit, product.name),
        regional_names=tuple(r.name for r in product.regional_names.all()),
        barcode=product.barcode,
    )


def catalog_stats(records: list[ProductRecord]) -> CorpusStats:
    """Word statistics of the catalog for the words of `records` (`document_counts`), as
    the matcher weighs words: the same statistics the benchmark builds from its tables."""
    words = [word for r in records for word in query_terms(f"{r.brand} {r.name}")]
    documents, counts = document_counts(words)
    return CorpusStats(documents=documents, frequencies=Counter(counts))


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


@unprepared
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
    exclude_id: int | None = None,
    without_barcode: bool = False,
) -> list[Candidate]:
    """Products the caller can see that may be the described one, best first (leaving
    out `exclude_id`, the product itself when it is already stored). `without_barcode`
    looks only at products that have none: for a description with a barcode the catalog
    lacks, any product with a barcode is another product."""
    pool = candidate_pool(principal)
    if exclude_id is not None:
        pool = pool.exclude(pk=exclude_id)
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
        quantity=described_quantity(net_quantity, net_unit, name),
        regional_names=tuple(regional_names),
        barcode=None,
    )
    nearby = text_candidates(pool, name=name, brand=brand, regional_names=regional_names)
    if without_barcode:
        # Dropped after the word lookups rather than in them: a `barcode IS NULL` beside
        # the full-text match leads SQLite's planner to test every barcode-less product.
        nearby = [product for product in nearby if product.barcode is None]
    records = [record_of(product) for product in nearby]
    stats = catalog_stats([query, *records])
    prepared = prepare(query, stats)
    results = score_many(prepared, [prepare(r, stats) for r in records], stats=stats)
    for product, result in zip(nearby, results, strict=True):
        if result.score >= CANDIDATE_THRESHOLD:
            _add(found, product, result.score, list(result.reasons))
    ranked = sorted(found.values(), key=lambda c: (-c.score, c.product_id))
    return ranked[:limit]


def candidate_pool(principal: Principal | None):
    """The products the caller may be offered as candidates: visible, not merged into
    another, not rejected."""
    return (
        visible_products(principal)
        .filter(merged_into__isnull=True)
        .exclude(status=VerificationStatus.REJECTED)
    )


def any_without_barcode(principal: Principal | None) -> bool:
    """Whether the caller can see any product without a barcode: when none, a description
    with a barcode the catalog lacks has no candidate at all (see `find_candidates`)."""
    return candidate_pool(principal).filter(barcode__isnull=True).exists()


def same_product_key(
    name: str, brand: str, net_quantity: Decimal | None, net_unit: str
) -> tuple[str, str, Quantity | None]:
    """What two descriptions must share to be the same product without scoring: the name
    as written, the brand in any case, the net quantity in canonical units."""
    return name.strip(), brand.strip().casefold(), described_quantity(net_quantity, net_unit, name)


def exact_matches(
    principal: Principal | None, names: list[str]
) -> dict[tuple[str, str, Quantity | None], list[Product]]:
    """The products the caller can see named exactly as one of `names`, by
    `same_product_key`: one indexed lookup for many descriptions (bulk imports), before
    the scorer is asked about the rest."""
    found: dict[tuple[str, str, Quantity | None], list[Product]] = {}
    wanted = list(dict.fromkeys(name.strip() for name in names if name.strip()))
    if not wanted:
        return found
    for product in candidate_pool(principal).filter(name__in=wanted).order_by("pk"):
        key = same_product_key(product.name, product.brand, product.net_quantity, product.net_unit)
        found.setdefault(key, []).append(product)
    return found


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


def candidates_for(product: Product, *, principal: Principal | None, limit: int = 3):
    """The best candidates for a stored product (the review queue's view): other products
    that may be the same one."""
    return find_candidates(
        principal=principal,
        name=product.name,
        brand=product.brand,
        net_quantity=product.net_quantity,
        net_unit=product.net_unit,
        regional_names=[r.name for r in product.regional_names.all()],
        limit=limit,
        exclude_id=product.pk,
    )


def likely_duplicates(candidates: list[Candidate]) -> list[Candidate]:
    """The candidates strong enough to stop a creation without confirmation."""
    return [c for c in candidates if c.score >= MATCH_THRESHOLD]
