"""What the dashboard's import pages say to a shop owner, in the page's language: the
fields a column can hold, how a file was read, and why a file or a job was refused (by the
domain error's stable `code`, never its English `detail` or a field's internal name)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shelfwatch.errors import DomainError
from shelfwatch.imports.mapping import FIELDS

FIELD_LABELS = {
    "name": gettext_lazy("Product name"),
    "quantity": gettext_lazy("Stock on hand"),
    "selling_price": gettext_lazy("Selling price (MRP)"),
    "barcode": gettext_lazy("Barcode (EAN)"),
    "sku": gettext_lazy("Item code (SKU)"),
    "brand": gettext_lazy("Brand"),
    "category": gettext_lazy("Category"),
    "unit": gettext_lazy("Unit"),
    "net_quantity": gettext_lazy("Pack size"),
    "cost_price": gettext_lazy("Cost price"),
    "reorder_level": gettext_lazy("Reorder level"),
    "supplier": gettext_lazy("Supplier"),
    "location": gettext_lazy("Shelf or location"),
}

STATUS_LABELS = {
    "queued": gettext_lazy("Waiting to start"),
    "running": gettext_lazy("Importing"),
    "completed": gettext_lazy("Finished"),
    "failed": gettext_lazy("Stopped on an error"),
    "cancelled": gettext_lazy("Cancelled"),
}

ROW_STATUS_LABELS = {
    "failed": gettext_lazy("Not imported"),
    "skipped": gettext_lazy("Skipped"),
}

MODE_LABELS = {
    "both": gettext_lazy("Add new items and update the ones already stocked"),
    "create": gettext_lazy("Only add new items"),
    "update": gettext_lazy("Only update items already stocked"),
}

_SAVE_AS_CSV = gettext_lazy(
    "In your billing software or spreadsheet, save or export the sheet as CSV and upload that."
)


def _megabytes(count: int) -> str:
    return f"{count / (1024 * 1024):.0f}"


PROBLEMS: dict[str, Callable[[], str]] = {
    "file_too_large": lambda: (
        _(
            "The file is too large: at most %(size)s MB can be imported at once. Split it into "
            "smaller files."
        )
        % {"size": _megabytes(settings.IMPORT_MAX_BYTES)}
    ),
    "empty_file": lambda: _("The file is empty."),
    "binary_file": lambda: _("This is not a CSV file.") + " " + str(_SAVE_AS_CSV),
    "no_rows": lambda: _("The file has a header line but no products under it."),
    "bad_header": lambda: _("The first line cannot be read.") + " " + str(_SAVE_AS_CSV),
    "no_header": lambda: _("The first line should name the columns, such as Name, Qty, MRP."),
    "line_too_long": lambda: _("The first line is too long to be a header line."),
    "too_many_columns": lambda: (
        _("The file has more than %(count)s columns. Remove the columns you do not need.")
        % {"count": settings.IMPORT_MAX_COLUMNS}
    ),
    "duplicate_column": lambda: _(
        "Two columns have the same name. Rename one of them in the sheet and upload it again."
    ),
    "invalid_mode": lambda: _("Choose what the import should do."),
    "invalid_mapping": lambda: _("Choose for each column what it holds."),
    "unknown_column": lambda: _("The column choices do not match this file: check them again."),
    "unknown_field": lambda: _("Choose what each column holds from the list."),
    "no_identifying_column": lambda: _(
        "Tell us which column holds the product name, the barcode or the item code: "
        "choose it below."
    ),
    "preview_gone": lambda: _(
        "That upload is no longer here (it was started already, or it is more than a day "
        "old). Upload the file again."
    ),
    "preview_not_kept": lambda: _("The file could not be kept for the preview. Try again."),
    "file_missing": lambda: _("The uploaded file could not be found any more."),
    "uploader_gone": lambda: _("The person who uploaded the file can no longer import."),
    "internal_error": lambda: _(
        "The import stopped on an unexpected error. The rows before it were imported."
    ),
}


def problem_text(error: DomainError | str) -> str:
    """The shop owner's words for a refused file or a failed job (by its code)."""
    code = error if isinstance(error, str) else error.code
    words = PROBLEMS.get(code)
    if words is not None:
        return words()
    # A code added to the reader later: said generally until it is worded above.
    return _("The file could not be imported.") + " " + str(_SAVE_AS_CSV)


def encoding_label(encoding: str) -> str:
    """How the file's characters were read, as a person names it."""
    return {
        "utf-8": "UTF-8",
        "utf-8-sig": "UTF-8",
        "utf-16": "UTF-16",
        "cp1252": _("Windows (Excel) characters"),
    }.get(encoding, encoding)


def delimiter_label(delimiter: str) -> str:
    """What separates the values of a line."""
    return {
        ",": _("commas"),
        ";": _("semicolons"),
        "\t": _("tabs"),
        "|": _("bars (|)"),
    }.get(delimiter, repr(delimiter))


def row_summary(fields: dict[str, Any] | None) -> list[tuple[str, str]]:
    """A previewed row's values as (label, value), in the order of FIELDS, blanks left out
    and the pack size shown with its unit."""
    if not fields:
        return []
    shown = []
    for field in FIELDS:
        value = fields.get(field)
        if field == "unit" or value in (None, ""):
            continue
        if field == "net_quantity" and fields.get("net_unit"):
            amount = value.rstrip("0").rstrip(".") if "." in value else value
            value = f"{amount} {fields['net_unit']}"
        shown.append((str(FIELD_LABELS.get(field, field)), str(value)))
    return shown
