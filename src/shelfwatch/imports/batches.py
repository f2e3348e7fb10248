"""Placing one batch of rows: every row is resolved against the catalog and the store
first, then the batch is written with a handful of bulk statements (new products, new
items, changed items, stock moves, their events, the row records).

When a bulk write clashes with a change made at the same time (a barcode or an item taken
meanwhile), that write is undone and the batch's rows are placed again one by one, each in
its own savepoint, so one row's clash fails that row only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import DataError, IntegrityError, transaction

from shelfwatch.accounts.principal import Principal
from shelfwatch.catalog.models import Category, Product
from shelfwatch.catalog.products import NewProduct, create_products, prepare_product
from shelfwatch.errors import DomainError
from shelfwatch.imports.finding import Finder
from shelfwatch.imports.first_lines import FirstLines
from shelfwatch.imports.models import ImportJob, ImportMode
from shelfwatch.imports.models import RowStatus as S
from shelfwatch.imports.outcomes import Outcome, column_of
from shelfwatch.imports.reading import Row
from shelfwatch.imports.rows import RowData, RowProblem, read_row
from shelfwatch.inventory.models import MovementReason, StockItem
from shelfwatch.inventory.stock import PlannedMove, move_stock_batch
from shelfwatch.inventory.stock_items import (
    add_stock_item,
    add_stock_items,
    clean_details,
    update_stock_item,
    update_stock_items,
)

logger = logging.getLogger("shelfwatch.imports")


@dataclass
class _Plan:
    """A row resolved but not yet written: the product (or the new one) and item it goes
    to, and the details it sets."""

    data: RowData
    outcome: Outcome
    product: Product | None = None
    new: NewProduct | None = None
    item: StockItem | None = None
    details: dict[str, Any] = field(default_factory=dict)


class Batch:
    """One batch of rows: resolved against the catalog and the store, written, counted."""

    def __init__(self, job: ImportJob, principal: Principal, seen: FirstLines) -> None:
        self.job = job
        self.store = job.store
        self.principal = principal
        self.seen = seen  # barcode -> the line it was first met on, across the whole file
        self.outcomes: list[Outcome] = []
        self.targets: dict[int, tuple[StockItem, int]] = {}
        self.categories: dict[str, int | None] = {}
        # Outcomes of rows whose details the item already had, by item id.
        self.unchanged: dict[int, Outcome] = {}
        # Items this batch added: no one else sees them before it commits, so they hold 0.
        self.fresh: set[int] = set()
        self.found = Finder(job, principal)

    def run(self, rows: list[Row]) -> list[Outcome]:
        """Place `rows`, inside the caller's transaction; the outcome of each non-blank row."""
        parsed = self._parse(rows)
        self.found.look_up(parsed)
        plans = self._plan(parsed)
        try:
            with transaction.atomic():
                self._write(plans)
        except (DomainError, IntegrityError, DataError) as exc:
            logger.info(
                "import %s: a bulk write clashed (%s); rows placed one by one", self.job.pk, exc
            )
            self._write_one_by_one(plans)
        self._move_stock()
        self.outcomes.extend(plan.outcome for plan in plans)
        return self.outcomes

    # --- reading ---------------------------------------------------------------------------

    def _parse(self, rows: list[Row]) -> list[tuple[Row, RowData]]:
        read: list[tuple[Row, RowData] | Outcome] = []
        for row in rows:
            if row.problem:
                read.append(Outcome(row, S.FAILED, "unreadable_line", "", row.problem))
                continue
            if not any(cell.strip() for cell in row.cells):
                continue  # a blank line: nothing to import, nothing to report
            try:
                read.append((row, read_row(row.cells, self.job.header, self.job.mapping)))
            except RowProblem as exc:
                read.append(Outcome(row, S.FAILED, exc.code, exc.column, exc.message))
        # The earlier batches' barcodes are asked for once, then this batch's are added.
        first = self.seen.earlier(
            entry[1].barcode for entry in read if type(entry) is tuple and entry[1].barcode
        )
        new: list[tuple[str, int]] = []
        parsed: list[tuple[Row, RowData]] = []
        for entry in read:
            if type(entry) is not tuple:
                self.outcomes.append(entry)
                continue
            row, data = entry
            if data.barcode:
                line = first.get(data.barcode)
                if line is not None:
                    self.outcomes.append(
                        Outcome(
                            row,
                            S.FAILED,
                            "repeated_barcode",
                            column_of(self.job.mapping, "barcode"),
                            f"the barcode {data.barcode} is also on line {line}; "
                            "each product should be on one line",
                        )
                    )
                    continue
                first[data.barcode] = row.line
                new.append((data.barcode, row.line))
            parsed.append((row, data))
        self.seen.remember(new)
        return parsed

    # --- resolving -------------------------------------------------------------------------

    def _plan(self, parsed: list[tuple[Row, RowData]]) -> list[_Plan]:
        plans: list[_Plan] = []
        for row, data in parsed:
            plan = _Plan(data=data, outcome=Outcome(row, S.FAILED))
            try:
                plan.product, plan.item = self.found.find(data, plan.outcome)
            except RowProblem as exc:
                plan.outcome.fail(exc, self.job)
                self.outcomes.append(plan.outcome)
                continue
            if plan.outcome.status == S.SKIPPED:
                self.outcomes.append(plan.outcome)
                continue
            plans.append(plan)
        # The store's items of products the matcher or a merge led to, in one query.
        unknown = {
            plan.product.pk
            for plan in plans
            if plan.item is None
            and plan.product is not None
            and plan.product.pk not in self.found.looked_up
            and plan.product.pk not in self.found.by_product
        }
        if unknown:
            for item in StockItem.objects.filter(store=self.store, product_id__in=unknown):
                self.found.by_product[item.product_id] = item
        drafts: dict[tuple, NewProduct] = {}
        ready: list[_Plan] = []
        for plan in plans:
            try:
                self._settle(plan, drafts)
            except (RowProblem, DomainError) as exc:
                plan.outcome.fail(exc, self.job)
            if plan.outcome.status in (S.FAILED, S.SKIPPED):
                self.outcomes.append(plan.outcome)
            else:
                ready.append(plan)
        return ready

    def _settle(self, plan: _Plan, drafts: dict[tuple, NewProduct]) -> None:
        """Apply the import's mode to a found row, or prepare the new product it needs."""
        data, outcome = plan.data, plan.outcome
        if plan.item is None and plan.product is not None:
            plan.item = self.found.by_product.get(plan.product.pk)
        if plan.item is not None and self.job.mode == ImportMode.CREATE:
            outcome.status, outcome.code = S.SKIPPED, "already_stocked"
            outcome.message = "the store already has this product (the import only adds new ones)"
            outcome.product_id, outcome.item_id = plan.item.product_id, plan.item.pk
            return
        if plan.item is None and self.job.mode == ImportMode.UPDATE:
            outcome.status, outcome.code = S.SKIPPED, "not_stocked"
            outcome.message = "the store does not have this product (the import only updates)"
            return
        plan.details = clean_details(data.details())
        if plan.product is None:
            key = _draft_key(data)
            plan.new = drafts.get(key)
            if plan.new is None:
                plan.new = drafts[key] = self._prepare(data)
                outcome.status = S.CREATED
            else:
                # The file names one new product twice: the second row is that product.
                outcome.duplicate = True
                outcome.status = S.MATCHED
        elif plan.item is None:
            outcome.status = S.MATCHED if outcome.duplicate else S.CREATED
        else:
            outcome.status = S.MATCHED if outcome.duplicate else S.UPDATED

    def _prepare(self, data: RowData) -> NewProduct:
        if not data.name:
            raise RowProblem(
                "no product in the catalog has this barcode or SKU; add a name to create it",
                column=column_of(self.job.mapping, "name"),
                code="name_required",
            )
        return prepare_product(
            principal=self.principal,
            name=data.name,
            brand=data.brand,
            category_id=self._category_id(data.category),
            barcode=data.barcode,
            net_quantity=data.net_quantity,
            net_unit=data.net_unit,
        )

    def _category_id(self, name: str) -> int | None:
        if not name:
            return None
        key = name.casefold()
        if key not in self.categories:
            leaf = Category.objects.filter(name__iexact=name, children__isnull=True).first()
            self.categories[key] = leaf.pk if leaf else None
        return self.categories[key]

    # --- writing ---------------------------------------------------------------------------

    def _write(self, plans: list[_Plan]) -> None:
        """The whole batch in bulk statements (inside the caller's savepoint)."""
        drafts = list({id(p.new): p.new for p in plans if p.new is not None}.values())
        create_products(principal=self.principal, products=drafts)
        for plan in plans:
            if plan.new is not None:
                plan.product = plan.new.product
        # One new item per product, with the details of the last row naming it.
        fresh: dict[int, _Plan] = {}
        changed: dict[int, tuple[StockItem, dict[str, Any]]] = {}
        for plan in plans:
            if plan.item is None:
                fresh.setdefault(plan.product.pk, plan).details.update(plan.details)
                continue
            # Only what differs from the item as read: a row repeating the store's values
            # (a daily stock export) writes nothing, and moves nothing if its count holds.
            item = plan.item
            differs = {k: v for k, v in plan.details.items() if getattr(item, k) != v}
            if differs:
                changed.setdefault(item.pk, (item, {}))[1].update(differs)
            else:
                self.unchanged[item.pk] = plan.outcome
        for pk in changed:
            self.unchanged.pop(pk, None)  # another row of the file changes that item
        # A new item starts with the last quantity the batch's rows give it, written by its
        # INSERT (with its ledger row and events): no UPDATE of a row just inserted.
        opening = dict.fromkeys(fresh, 0)
        for plan in plans:
            if plan.item is None and plan.data.quantity is not None:
                opening[plan.product.pk] = plan.data.quantity
        added = add_stock_items(
            store=self.store,
            principal=self.principal,
            entries=[(plan.product, plan.details) for plan in fresh.values()],
            opening=list(opening.values()),
            reference=self._reference,
        )
        items = {item.product_id: item for item in added}
        self.fresh = {item.pk for item in added}
        updated = update_stock_items(principal=self.principal, changes=list(changed.values()))
        items.update((item.product_id, item) for item in updated)
        for plan in plans:
            plan.item = items.get(plan.product.pk, plan.item)
            self._placed(plan)

    def _placed(self, plan: _Plan) -> None:
        item, data = plan.item, plan.data
        self.found.by_product[item.product_id] = item
        if data.sku:
            self.found.by_sku[data.sku] = item
        if data.quantity is not None:
            self.targets[item.pk] = (item, data.quantity)
        plan.outcome.product_id, plan.outcome.item_id = item.product_id, item.pk

    def _write_one_by_one(self, plans: list[_Plan]) -> None:
        """The slow path after a clash: each row found again and written in its own
        savepoint, so a row that clashes fails alone."""
        self.targets = {}
        self.unchanged = {}
        self.fresh = set()
        # Found again: what clashed may be a barcode or an item written meanwhile.
        self.found.look_up([(plan.outcome.row, plan.data) for plan in plans])
        for plan in plans:
            row = plan.outcome.row
            plan.outcome = Outcome(row, S.FAILED)
            try:
                with transaction.atomic():
                    self._apply(plan.data, plan.outcome)
            except (RowProblem, DomainError, IntegrityError, DataError) as exc:
                plan.outcome.fail(exc, self.job)

    def _apply(self, data: RowData, outcome: Outcome) -> None:
        product, item = self.found.find(data, outcome)
        if outcome.status == S.SKIPPED:
            return
        if item is None and product is not None:
            item = self.found.by_product.get(product.pk)
            if item is None and product.pk not in self.found.looked_up:
                item = StockItem.objects.filter(store=self.store, product=product).first()
        plan = _Plan(data=data, outcome=outcome, product=product, item=item)
        self._settle(plan, {})
        if outcome.status == S.SKIPPED:
            return
        if plan.new is not None:
            plan.product = create_products(principal=self.principal, products=[plan.new])[0]
        if plan.item is None:
            plan.item = add_stock_item(
                store=self.store,
                product=plan.product,
                principal=self.principal,
                details=plan.details,
            )
        elif plan.details:
            plan.item = update_stock_item(
                item=plan.item, principal=self.principal, details=plan.details
            )
        self._placed(plan)

    def _move_stock(self) -> None:
        # Locked, so a sale between our read and our move is not overwritten.
        stocked = [pk for pk in self.targets if pk not in self.fresh]
        # New items already hold the batch's last quantity for them: no move is left.
        current = {pk: item.quantity for pk, (item, _) in self.targets.items() if pk in self.fresh}
        if stocked:
            current.update(
                StockItem.objects.select_for_update()
                .filter(pk__in=stocked)
                .values_list("pk", "quantity")
            )
        moves = [
            PlannedMove(item=item, delta=quantity - current[pk])
            for pk, (item, quantity) in self.targets.items()
            if quantity != current[pk]
        ]
        for pk, outcome in self.unchanged.items():
            if pk not in self.targets or self.targets[pk][1] == current[pk]:
                outcome.code = "unchanged"
                outcome.message = (
                    outcome.message or "the store's item already had these values; nothing written"
                )
        move_stock_batch(
            moves=moves,
            reason=MovementReason.IMPORT,
            reference=self._reference,
            actor=self.principal.user,
        )

    @property
    def _reference(self) -> str:
        return f"import {self.job.pk}"


def _draft_key(data: RowData) -> tuple:
    if data.barcode:
        return ("barcode", data.barcode)
    quantity = None if data.net_quantity is None else Decimal(data.net_quantity).normalize()
    return ("name", data.name.casefold(), data.brand.casefold(), quantity, data.net_unit)
