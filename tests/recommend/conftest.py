"""The recommendation tests' shop: see grocery_data."""

from __future__ import annotations

import pytest

from tests.recommend.grocery_data import make_grocery


@pytest.fixture
def grocery(db):
    return make_grocery()
