"""The problems loyalty operations answer with; each `code` is stable for clients."""

from __future__ import annotations

from shelfwatch.errors import Conflict, Invalid


class InsufficientPoints(Conflict):
    code = "insufficient_points"


class PointsOverCap(Invalid):
    code = "points_over_cap"


class InvalidPoints(Invalid):
    code = "invalid_points"


class LoyaltyDisabled(Conflict):
    code = "loyalty_disabled"


class AlreadyRedeemed(Conflict):
    code = "already_redeemed"
