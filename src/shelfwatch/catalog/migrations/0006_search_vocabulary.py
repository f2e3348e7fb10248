"""The catalog's vocabulary, for spelling correction (see catalog/vocabulary.py).

SQLite: the FTS5 vocabulary table and a stamp the index triggers renew on every change
(fts.py).

PostgreSQL: `catalog_search_word`, one row per distinct word of the text-search vectors
(words holding a digit left out: sizes and barcodes are never corrected), with how many
products hold it and a trigram index for nearest-word lookups. Statement triggers keep it
up to date in the writing transaction, so a new product's words can be corrected to at once.
Counting is approximate by design: a word row another transaction is counting is skipped
rather than waited for (FOR UPDATE SKIP LOCKED), so writers never queue on common words
such as "masala"; `vocabulary.refresh_vocabulary()` recounts exactly.

Also drops the trigram index over the whole search text: it only served the misspelling
fallback this vocabulary replaces, and was half the size of the table.
"""

from django.db import migrations

from shelfwatch.catalog import fts

POSTGRES_FORWARD = [
    """
    CREATE TABLE IF NOT EXISTS catalog_search_word (
        word text COLLATE "C" PRIMARY KEY,
        documents integer NOT NULL DEFAULT 0
    )
    """,
    """
    CREATE INDEX IF NOT EXISTS catalog_search_word_trgm
    ON catalog_search_word USING gist (word gist_trgm_ops)
    """,
    r"""
    CREATE OR REPLACE FUNCTION catalog_search_word_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        changed text[];
        counts integer[];
    BEGIN
        IF TG_OP = 'INSERT' THEN
            SELECT array_agg(w ORDER BY w), array_agg(n ORDER BY w) INTO changed, counts
            FROM (
                SELECT w, count(*)::integer AS n
                FROM new_rows, unnest(tsvector_to_array(new_rows.search_vector)) AS w
                WHERE w !~ '[0-9]' GROUP BY w
            ) AS c;
        ELSIF TG_OP = 'DELETE' THEN
            SELECT array_agg(w ORDER BY w), array_agg(n ORDER BY w) INTO changed, counts
            FROM (
                SELECT w, -count(*)::integer AS n
                FROM old_rows, unnest(tsvector_to_array(old_rows.search_vector)) AS w
                WHERE w !~ '[0-9]' GROUP BY w
            ) AS c;
        ELSE
            -- Only rows whose text changed: most updates (status, quality score) do not.
            SELECT array_agg(w ORDER BY w), array_agg(n ORDER BY w) INTO changed, counts
            FROM (
                SELECT w, sum(d)::integer AS n
                FROM (
                    SELECT unnest(tsvector_to_array(n.search_vector)) AS w, 1 AS d
                    FROM new_rows AS n JOIN old_rows AS o USING (id)
                    WHERE n.search_text IS DISTINCT FROM o.search_text
                    UNION ALL
                    SELECT unnest(tsvector_to_array(o.search_vector)), -1
                    FROM new_rows AS n JOIN old_rows AS o USING (id)
                    WHERE n.search_text IS DISTINCT FROM o.search_text
                ) AS d
                WHERE w !~ '[0-9]' GROUP BY w HAVING sum(d) <> 0
            ) AS c;
        END IF;
        IF changed IS NULL THEN
            RETURN NULL;
        END IF;
        UPDATE catalog_search_word AS v SET documents = v.documents + c.n
        FROM unnest(changed, counts) AS c (w, n)
        WHERE v.word = c.w AND v.word IN (
            SELECT word FROM catalog_search_word
            WHERE word = ANY (changed) FOR UPDATE SKIP LOCKED
        );
        INSERT INTO catalog_search_word (word, documents)
        SELECT c.w, c.n FROM unnest(changed, counts) AS c (w, n)
        WHERE c.n > 0 AND NOT EXISTS (SELECT 1 FROM catalog_search_word AS v WHERE v.word = c.w)
        ORDER BY c.w
        ON CONFLICT (word) DO NOTHING;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER catalog_search_word_insert AFTER INSERT ON catalog_product
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_word_sync()
    """,
    """
    CREATE TRIGGER catalog_search_word_update AFTER UPDATE ON catalog_product
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_word_sync()
    """,
    """
    CREATE TRIGGER catalog_search_word_delete AFTER DELETE ON catalog_product
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION catalog_search_word_sync()
    """,
    r"""
    INSERT INTO catalog_search_word (word, documents)
    SELECT word, ndoc FROM ts_stat('SELECT search_vector FROM catalog_product')
    WHERE word !~ '[0-9]'
    ON CONFLICT (word) DO UPDATE SET documents = excluded.documents
    """,
    "DROP INDEX IF EXISTS catalog_product_search_trgm",
]
POSTGRES_BACKWARD = [
    """
    CREATE INDEX IF NOT EXISTS catalog_product_search_trgm
    ON catalog_product USING gin (search_text gin_trgm_ops)
    """,
    "DROP TRIGGER IF EXISTS catalog_search_word_delete ON catalog_product",
    "DROP TRIGGER IF EXISTS catalog_search_word_update ON catalog_product",
    "DROP TRIGGER IF EXISTS catalog_search_word_insert ON catalog_product",
    "DROP FUNCTION IF EXISTS catalog_search_word_sync()",
    "DROP TABLE IF EXISTS catalog_search_word",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("catalog", "0005_planner_friendly_indexes")]

    operations = [
        # Back at 0005 the vocabulary table and the stamp are harmless; 0002 drops them.
        migrations.RunPython(fts.reinstall_sqlite_triggers, migrations.RunPython.noop),
        migrations.RunPython(
            _run({"postgresql": POSTGRES_FORWARD}), _run({"postgresql": POSTGRES_BACKWARD})
        ),
    ]
