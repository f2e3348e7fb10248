"""The outcome of one imported row, and failures said the way a shop owner reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from django.db import DataError

from shelfwatch.errors import DomainError
from shelfwatch.fast_insert import JsonText
from shelfwatch.imports.models import ImportJob, ImportRow
from shelfwatch.imports.models import RowStatus as S
from shelfwatch.imports.reading import Row
from shelfwatch.imports.rows import RowProblem

# Most rows keep no cells and no candidates: their JSON is written as it is, not encoded.
_EMPTY = JsonText("[]")


class RowRecord(NamedTuple):
    """An ImportRow's values, in the order of RowRecord._fields (its attribute names)."""

    job_id: int
    line: int
    status: str
    code: str
    column: str
    message: str
    product_id: int | None
    item_id: int | None
    candidates: list[dict[str, Any]] | JsonText
    values: list[str] | JsonText


@dataclass
class Outcome:
    """What became of one row; `record` is its ImportRow."""

    row: Row
    status: str
    code: str = ""
    column: str = ""
    message: str = ""
    product_id: int | None = None
    item_id: int | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    duplicate: bool = False

    def values(self, job: ImportJob) -> RowRecord:
        """`record` as a plain tuple, for a batch written without a model instance a row."""
        kept = self.status in (S.FAILED, S.SKIPPED)
        return RowRecord(
            job.pk,
            self.row.line,
            self.status,
            self.code[:40],
            self.column[:200],
            self.message[:500],
            self.product_id,
            self.item_id,
            self.candidates or _EMPTY,
            self.row.cells if kept else _EMPTY,
        )

    def record(self, job: ImportJob) -> ImportRow:
        """The row's record: the cells are kept only for rows to fix and upload again."""
        kept = self.status in (S.FAILED, S.SKIPPED)
        return ImportRow(
            job=job,
            line=self.row.line,
            status=self.status,
            code=self.code[:40],
            column=self.column[:200],
            message=self.message[:500],
            product_id=self.product_id,
            item_id=self.item_id,
            candidates=self.candidates,
            values=self.row.cells if kept else [],
        )

    def fail(self, exc: Exception, job: ImportJob) -> None:
        """Mark the row failed by `exc`, forgetting what it had been placed on."""
        self.status = S.FAILED
        self.product_id = self.item_id = None
        self.duplicate = False
        self.code, self.column, self.message = _problem_of(exc, job)


def column_of(mapping: dict[str, str], wanted: str) -> str:
    """The file's column mapped to field `wanted`, or ""."""
    return next((column for column, field_ in mapping.items() if field_ == wanted), "")


def _problem_of(exc: Exception, job: ImportJob) -> tuple[str, str, str]:
    """(code, column, message) of a row's failure, for a person to act on."""
    if isinstance(exc, RowProblem):
        return exc.code, exc.column, exc.message
    if isinstance(exc, DomainError):
        column = {
            "invalid_barcode": "barcode",
            "duplicate_barcode": "barcode",
            "invalid_name": "name",
            "unknown_unit": "unit",
            "invalid_quantity": "net_quantity",
            "negative_price": "selling_price",
            "invalid_price": "selling_price",
        }.get(exc.code, "")
        return exc.code, column_of(job.mapping, column) if column else "", exc.detail
    if isinstance(exc, DataError):
        return "unstorable_value", "", "a value of the row is too large to store; check its numbers"
    return "conflict", "", "the row clashes with a change made at the same time; import it again"
