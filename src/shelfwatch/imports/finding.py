"""Finding the catalog product (and the store's item) each row of a batch describes: by
barcode, by the store's SKU, by exact name, then by the matcher within the row's brand and
size; each kind of look-up made once for the whole batch."""

from __future__ import annotations

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.block_matching import Description, block_candidates, products_by_id
from shelfwatch.catalog.matching import (
    any_without_barcode,
    exact_matches,
    find_candidates,
    same_product_key,
)
from shelfwatch.catalog.models import Product, VerificationStatus
from shelfwatch.imports.models import ImportJob
from shelfwatch.imports.models import RowStatus as S
from shelfwatch.imports.outcomes import Outcome
from shelfwatch.imports.reading import Row
from shelfwatch.imports.rows import RowData, RowProblem
from shelfwatch.inventory.models import StockItem

# A matcher score at or above this links the row to the catalog product (a duplicate
# found); below it, down to the catalog's own MATCH_THRESHOLD, the row is held back.
CONFIDENT_MATCH = 0.85
LIKELY_MATCH = 0.5
_FOUND_COLUMNS = ("id", "name", "brand", "barcode", "status", "merged_into_id")


class Finder:
    """What a batch's rows lead to in the catalog and the store, looked up all at once."""

    def __init__(self, job: ImportJob, principal: Principal) -> None:
        self.store = job.store
        self.principal = principal
        self.by_product: dict[int, StockItem] = {}
        self.by_sku: dict[str, StockItem] = {}
        self.looked_up: set[int] = set()

    def look_up(self, parsed: list[tuple[Row, RowData]]) -> None:
        """One query each for the batch's barcodes, its SKUs, and the store's items of the
        products those found."""
        codes = [data.barcode for _, data in parsed if data.barcode]
        # Only what placing a row reads: most rows are found here, and the other columns
        # (a JSON document, dates) cost more to convert than the rest of the row.
        found = Product.objects.filter(barcode__in=codes).only(*_FOUND_COLUMNS)
        self.by_barcode = {p.barcode: p for p in found}
        skus = [data.sku for _, data in parsed if data.sku]
        self.by_sku = {}
        for item in StockItem.objects.filter(store=self.store, sku__in=skus).order_by("pk"):
            self.by_sku.setdefault(item.sku, item)
        self.looked_up = {product.pk for product in self.by_barcode.values()}
        self.any_without_barcode = any_without_barcode(self.principal)
        # Rows found by neither are looked up by their exact name first, all at once.
        self.same_named = exact_matches(
            self.principal,
            [
                data.name
                for _, data in parsed
                if data.name and data.barcode not in self.by_barcode and data.sku not in self.by_sku
            ],
        )
        self.by_product = {
            item.product_id: item
            for item in StockItem.objects.filter(
                store=self.store, product_id__in=[p.pk for p in self.by_barcode.values()]
            )
        }
        # The rest are compared with the products of their brand and size, all at once.
        unplaced = [
            (row.line, data)
            for row, data in parsed
            if data.name
            and data.barcode not in self.by_barcode
            and data.sku not in self.by_sku
            and len(self.same_named_as(data)) != 1
            and (not data.barcode or self.any_without_barcode)
        ]
        found = block_candidates(
            self.principal,
            [
                Description(
                    name=data.name,
                    brand=data.brand,
                    net_quantity=data.net_quantity,
                    net_unit=data.net_unit,
                    has_barcode=bool(data.barcode),
                )
                for _, data in unplaced
            ],
        )
        self.in_block = {line: got for (line, _), got in zip(unplaced, found, strict=True)}
        self.block_products = products_by_id(found)

    def same_named_as(self, data: RowData) -> list[Product]:
        """The catalog products named exactly as the row (same name, brand and size)."""
        key = same_product_key(data.name, data.brand, data.net_quantity, data.net_unit)
        # A product with another barcode is another product, however alike the names.
        return [p for p in self.same_named.get(key, ()) if not (data.barcode and p.barcode)]

    def find(self, data: RowData, outcome: Outcome) -> tuple[Product | None, StockItem | None]:
        """The catalog product (and the store's item) the row describes: by barcode, by the
        store's SKU, then by the matcher."""
        if data.barcode and data.barcode in self.by_barcode:
            return usable(self.by_barcode[data.barcode]), None
        if data.sku and data.sku in self.by_sku:
            item = self.by_sku[data.sku]
            return item.product, item
        if not data.name:
            return None, None
        same = self.same_named_as(data)
        if len(same) == 1:
            outcome.duplicate = True
            outcome.message = f"matched to catalog product {same[0].pk} ({same[0].name})"
            return usable(same[0]), None
        if data.barcode and not self.any_without_barcode:
            return None, None
        candidates = self.in_block.get(outcome.row.line, [])
        if not (candidates and candidates[0].score >= LIKELY_MATCH) and not data.barcode:
            # Nothing of its brand and size: the whole catalog is searched. Not for a row
            # with a barcode the catalog lacks: that is a new product unless a product of
            # its brand and size without a barcode is it, which the block has looked at.
            candidates = find_candidates(
                principal=self.principal,
                name=data.name,
                brand=data.brand,
                net_quantity=data.net_quantity,
                net_unit=data.net_unit,
                limit=3,
            )
        best = candidates[0] if candidates else None
        if best is not None and best.score >= CONFIDENT_MATCH:
            outcome.duplicate = True
            outcome.message = f"matched to catalog product {best.product_id} ({best.name})"
            product = self.block_products.get(best.product_id)
            return usable(product or Product.objects.get(pk=best.product_id)), None
        likely = [c.as_dict() for c in candidates if c.score >= LIKELY_MATCH]
        if likely:
            outcome.status, outcome.code = S.SKIPPED, "possible_duplicate"
            outcome.candidates = likely
            outcome.message = (
                f"this looks like {likely[0]['name']!r} (product {likely[0]['product_id']}) "
                "already in the catalog; add its barcode or your SKU to the row to be sure"
            )
        return None, None


def usable(product: Product) -> Product:
    while product.merged_into_id is not None:
        product = Product.objects.get(pk=product.merged_into_id)
    if product.status == VerificationStatus.REJECTED:
        raise RowProblem(
            f"the catalog rejected product {product.pk} ({product.name}); it cannot be stocked",
            code="product_rejected",
        )
    return product
