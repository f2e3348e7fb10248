"""Shared by the matcher tests written as invented listing pairs grouped by kind."""

from __future__ import annotations

import pytest


def pair_cases(kinds: dict[str, list[tuple[str, str]]]) -> list:
    """Each (left, right) pair of every kind as a pytest param named by kind and names."""
    return [
        pytest.param(a, b, id=f"{kind}: {a} / {b}") for kind, ps in kinds.items() for a, b in ps
    ]
