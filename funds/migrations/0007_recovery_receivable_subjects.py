"""Subjects for recoveries of overpaid benefits (DOMAIN §11).

§6 lists no receivable, so two asset (account) subjects carry it: 1201 应收追回待遇款 is debited
when a recovery case is approved, against its contra 1202 待追回待遇款 (备抵), so the fund's
net assets do not move until the money is back. A repayment clears both and credits the
benefit expense (books of the year open) or 400901 其他收入—跨年度追回待遇.
"""

from django.db import migrations

SUBJECTS = [
    ("1201", "应收追回待遇款", "account"),
    ("1202", "待追回待遇款（备抵）", "account"),
]


def load(apps, schema_editor):
    Subject = apps.get_model("funds", "Subject")
    for code, name, kind in SUBJECTS:
        Subject.objects.update_or_create(
            code=code,
            defaults={"name": name, "kind": kind, "parent_id": None, "level": "", "postable": True},
        )


def unload(apps, schema_editor):
    Subject = apps.get_model("funds", "Subject")
    Subject.objects.filter(code__in=[code for code, _n, _k in SUBJECTS]).delete()


class Migration(migrations.Migration):
    dependencies = [("funds", "0006_reconciliation_balance_statement")]

    operations = [migrations.RunPython(load, unload)]
