"""Candidates for many descriptions at once, among the products of the same brand and size.

A bulk import cannot ask the full matcher (`matching.find_candidates`, word lookups and
tens of scored products, about 15 ms) about every row it does not find by barcode: at a
million rows that is hours. Most such rows either are new products (a barcode the catalog
lacks) or are catalog products written a little differently (upper case, the size left
out of the name), and both keep their brand and pack size. So a few indexed queries per
batch (one per group of brands, `_brand_groups`) fetch the products whose brand (in any
case) is one of the batch's and whose size is one of the batch's sizes (or unknown), and
each description is scored, with the matcher's own model and the catalog's word
statistics, against its few closest products of that block only. The work per row is
bounded by BLOCK_SCORED, whatever the catalog's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models.query import prefetch_related_objects
from rapidfuzz import fuzz

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.matching import (
    Candidate,
    candidate_pool,
    catalog_stats,
    described_quantity,
    record_of,
)
from shelfwatch.catalog.models import Product
from shelfwatch.catalog.normalize import Quantity
from shelfwatch.catalog.similarity import (
    CANDIDATE_THRESHOLD,
    ProductRecord,
    prepare,
    score_many,
)
from shelfwatch.catalog.word_lookup import CANDIDATE_COLUMNS

# Products of one block the model scores for a description: the closest by a quick text
# comparison (2 us a pair); the model costs about 0.25 ms a product.
BLOCK_SCORED = 3
# Products held at once while a batch's blocks are compared: a bound on memory; the
# batch's brands are taken in groups that stay under it (one brand past it alone keeps
# its first BLOCK_FETCHED products).
BLOCK_FETCHED = 5_000
_BRANDS_PER_QUERY = 300


@dataclass(frozen=True)
class Description:
    """A product as a spreadsheet row describes it. `has_barcode`: the row carries a
    barcode the catalog lacks, so only products without one can be it."""

    name: str
    brand: str = ""
    net_quantity: Decimal | None = None
    net_unit: str = ""
    has_barcode: bool = False


def _block_key(brand: str, quantity: Quantity | None) -> tuple[str, Quantity | None]:
    return brand.strip().lower(), quantity


def block_candidates(
    principal: Principal | None, descriptions: list[Description], *, limit: int = 3
) -> list[list[Candidate]]:
    """Per description (in order), the products of its brand and size the caller can see
    that may be it, best first, at most `limit`; empty when its block holds none."""
    if not descriptions:
        return []
    quantities = [described_quantity(d.net_quantity, d.net_unit, d.name) for d in descriptions]
    chosen: list[list[Product]] = [[] for _ in descriptions]
    # The caller's view of the catalog (visibility, merges, rejections) applied to them.
    pool = candidate_pool(principal).only(*CANDIDATE_COLUMNS).order_by()
    # Group by group of brands, so memory holds one group's blocks at a time and no
    # description loses its block to the others' (as the catalog grew, a batch's blocks
    # outgrew one fetch, and the rows cut off went to the costly whole-catalog search).
    for group, ids in _brand_groups(descriptions, quantities):
        products = list(pool.filter(pk__in=ids))
        by_block: dict[tuple[str, Quantity | None], list[Product]] = {}
        by_brand: dict[str, list[Product]] = {}
        for product in products:
            quantity = described_quantity(product.net_quantity, product.net_unit, product.name)
            key = _block_key(product.brand, quantity)
            by_block.setdefault(key, []).append(product)
            by_brand.setdefault(key[0], []).append(product)
        for i in group:
            description, quantity = descriptions[i], quantities[i]
            key = _block_key(description.brand, quantity)
            block = by_block.get(key, []) if quantity is not None else by_brand.get(key[0], [])
            if description.has_barcode:
                block = [product for product in block if product.barcode is None]
            chosen[i] = _closest(description, block)
    wanted = {product.pk: product for block in chosen for product in block}
    if not wanted:
        return [[] for _ in descriptions]
    prefetch_related_objects(list(wanted.values()), "regional_names")
    records = {pk: record_of(product) for pk, product in wanted.items()}
    queries = [
        record_of_description(description, quantity)
        for description, quantity in zip(descriptions, quantities, strict=True)
    ]
    # One lookup of the word statistics for the whole batch.
    stats = catalog_stats([*queries, *records.values()])
    prepared = {pk: prepare(record, stats) for pk, record in records.items()}
    out: list[list[Candidate]] = []
    for query, block in zip(queries, chosen, strict=True):
        if not block:
            out.append([])
            continue
        scores = score_many(prepare(query, stats), [prepared[p.pk] for p in block], stats=stats)
        found = [
            Candidate(
                product_id=product.pk,
                name=product.name,
                brand=product.brand,
                status=product.status,
                score=result.score,
                reasons=list(result.reasons),
            )
            for product, result in zip(block, scores, strict=True)
            if result.score >= CANDIDATE_THRESHOLD
        ]
        found.sort(key=lambda c: (-c.score, c.product_id))
        out.append(found[:limit])
    return out


def _brand_groups(
    descriptions: list[Description], quantities: list[Quantity | None]
) -> list[tuple[list[int], list[int]]]:
    """The descriptions' positions in groups of whole brands whose blocks together hold at
    most BLOCK_FETCHED products, with the ids of those products: groups of
    _BRANDS_PER_QUERY brands, halved while they hold more (one statement of ids each
    time); a brand alone past it keeps its first BLOCK_FETCHED."""
    by_brand: dict[str, list[int]] = {}
    for i, description in enumerate(descriptions):
        by_brand.setdefault(description.brand.strip().lower(), []).append(i)
    brands = sorted(by_brand)
    pending = [brands[i : i + _BRANDS_PER_QUERY] for i in range(0, len(brands), _BRANDS_PER_QUERY)]
    groups: list[tuple[list[int], list[int]]] = []
    while pending:
        chunk = pending.pop()
        members = [i for brand in chunk for i in by_brand[brand]]
        wanted = _wanted([descriptions[i] for i in members], [quantities[i] for i in members])
        ids = _block_ids(wanted, BLOCK_FETCHED + 1)
        if len(chunk) > 1 and len(ids) > BLOCK_FETCHED:
            half = len(chunk) // 2
            pending += [chunk[:half], chunk[half:]]
            continue
        groups.append((members, ids[:BLOCK_FETCHED]))
    return groups


def record_of_description(description: Description, quantity: Quantity | None) -> ProductRecord:
    """The matcher's view of a description (no barcode: it is compared by its text)."""
    return ProductRecord(name=description.name, brand=description.brand, quantity=quantity)


def products_by_id(candidates: list[list[Candidate]]) -> dict[int, Product]:
    """The products the candidates name, in one query (for linking rows to them)."""
    ids = {c.product_id for found in candidates for c in found}
    return Product.objects.in_bulk(list(ids)) if ids else {}


def _wanted(
    descriptions: list[Description], quantities: list[Quantity | None]
) -> dict[str, set[Decimal] | None]:
    """{brand (lower case): the stored sizes wanted, None for any}."""
    wanted: dict[str, set[Decimal] | None] = {}
    for description, quantity in zip(descriptions, quantities, strict=True):
        brand = description.brand.strip().lower()
        if quantity is None:
            wanted[brand] = None  # any size
        elif brand not in wanted or wanted[brand] is not None:
            wanted.setdefault(brand, set()).update(_stored_amounts(quantity))
    return wanted


def _block_ids(wanted: dict[str, set[Decimal] | None], limit: int) -> list[int]:
    """The ids of the products of these brands (lower case) in these stored sizes (None:
    any), or of unknown size, in one statement: one range of the brand and size index per
    term. Written out rather than built from a Q tree of hundreds of terms, which costs
    the ORM a hundred times what the database spends on it."""
    meta = Product._meta
    quote = connection.ops.quote_name
    brand = f"LOWER({quote(meta.get_field('brand').column)})"
    size_field = meta.get_field("net_quantity")
    size = quote(size_field.column)
    terms: list[str] = []
    params: list[object] = []
    for name, amounts in wanted.items():
        if amounts is None:
            terms.append(f"{brand} = %s")
            params.append(name)
            continue
        marks = ", ".join(["%s"] * len(amounts))
        terms.append(f"({brand} = %s AND {size} IN ({marks}))")
        params += [name, *(size_field.get_db_prep_value(a, connection) for a in sorted(amounts))]
        terms.append(f"({brand} = %s AND {size} IS NULL)")
        params.append(name)
    sql = (
        f"SELECT {quote(meta.pk.column)} FROM {quote(meta.db_table)} "  # noqa: S608
        f"WHERE {' OR '.join(terms)} LIMIT {int(limit)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _stored_amounts(quantity: Quantity) -> list[Decimal]:
    """The amounts a product of this size may be stored with: in the base unit, or in
    kilograms or litres (the catalog keeps the unit it was given)."""
    amounts = [quantity.amount]
    if quantity.unit in ("g", "ml"):
        larger = quantity.amount / 1000
        if larger == larger.quantize(Decimal("0.001")):
            amounts.append(larger)
    return amounts


def _closest(description: Description, block: list[Product]) -> list[Product]:
    """The BLOCK_SCORED products of `block` whose indexed text is closest to the
    description's (rapidfuzz's token-set ratio)."""
    if len(block) <= BLOCK_SCORED:
        return block
    text = f"{description.brand} {description.name}".casefold()
    keyed = sorted(
        block, key=lambda p: (-fuzz.token_set_ratio(text, p.search_text.casefold()), p.pk)
    )
    return keyed[:BLOCK_SCORED]
