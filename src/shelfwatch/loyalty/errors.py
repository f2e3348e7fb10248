"""The problems loyalty operations answer with; each `code` is stable for clients."""

from __future__ import annotations

from shelfwatch.http.problems import ApiError, Conflict


class InsufficientPoints(Conflict):
    code = "insufficient_points"


class PointsOverCap(ApiError):
    status = 422
    code = "points_over_cap"


class InvalidPoints(ApiError):
    status = 422
    code = "invalid_points"


class LoyaltyDisabled(Conflict):
    code = "loyalty_disabled"


class AlreadyRedeemed(Conflict):
    code = "already_redeemed"
