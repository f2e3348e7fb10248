"""The stock file imported with django-import-export, as a Django user following its docs
would write it: the other side of `imports_vs_import_export.py`. Not run on its own.

One resource per model, so the file is imported twice over (Django set up first):

1. `ProductResource` (catalog.Product), keyed by barcode (`import_id_fields`) and loaded
   with `CachedInstanceLoader` (one query for the file's barcodes): a row whose barcode
   no product has creates a product (pending review, `search_text` filled so search finds
   it); rows of products that exist, and rows without a barcode, are skipped (`skip_row`),
   so the shop's spelling never overwrites the catalog's.
2. `StockItemResource` (inventory.StockItem) for one store: the product comes from the
   barcode through a `ForeignKeyWidget` subclass that reads all the file's barcodes in one
   query (the docs' advice for bulk mode), the quantity and MRP become the item's
   quantity and selling price. `force_init_instance`: the store starts empty, so every row
   is a new item and no lookup is made (the docs' fastest case, valid only for a store's
   first import; a second one would break the (store, product) uniqueness and fail).

Both use bulk mode as "Performance tuning" in the docs lists it: `use_bulk`,
`batch_size = 1000` (the default), `skip_diff = True`, no skipped rows kept in the result.
`skip_unchanged` is left off: with `skip_diff` there is no original to compare with, so
it would never skip anything. Widgets reject what the database would refuse (a negative
quantity, a price that is not one, a bad check digit) as validation errors of their row;
an error that reached `bulk_create` would fail its whole batch of 1,000 rows instead.
Sizes and prices are read with the project's own parsers, the same ones our import uses.

What it does not do: no matching by name (rows without a barcode are not imported), no
stock ledger (quantities are written straight into the items), no events, no record of
each row's outcome kept anywhere (errors come back in the result object only), no
resuming after a crash, the whole file is read into memory (tablib) before the import.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import tablib
from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets
from import_export.instance_loaders import CachedInstanceLoader

from shelfwatch.catalog.barcodes import InvalidBarcode, normalize_barcode
from shelfwatch.catalog.models import Product
from shelfwatch.catalog.normalize import parse_quantity
from shelfwatch.catalog.products import build_search_text
from shelfwatch.inventory.models import StockItem
from shelfwatch.prices import parse_price

BATCH_SIZE = 1000


class SizeWidget(widgets.Widget):
    """One part of a pack size such as "500 g": the amount (`part=0`) or the unit (1)."""

    def __init__(self, part: int) -> None:
        super().__init__()
        self.part = part

    def clean(self, value, row=None, **kwargs):
        size = parse_quantity(value or "")
        if size is None:
            return None if self.part == 0 else ""
        return size.amount.quantize(Decimal("0.001")) if self.part == 0 else size.unit


class QuantityWidget(widgets.IntegerWidget):
    def clean(self, value, row=None, **kwargs):
        try:
            number = super().clean(value, row, **kwargs)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a whole number") from None
        if number is not None and number < 0:
            raise ValueError(f"a quantity cannot be negative ({value})")
        return number if number is not None else 0


class PriceWidget(widgets.DecimalWidget):
    def clean(self, value, row=None, **kwargs):
        if self.is_empty(value):
            return None
        amount = parse_price(str(value)).amount
        if amount is None or amount < 0:
            raise ValueError(f"{value!r} is not a price")
        return amount


class ProductByBarcodeWidget(widgets.ForeignKeyWidget):
    """ForeignKeyWidget over Product.barcode answering from a dict filled once per file."""

    def __init__(self) -> None:
        super().__init__(Product, field="barcode")
        self.products: dict[str, Product] = {}

    def load(self, barcodes: set[str]) -> None:
        self.products = {p.barcode: p for p in Product.objects.filter(barcode__in=barcodes)}

    def clean(self, value, row=None, **kwargs):
        code = (value or "").strip()
        if not code:
            raise ValueError("the row has no barcode")
        try:
            return self.products[code]
        except KeyError:
            raise ValueError(f"no product has the barcode {code}") from None


class ProductResource(resources.ModelResource):
    name = fields.Field(attribute="name", column_name="Item Name")
    brand = fields.Field(attribute="brand", column_name="Brand")
    barcode = fields.Field(
        attribute="barcode", column_name="Barcode", widget=widgets.CharWidget(allow_blank=False)
    )
    net_quantity = fields.Field(
        attribute="net_quantity", column_name="Pack Size", widget=SizeWidget(0)
    )
    net_unit = fields.Field(attribute="net_unit", column_name="Pack Size", widget=SizeWidget(1))

    class Meta:
        model = Product
        fields = ("name", "brand", "barcode", "net_quantity", "net_unit")
        import_id_fields = ("barcode",)
        instance_loader_class = CachedInstanceLoader
        use_bulk = True
        batch_size = BATCH_SIZE
        skip_diff = True
        report_skipped = False

    def __init__(self, user) -> None:
        super().__init__()
        self.user = user

    def before_import_row(self, row, **kwargs):
        if row.get("Barcode"):
            try:
                normalize_barcode(row["Barcode"])
            except InvalidBarcode as exc:
                raise ValidationError({"barcode": str(exc)}) from None

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors:
            return False
        return instance.pk is not None or not instance.barcode

    def before_save_instance(self, instance, row, **kwargs):
        instance.created_by = self.user
        instance.search_text = build_search_text(instance, {})


class StockItemResource(resources.ModelResource):
    product = fields.Field(
        attribute="product", column_name="Barcode", widget=ProductByBarcodeWidget()
    )
    quantity = fields.Field(attribute="quantity", column_name="Qty", widget=QuantityWidget())
    selling_price = fields.Field(attribute="selling_price", column_name="MRP", widget=PriceWidget())

    class Meta:
        model = StockItem
        fields = ("product", "quantity", "selling_price")
        import_id_fields = ("product",)
        force_init_instance = True
        use_bulk = True
        batch_size = BATCH_SIZE
        skip_diff = True
        report_skipped = False

    def __init__(self, store) -> None:
        super().__init__()
        self.store = store

    def before_import(self, dataset, **kwargs):
        self.fields["product"].widget.load({code for code in dataset["Barcode"] if code})

    def before_save_instance(self, instance, row, **kwargs):
        instance.store = self.store


def import_file(path: str, *, store, user) -> dict[str, dict[str, int]]:
    """Import the CSV at `path` into `store` (products first, then stock items); the totals
    of each pass as django-import-export counts them."""
    with open(path, encoding="utf-8", newline="") as handle:
        dataset = tablib.Dataset().load(handle, format="csv")
    out = {}
    for name, resource in (
        ("products", ProductResource(user)),
        ("items", StockItemResource(store)),
    ):
        result = resource.import_data(dataset, dry_run=False, raise_errors=False)
        out[name] = dict(result.totals) | {"batch_errors": len(result.base_errors)}
    return out
