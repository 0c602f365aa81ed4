from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_visit_types(apps, schema_editor):
    """Holds written before this migration take the settlement's visit type of today (the
    best knowledge left of what was cleared)."""
    ClearedSettlement = apps.get_model("funds", "ClearedSettlement")
    Settlement = apps.get_model("monitoring", "Settlement")
    ClearedSettlement.objects.filter(visit_type="").update(
        visit_type=Subquery(
            Settlement.objects.filter(pk=OuterRef("settlement_id")).values("visit_type")[:1]
        )
    )


class Migration(migrations.Migration):
    dependencies = [
        ("funds", "0004_clearing"),
        ("monitoring", "0005_settlement_reversal_target_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="clearedsettlement",
            name="visit_type",
            field=models.CharField(
                blank=True, default="", max_length=20, verbose_name="清算时就诊类型"
            ),
        ),
        migrations.RunPython(fill_visit_types, migrations.RunPython.noop),
    ]
