from celery import shared_task

from core import chunked


@shared_task
def health_check() -> dict:
    """Proves a worker reaches the broker and the database (used by ops and the CI)."""
    from django.db import connection

    from core.models import Region

    return {"regions": Region.objects.count(), "database": connection.vendor}


@shared_task(acks_late=True)
def chunk_task(run_id: int) -> dict:
    """Take one pending chunk of a chunked run (core.chunked) and do it; the last one merges.
    The queue is the job's (checks, simulation), chosen when the run is dispatched."""
    return {"run": run_id, "worked": chunked.work_one(run_id)}


@shared_task
def chunked_sweep_task() -> dict:
    """Beat: chunks of dead workers back to pending and queued again (core.chunked.sweep)."""
    return {"requeued": chunked.sweep()}


chunked.set_chunk_task(chunk_task)  # core.chunked.dispatch sends it
