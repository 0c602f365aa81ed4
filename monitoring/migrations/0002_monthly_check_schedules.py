"""Monthly beat schedules of the checks (DOMAIN §7), stored in the database.

django-celery-beat's DatabaseScheduler reads them; admins edit them under *Periodic tasks*.
The checks run on the 2nd of each month at 02:00 China time: the monthly cross-checks look at
the previous month, the high-cost scan at that month's year to date
(monitoring.checks.default_period).
"""

import json

from django.db import migrations

CHECKS = [
    ("high_cost", "高额费用预警（因病致贫/因病返贫）"),
    ("uninsured", "漏保排查"),
    ("duplicate_enrollment", "重复参保排查"),
    ("subsidy_without_identity", "无身份资助参保排查"),
    ("benefit_after_coverage", "身份终止后享受待遇排查"),
    ("missed_reimbursement", "漏报销排查"),
    ("out_of_catalog", "目录外费用占比排查"),
    ("roster_unconfirmed", "名单未确认身份排查"),
]


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour="2",
        day_of_month="2",
        month_of_year="*",
        day_of_week="*",
        timezone="Asia/Shanghai",
    )
    for check, label in CHECKS:
        PeriodicTask.objects.get_or_create(
            name=f"监测预警：{label}",
            defaults={
                "task": "monitoring.tasks.run_check_task",
                "crontab": schedule,
                "kwargs": json.dumps({"check": check}),
                "description": f"每月运行检查 {check}（DOMAIN §7）。",
                "enabled": True,
            },
        )
    # Tell running beat processes that the schedule changed.
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(task="monitoring.tasks.run_check_task").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("monitoring", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
