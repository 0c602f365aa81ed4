"""Partial name search at scale: a pg_trgm GIN index on Person.name (PostgreSQL only).

SQLite (the embedded mode) has no trigram index; its searches scan, which is fine at its sizes.
"""

from django.db import migrations

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS person_name_trgm_idx "
    "ON beneficiaries_person USING gin (name gin_trgm_ops)",
]
DROP = ["DROP INDEX IF EXISTS person_name_trgm_idx"]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("beneficiaries", "0003_enrollments_subsidies_rosters")]
    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
