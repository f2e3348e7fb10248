"""What stock moves are described and refused with, shared by `stock` and the batch
statements it delegates to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from shelfwatch.errors import Conflict, Invalid
from shelfwatch.inventory.models import StockItem, StockMovement


class InsufficientStock(Conflict):
    code = "insufficient_stock"


class ShortAtCommit(InsufficientStock):
    """A take written with its transaction's COMMIT did not fit: the statement failed, the
    transaction is aborted and what was left is unknown. Run the change again without
    committing in the moves' statement for the full refusal (or, stock having come back,
    the change)."""


class InvalidMovement(Invalid):
    code = "invalid_movement"


@dataclass(frozen=True)
class Movement:
    """What a move did: the ledger row and the quantities either side of it."""

    movement: StockMovement
    before: int
    after: int


@dataclass(frozen=True)
class PlannedMove:
    """One move of a batch: `delta` units (negative to take) of `item`."""

    item: StockItem
    delta: int


@dataclass(frozen=True)
class LastWrite:
    """The caller's own last write of a change that moves stock, handed to
    `stock.move_stock_many`: `ctes`, data-modifying CTEs of a PostgreSQL WITH (`%s`
    placeholders, values in `params`; they may read the moves' `moved (item_id, q_after,
    q_level, delta)`), are written in the moves' own statement where that statement
    carries the events; elsewhere `fallback()` writes the same after the moves."""

    ctes: str
    params: Sequence[object]
    fallback: Callable[[], None]
