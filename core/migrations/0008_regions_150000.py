"""Load every GB/T 2260 unit of 150000 (12 leagues/cities, 103 counties) and the superseded
codes that map to them, from core/data/regions_150000.csv (DOMAIN §8).

Idempotent: existing rows (Wuhai's, from 0002) are kept and their names, levels and parents
updated from the file; running it again changes nothing.
"""

from datetime import date

from django.db import migrations

from core.regions_data import read_regions_file


def _day(text):
    return date.fromisoformat(text) if text else None


def load(apps, schema_editor):
    Region = apps.get_model("core", "Region")
    RegionAlias = apps.get_model("core", "RegionAlias")
    current, superseded = read_regions_file()
    for row in current:  # parents first
        Region.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "level": int(row["level"]),
                "parent_id": row["parent"] or None,
                "valid_from": _day(row["valid_from"]),
            },
        )
    for row in superseded:
        RegionAlias.objects.update_or_create(
            code=row["code"],
            defaults={
                "name": row["name"],
                "successor_id": row["successor"],
                "valid_until": _day(row["valid_until"]),
                "source": row["source"][:100],
            },
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0007_region_valid_from_alias")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
