"""Partial name search for short queries (PostgreSQL only).

Chinese given names are one or two characters, so the most common partial search ("建国")
is shorter than a trigram and pg_trgm cannot use its index for it. This GIN index over the
name's 1- and 2-character substrings answers those; longer queries use the trigram index.
"""

from django.db import migrations

CREATE = [
    """
    CREATE OR REPLACE FUNCTION person_name_grams(name text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
      SELECT coalesce(array_agg(DISTINCT gram), '{}') FROM (
        SELECT substr(name, i, 1) AS gram FROM generate_series(1, char_length(name)) AS i
        UNION ALL
        SELECT substr(name, i, 2) FROM generate_series(1, char_length(name) - 1) AS i
      ) AS grams
    $$
    """,
    "CREATE INDEX IF NOT EXISTS person_name_grams_idx "
    "ON beneficiaries_person USING gin (person_name_grams(name))",
    # Statistics of the indexed expression, so the planner knows common from rare grams.
    "ANALYZE beneficiaries_person",
]
DROP = [
    "DROP INDEX IF EXISTS person_name_grams_idx",
    "DROP FUNCTION IF EXISTS person_name_grams(text)",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("beneficiaries", "0004_person_name_trigram")]
    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
