"""Full-text search over Product.search_text, with each database's own machinery.

SQLite: an FTS5 table over the column, kept in sync by triggers; the tokenizer keeps
combining marks (M*) inside words, or Devanagari and Tamil words would split at every
vowel sign. PostgreSQL: a GIN index on the 'simple' text-search vector (no stemming: the
names are in many languages) and a trigram index for misspellings and substrings.
"""

from django.db import migrations

from shelfwatch.catalog import fts

POSTGRES_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """
    CREATE INDEX IF NOT EXISTS catalog_product_search_fts
    ON catalog_product USING gin (to_tsvector('simple'::regconfig, search_text))
    """,
    """
    CREATE INDEX IF NOT EXISTS catalog_product_search_trgm
    ON catalog_product USING gin (search_text gin_trgm_ops)
    """,
]
POSTGRES_BACKWARD = [
    "DROP INDEX IF EXISTS catalog_product_search_trgm",
    "DROP INDEX IF EXISTS catalog_product_search_fts",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD}), _run({"postgresql": POSTGRES_BACKWARD})
        ),
        migrations.RunPython(fts.reinstall_sqlite_triggers, fts.drop_sqlite_index),
    ]
