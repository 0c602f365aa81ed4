from celery import shared_task


@shared_task
def health_check() -> dict:
    """Proves a worker reaches the broker and the database (used by ops and the CI)."""
    from django.db import connection

    from core.models import Region

    return {"regions": Region.objects.count(), "database": connection.vendor}
