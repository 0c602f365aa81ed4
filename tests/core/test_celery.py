import pytest
from django.conf import settings

from core.tasks import health_check


def test_embedded_mode_runs_tasks_eagerly(db):
    if settings.CELERY_BROKER_URL:
        pytest.skip("embedded defaults only")
    result = health_check.delay()
    assert result.get()["regions"] == 116  # 150000, its 12 leagues/cities, 103 counties


@pytest.mark.celery_worker
def test_a_real_worker_runs_a_task_against_the_database(celery_worker_process):
    result = health_check.delay()
    payload = result.get(timeout=60)
    assert payload == {"regions": 116, "database": "postgresql"}  # the whole region (§8)
