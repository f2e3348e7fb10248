"""PostgreSQL: keep the text-search vector in a stored generated column.

Ranking a match needs the vector of every matching row; recomputing it from the text
(to_tsvector per row) was most of a search's time on common words. The column is
PostgreSQL's alone and unknown to the ORM (it is only read in raw SQL): inserts and
updates never name it, and PostgreSQL fills it in.
"""

from django.db import migrations

FORWARD = [
    """
    ALTER TABLE catalog_product ADD COLUMN IF NOT EXISTS search_vector tsvector
    GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, search_text)) STORED
    """,
    """
    CREATE INDEX IF NOT EXISTS catalog_product_search_vector
    ON catalog_product USING gin (search_vector)
    """,
    "DROP INDEX IF EXISTS catalog_product_search_fts",
]
BACKWARD = [
    """
    CREATE INDEX IF NOT EXISTS catalog_product_search_fts
    ON catalog_product USING gin (to_tsvector('simple'::regconfig, search_text))
    """,
    "DROP INDEX IF EXISTS catalog_product_search_vector",
    "ALTER TABLE catalog_product DROP COLUMN IF EXISTS search_vector",
]


def _postgres_only(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_reviewqueue")]

    operations = [migrations.RunPython(_postgres_only(FORWARD), _postgres_only(BACKWARD))]
