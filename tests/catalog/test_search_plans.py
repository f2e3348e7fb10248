"""With PostgreSQL prepared statements on, searches are still planned for their own words."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.db import connection

from tests.conftest import REPO

# In a process with prepared statements on: other reads run three times, then a search and
# the duplicate check three times each; printed, the statements the connection prepared.
SCRIPT = """
import django
django.setup()
from django.db import connection
from shelfwatch.catalog.matching import find_candidates
from shelfwatch.catalog.models import Product
from shelfwatch.catalog.search import search_products
for _ in range(3):
    list(Product.objects.filter(barcode="8901234567890"))
    search_products(Product.objects.all(), q="masala chai", cursor=None, limit=20)
    find_candidates(principal=None, name="Tata Salt 1 kg", brand="Tata")
with connection.cursor() as cursor:
    cursor.execute("SELECT statement FROM pg_prepared_statements")
    for (statement,) in cursor.fetchall():
        print(" ".join(statement.split()))
"""


@pytest.mark.django_db
def test_searches_are_never_prepared_when_prepared_statements_are_on(subprocess_env):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are a PostgreSQL setting")
    env = {
        **subprocess_env,
        "DB_PREPARED_STATEMENTS": "1",
        "DJANGO_SETTINGS_MODULE": "shelfwatch.config.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    prepared = done.stdout.splitlines()
    # The setting is in force: the plain read was prepared...
    assert any('"barcode" = $1' in statement for statement in prepared), prepared
    # ...but nothing the search or the duplicate check ran.
    assert not [s for s in prepared if "tsquery" in s or "to_tsvector" in s or "LIKE" in s]
