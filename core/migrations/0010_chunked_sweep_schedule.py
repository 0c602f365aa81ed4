"""Beat schedule of the chunked-job sweep (core.chunked.sweep): every 2 minutes, chunks whose
worker died (no heartbeat for JOB_STALE_AFTER_SECONDS) go back to pending and are queued again,
and a run whose chunks are all done but whose merge was lost is merged."""

from django.db import migrations

NAME = "分段任务：接管中断的分段"


def create(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    schedule, _ = IntervalSchedule.objects.get_or_create(every=2, period="minutes")
    PeriodicTask.objects.get_or_create(
        name=NAME,
        defaults={
            "task": "core.tasks.chunked_sweep_task",
            "interval": schedule,
            "description": "工作进程停止后，其分段重新排队（core.chunked）。",
            "enabled": True,
        },
    )
    from django.utils import timezone

    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0009_chunked_runs"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]
    operations = [migrations.RunPython(create, remove)]
