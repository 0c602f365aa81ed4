"""Seed the Wuhai policy in force from 2023-01-01 (乌海政办发〔2022〕42号, DOMAIN §2).

The income and minimum-living figures are the bureau's to confirm each year (admin edits
them); the amounts below are 10% and 25% of the all-resident income figure, as W 三(三)
says ("左右": the bureau stores the rounded amount).
"""

from datetime import date
from decimal import Decimal as D

from django.db import migrations

CATEGORIES = [
    # category, rank, deductible, ratio, subsidy, subsidy_amount
    ("destitute", 1, D("0"), D("1.00"), "full", None),
    ("subsistence", 2, D("0"), D("0.75"), "fixed", D("171.00")),
    ("poverty_risk", 3, D("0"), D("0.70"), "fixed", D("171.00")),
    ("near_subsistence", 4, D("5000.00"), D("0.70"), "none", None),
    ("illness_impoverished", 5, D("12500.00"), D("0.70"), "none", None),
    ("other_special", 6, D("12500.00"), D("0.70"), "none", None),
]


def seed(apps, schema_editor):
    Policy = apps.get_model("core", "Policy")
    PolicyCategory = apps.get_model("core", "PolicyCategory")
    if Policy.objects.filter(area_id="150300").exists():
        return
    policy = Policy.objects.create(
        area_id="150300",
        name="乌海市医疗救助政策（2023年起）",
        document="乌海政办发〔2022〕42号",
        valid_from=date(2023, 1, 1),
        all_resident_income=D("50000.00"),
        rural_income=D("22000.00"),
        min_living_standard=D("10800.00"),
        annual_cap=D("80000.00"),
        tilted_deductible=D("7000.00"),
        tilted_ratio=D("0.60"),
        contribution_standard=D("380.00"),
        impoverishment_threshold=D("1.00"),
        poverty_return_threshold=D("0.50"),
        out_of_catalog_limit_level2=D("0.05"),
        out_of_catalog_limit_level3=D("0.10"),
        processing_days_limit=20,
    )
    for category, rank, deductible, ratio, subsidy, amount in CATEGORIES:
        PolicyCategory.objects.create(
            policy=policy,
            category=category,
            rank=rank,
            deductible=deductible,
            ratio=ratio,
            subsidy=subsidy,
            subsidy_amount=amount,
        )


class Migration(migrations.Migration):
    dependencies = [("core", "0002_regions")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
