from django.db import migrations

from core.regions_data import CITIES, COUNTIES, PROVINCE


def load_regions(apps, schema_editor):
    Region = apps.get_model("core", "Region")
    province, _ = Region.objects.update_or_create(
        code=PROVINCE[0], defaults={"name": PROVINCE[1], "level": 1, "parent": None}
    )
    for code, name in CITIES:
        Region.objects.update_or_create(
            code=code, defaults={"name": name, "level": 2, "parent": province}
        )
    for code, name in COUNTIES:
        city = Region.objects.get(code=code[:4] + "00")
        Region.objects.update_or_create(
            code=code, defaults={"name": name, "level": 3, "parent": city}
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(load_regions, migrations.RunPython.noop)]
