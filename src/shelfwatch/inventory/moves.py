"""What stock moves are described and refused with, shared by `stock` and the batch
statements it delegates to."""

from __future__ import annotations

from dataclasses import dataclass

from shelfwatch.errors import Conflict, Invalid
from shelfwatch.inventory.models import StockItem, StockMovement


class InsufficientStock(Conflict):
    code = "insufficient_stock"


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
