"""Running an import job: rows read as a stream, written in batches, each batch in its
own transaction together with the job's counts.

A worker holds a job through a lease that each batch renews. A worker that dies leaves the
lease to lapse; the job is then claimed again and resumes after `processed`, the rows its
last committed batch covered, so no row is applied twice (and `ImportRow`'s (job, line)
uniqueness would refuse a second record of one). Cancelling flips the status; the batch
that sees it rolls back and nothing more is written.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DataError, IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from shelfwatch.accounts.principal import Principal
from shelfwatch.accounts.user_cache import active_user
from shelfwatch.catalog.matching import find_candidates
from shelfwatch.catalog.models import Category, Product, VerificationStatus
from shelfwatch.catalog.products import create_product
from shelfwatch.errors import DomainError
from shelfwatch.events.publishing import emit
from shelfwatch.imports.models import FINISHED, ImportJob, ImportMode, ImportRow, JobStatus
from shelfwatch.imports.models import RowStatus as S
from shelfwatch.imports.notices import tell_uploader
from shelfwatch.imports.reading import CsvFile, Row, UnreadableFile
from shelfwatch.imports.rows import RowData, RowProblem, read_row
from shelfwatch.inventory.models import MovementReason, StockItem
from shelfwatch.inventory.stock import PlannedMove, move_stock_many
from shelfwatch.inventory.stock_items import add_stock_item, update_stock_item

logger = logging.getLogger("shelfwatch.imports")

# A matcher score at or above this links the row to the catalog product (a duplicate
# found); below it, down to the catalog's own MATCH_THRESHOLD, the row is held back.
CONFIDENT_MATCH = 0.85
LIKELY_MATCH = 0.5


class JobLost(Exception):
    """The job was cancelled, or another worker took it over, while a batch ran."""


def worker_id() -> str:
    """This process as a lease owner: host and pid, at most 64 characters."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def claim_job(job_id: int, *, owner: str) -> ImportJob | None:
    """Take job `job_id` for `owner` if it is queued, or running under a lapsed lease."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.IMPORT_LEASE_SECONDS)
    claimable = Q(status=JobStatus.QUEUED) | Q(status=JobStatus.RUNNING, lease_until__lt=now)
    taken = ImportJob.objects.filter(claimable, pk=job_id).update(
        status=JobStatus.RUNNING, lease_owner=owner, lease_until=lease
    )
    if not taken:
        return None
    ImportJob.objects.filter(pk=job_id, started_at__isnull=True).update(started_at=now)
    return ImportJob.objects.select_related("store", "uploaded_by").get(pk=job_id)


def stalled_jobs() -> list[int]:
    """Running jobs whose worker stopped renewing its lease (it died)."""
    return list(
        ImportJob.objects.filter(status=JobStatus.RUNNING, lease_until__lt=timezone.now())
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass
class _Outcome:
    row: Row
    status: str
    code: str = ""
    column: str = ""
    message: str = ""
    product_id: int | None = None
    item_id: int | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    duplicate: bool = False

    def record(self, job: ImportJob) -> ImportRow:
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


@dataclass
class _Counts:
    processed: int = 0
    successful: int = 0
    failed: int = 0
    skipped: int = 0
    duplicates_found: int = 0


class _Batch:
    """One batch of rows: resolved against the catalog and the store, written, counted."""

    def __init__(self, job: ImportJob, principal: Principal, seen: dict[str, int]) -> None:
        self.job = job
        self.store = job.store
        self.principal = principal
        self.seen = seen
        self.outcomes: list[_Outcome] = []
        self.targets: dict[int, tuple[StockItem, int]] = {}

    def run(self, rows: list[Row]) -> list[_Outcome]:
        parsed: list[tuple[Row, RowData]] = []
        for row in rows:
            if row.problem:
                self.outcomes.append(_Outcome(row, S.FAILED, "unreadable_line", "", row.problem))
                continue
            if not any(cell.strip() for cell in row.cells):
                continue  # a blank line: nothing to import, nothing to report
            try:
                data = read_row(row.cells, self.job.header, self.job.mapping)
            except RowProblem as exc:
                self.outcomes.append(_Outcome(row, S.FAILED, exc.code, exc.column, exc.message))
                continue
            if data.barcode:
                first = self.seen.get(data.barcode)
                if first is not None:
                    self.outcomes.append(
                        _Outcome(
                            row,
                            S.FAILED,
                            "repeated_barcode",
                            _column_of(self.job.mapping, "barcode"),
                            f"the barcode {data.barcode} is also on line {first}; "
                            "each product should be on one line",
                        )
                    )
                    continue
                self.seen[data.barcode] = row.line
            parsed.append((row, data))
        # One query each for the batch's barcodes and SKUs.
        codes = [data.barcode for _, data in parsed if data.barcode]
        self.by_barcode = {p.barcode: p for p in Product.objects.filter(barcode__in=codes)}
        skus = [data.sku for _, data in parsed if data.sku]
        self.by_sku: dict[str, StockItem] = {}
        for item in StockItem.objects.filter(store=self.store, sku__in=skus).order_by("pk"):
            self.by_sku.setdefault(item.sku, item)
        self.looked_up = {product.pk for product in self.by_barcode.values()}
        self.by_product = {
            item.product_id: item
            for item in StockItem.objects.filter(
                store=self.store, product__in=list(self.by_barcode.values())
            )
        }
        for row, data in parsed:
            outcome = _Outcome(row, S.FAILED)
            try:
                with transaction.atomic():
                    self._apply(data, outcome)
            except (RowProblem, DomainError, IntegrityError, DataError) as exc:
                outcome.status = S.FAILED
                outcome.product_id = outcome.item_id = None
                outcome.duplicate = False
                outcome.code, outcome.column, outcome.message = _problem_of(exc, self.job)
            self.outcomes.append(outcome)
        self._move_stock()
        return self.outcomes

    def _apply(self, data: RowData, outcome: _Outcome) -> None:
        product, item = self._find(data, outcome)
        if outcome.status == S.SKIPPED:
            return
        mode = self.job.mode
        if item is None and product is not None:
            item = self.by_product.get(product.pk)
            if item is None and product.pk not in self.looked_up:
                item = StockItem.objects.filter(store=self.store, product=product).first()
        if item is not None and mode == ImportMode.CREATE:
            outcome.status, outcome.code = S.SKIPPED, "already_stocked"
            outcome.message = "the store already has this product (the import only adds new ones)"
            outcome.product_id, outcome.item_id = item.product_id, item.pk
            return
        if item is None and mode == ImportMode.UPDATE:
            outcome.status, outcome.code = S.SKIPPED, "not_stocked"
            outcome.message = "the store does not have this product (the import only updates)"
            return
        if product is None:
            product = self._create_product(data)
            outcome.status = S.CREATED
        if item is None:
            item = add_stock_item(
                store=self.store, product=product, principal=self.principal, details=data.details()
            )
            outcome.status = S.MATCHED if outcome.duplicate else S.CREATED
        else:
            if data.details():
                item = update_stock_item(
                    item=item, principal=self.principal, details=data.details()
                )
            outcome.status = S.MATCHED if outcome.duplicate else S.UPDATED
        self.by_product[product.pk] = item
        if data.sku:
            self.by_sku[data.sku] = item
        if data.quantity is not None:
            self.targets[item.pk] = (item, data.quantity)
        outcome.product_id, outcome.item_id = product.pk, item.pk

    def _find(self, data: RowData, outcome: _Outcome) -> tuple[Product | None, StockItem | None]:
        """The catalog product (and the store's item) the row describes: by barcode, by the
        store's SKU, then by the matcher."""
        if data.barcode and data.barcode in self.by_barcode:
            return _usable(self.by_barcode[data.barcode]), None
        if data.sku and data.sku in self.by_sku:
            item = self.by_sku[data.sku]
            return item.product, item
        if not data.name:
            return None, None
        candidates = find_candidates(
            principal=self.principal,
            name=data.name,
            brand=data.brand,
            net_quantity=data.net_quantity,
            net_unit=data.net_unit,
            limit=3,
        )
        # A product with another barcode is another product, however alike the names.
        if data.barcode and candidates:
            coded = set(
                Product.objects.filter(
                    pk__in=[c.product_id for c in candidates], barcode__isnull=False
                ).values_list("pk", flat=True)
            )
            candidates = [c for c in candidates if c.product_id not in coded]
        best = candidates[0] if candidates else None
        if best is not None and best.score >= CONFIDENT_MATCH:
            outcome.duplicate = True
            outcome.message = f"matched to catalog product {best.product_id} ({best.name})"
            return _usable(Product.objects.get(pk=best.product_id)), None
        likely = [c.as_dict() for c in candidates if c.score >= LIKELY_MATCH]
        if likely:
            outcome.status, outcome.code = S.SKIPPED, "possible_duplicate"
            outcome.candidates = likely
            outcome.message = (
                f"this looks like {likely[0]['name']!r} (product {likely[0]['product_id']}) "
                "already in the catalog; add its barcode or your SKU to the row to be sure"
            )
        return None, None

    def _create_product(self, data: RowData) -> Product:
        if not data.name:
            raise RowProblem(
                "no product in the catalog has this barcode or SKU; add a name to create it",
                column=_column_of(self.job.mapping, "name"),
                code="name_required",
            )
        return create_product(
            principal=self.principal,
            name=data.name,
            brand=data.brand,
            category_id=_category_id(data.category),
            barcode=data.barcode,
            net_quantity=data.net_quantity,
            net_unit=data.net_unit,
            confirm_new=True,  # the matcher has already been asked, just above
        )

    def _move_stock(self) -> None:
        if not self.targets:
            return
        # Locked, so a sale between our read and our move is not overwritten.
        current = dict(
            StockItem.objects.select_for_update()
            .filter(pk__in=list(self.targets))
            .values_list("pk", "quantity")
        )
        moves = [
            PlannedMove(item=item, delta=quantity - current[pk])
            for pk, (item, quantity) in self.targets.items()
            if quantity != current[pk]
        ]
        move_stock_many(
            moves=moves,
            reason=MovementReason.IMPORT,
            reference=f"import {self.job.pk}",
            actor=self.principal.user,
        )


def _usable(product: Product) -> Product:
    while product.merged_into_id is not None:
        product = Product.objects.get(pk=product.merged_into_id)
    if product.status == VerificationStatus.REJECTED:
        raise RowProblem(
            f"the catalog rejected product {product.pk} ({product.name}); it cannot be stocked",
            code="product_rejected",
        )
    return product


def _category_id(name: str) -> int | None:
    if not name:
        return None
    leaf = Category.objects.filter(name__iexact=name, children__isnull=True).first()
    return leaf.pk if leaf else None


def _column_of(mapping: dict[str, str], wanted: str) -> str:
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
        return exc.code, _column_of(job.mapping, column) if column else "", exc.detail
    if isinstance(exc, DataError):
        return "unstorable_value", "", "a value of the row is too large to store; check its numbers"
    return "conflict", "", "the row clashes with a change made at the same time; import it again"


def open_file(job: ImportJob) -> CsvFile:
    """The job's stored file, opened for reading past its header."""
    csv_file = CsvFile(
        default_storage.open(job.file_name, "rb"), encoding=job.encoding, delimiter=job.delimiter
    )
    csv_file.read_header()
    return csv_file


def count_rows(job: ImportJob) -> int:
    """The data rows of the job's file: its records after the header, blank lines too (they
    are positions in the file, so `processed` counts the same way)."""
    csv_file = open_file(job)
    try:
        return sum(1 for _ in csv_file.rows())
    finally:
        csv_file.close()


def _batches(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _progress_payload(job: ImportJob) -> dict[str, Any]:
    return {
        "job_id": job.pk,
        "store_id": job.store_id,
        "status": job.status,
        "total_rows": job.total_rows,
        "processed": job.processed,
        "successful": job.successful,
        "failed": job.failed,
        "skipped": job.skipped,
        "duplicates_found": job.duplicates_found,
    }


def _topics(job: ImportJob) -> list[str]:
    topics = [f"store:{job.store_id}"]
    if job.uploaded_by_id:
        topics.append(f"user:{job.uploaded_by_id}")
    return topics


def _commit_batch(job: ImportJob, owner: str, outcomes: list[_Outcome], covered: int) -> None:
    """Record the batch's rows and counts, if the job is still ours (else JobLost)."""
    counts = _Counts(processed=covered)
    for outcome in outcomes:
        if outcome.status == S.FAILED:
            counts.failed += 1
        elif outcome.status == S.SKIPPED:
            counts.skipped += 1
        else:
            counts.successful += 1
        counts.duplicates_found += outcome.duplicate
    ImportRow.objects.bulk_create(
        [outcome.record(job) for outcome in sorted(outcomes, key=lambda o: o.row.line)]
    )
    job.processed += counts.processed
    job.successful += counts.successful
    job.failed += counts.failed
    job.skipped += counts.skipped
    job.duplicates_found += counts.duplicates_found
    lease = timezone.now() + timedelta(seconds=settings.IMPORT_LEASE_SECONDS)
    kept = ImportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING, lease_owner=owner).update(
        processed=job.processed,
        successful=job.successful,
        failed=job.failed,
        skipped=job.skipped,
        duplicates_found=job.duplicates_found,
        lease_until=lease,
    )
    if not kept:
        raise JobLost
    emit(type="imports.progress", payload=_progress_payload(job), topics=_topics(job))


def _finish(job: ImportJob, owner: str, *, status: str, code: str = "", error: str = "") -> bool:
    with transaction.atomic():
        done = ImportJob.objects.filter(
            pk=job.pk, status=JobStatus.RUNNING, lease_owner=owner
        ).update(
            status=status,
            error_code=code,
            error=error,
            completed_at=timezone.now(),
            lease_owner="",
            lease_until=None,
        )
        if not done:
            return False
        job.refresh_from_db()
        emit(type="imports.finished", payload=_progress_payload(job), topics=_topics(job))
        tell_uploader(job)
    return True


def run_job(
    job_id: int, *, owner: str | None = None, progress: Callable[[ImportJob], None] | None = None
) -> ImportJob | None:
    """Run (or resume) job `job_id` to its end if it can be claimed; None if it cannot
    (another worker holds it, or it has ended)."""
    owner = owner or worker_id()
    job = claim_job(job_id, owner=owner)
    if job is None:
        return None
    cached = active_user(job.uploaded_by_id) if job.uploaded_by_id else None
    if cached is None:
        _finish(
            job,
            owner,
            status=JobStatus.FAILED,
            code="uploader_gone",
            error="the person who uploaded the file can no longer import",
        )
        return job
    principal = Principal.of(cached, "import")
    try:
        if job.total_rows is None:
            job.total_rows = count_rows(job)
            ImportJob.objects.filter(pk=job.pk).update(total_rows=job.total_rows)
        csv_file = open_file(job)
    except (UnreadableFile, OSError) as exc:
        code = getattr(exc, "code", "file_missing")
        _finish(job, owner, status=JobStatus.FAILED, code=code, error=str(exc))
        return job
    seen: dict[str, int] = {}
    try:
        rows = csv_file.rows()
        _skip_done(job, rows, seen)
        for batch in _batches(rows, settings.IMPORT_BATCH_SIZE):
            with transaction.atomic():
                outcomes = _Batch(job, principal, seen).run(batch)
                _commit_batch(job, owner, outcomes, len(batch))
            if progress is not None:
                progress(job)
    except JobLost:
        logger.info("import %s was cancelled or taken over; stopped", job.pk)
        job.refresh_from_db()
        return job
    except Exception:
        logger.exception("import %s failed", job.pk)
        _finish(
            job,
            owner,
            status=JobStatus.FAILED,
            code="internal_error",
            error="the import stopped on an unexpected error; the rows before it landed",
        )
        return job
    finally:
        csv_file.close()
    _finish(job, owner, status=JobStatus.COMPLETED)
    job.refresh_from_db()
    return job


def _skip_done(job: ImportJob, rows: Iterator[Row], seen: dict[str, int]) -> None:
    """Read past the rows committed batches covered, remembering their barcodes (a later
    repeat is still one), so a resumed job goes on exactly where it stopped."""
    if not job.processed:
        return
    for _, row in zip(range(job.processed), rows, strict=False):
        if row.problem or not any(cell.strip() for cell in row.cells):
            continue
        try:
            data = read_row(row.cells, job.header, job.mapping)
        except RowProblem:
            continue
        if data.barcode:
            seen.setdefault(data.barcode, row.line)


def cancel_job(*, job: ImportJob) -> bool:
    """Stop `job`: a queued one never starts, a running one stops before its next batch
    commits. False when it had already ended."""
    with transaction.atomic():
        stopped = (
            ImportJob.objects.filter(pk=job.pk)
            .exclude(status__in=FINISHED)
            .update(
                status=JobStatus.CANCELLED,
                completed_at=timezone.now(),
                lease_owner="",
                lease_until=None,
            )
        )
        job.refresh_from_db()
        if stopped:
            emit(type="imports.finished", payload=_progress_payload(job), topics=_topics(job))
            tell_uploader(job)
    return bool(stopped)
