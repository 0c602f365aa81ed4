"""Settlements partitioned by year on PostgreSQL, `setl_id` unique through a key table.

The key table (`SettlementKey`) is made on every database and filled from the rows already
there. On PostgreSQL the settlement table is then rebuilt as `PARTITION BY RANGE (year)`,
its rows copied (`monitoring.partitions.convert`); the unique `setl_id` constraint goes (the
key table's primary key keeps it). SQLite keeps one table.
"""

from django.db import migrations, models


def fill_keys(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO monitoring_settlement_key (setl_id, year, settlement_id) "
            "SELECT setl_id, year, id FROM monitoring_settlement ORDER BY setl_id"
        )


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from monitoring import partitions

    with schema_editor.connection.cursor() as cursor:
        partitions.convert(cursor)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE monitoring_settlement_flat (LIKE monitoring_settlement "
            "INCLUDING DEFAULTS INCLUDING IDENTITY)"
        )
        cursor.execute("INSERT INTO monitoring_settlement_flat SELECT * FROM monitoring_settlement")
        cursor.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM monitoring_settlement")
        (start,) = cursor.fetchone()
        cursor.execute("DROP TABLE monitoring_settlement CASCADE")
        cursor.execute("ALTER TABLE monitoring_settlement_flat RENAME TO monitoring_settlement")
        cursor.execute(f"ALTER TABLE monitoring_settlement ALTER COLUMN id RESTART WITH {start}")
        cursor.execute("ALTER TABLE monitoring_settlement ADD PRIMARY KEY (id)")
        cursor.execute(
            "CREATE INDEX settlement_year_certno_cover ON monitoring_settlement (year, certno) "
            "INCLUDE (psn_part_amt, enddate)"
        )
        cursor.execute(
            "CREATE INDEX settlement_reversal_target ON monitoring_settlement (init_setl_id) "
            "WHERE refd_setl_flag"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0010_checkrun_chunks"),
    ]

    operations = [
        migrations.CreateModel(
            name="SettlementKey",
            fields=[
                (
                    "setl_id",
                    models.CharField(
                        max_length=40, primary_key=True, serialize=False, verbose_name="结算ID"
                    ),
                ),
                ("year", models.PositiveSmallIntegerField(verbose_name="年度")),
                ("settlement_id", models.BigIntegerField(verbose_name="结算明细")),
            ],
            options={
                "verbose_name": "结算ID",
                "verbose_name_plural": "结算ID",
                "db_table": "monitoring_settlement_key",
            },
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="settlement", name="settlement_setl_id_unique"),
        migrations.RunPython(partition, unpartition),
    ]
