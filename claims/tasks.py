"""Celery tasks of the claims app: thin wrappers that take plain values and call the services."""

from celery import shared_task


@shared_task(acks_late=True)
def simulation_task(area: str, year: int, policy: dict) -> dict:
    """Policy simulation (测算, DOMAIN §12) of `area` and `year` under the draft `policy`.

    `policy` is the `policy` object of the `assess` input (§4), as JSON. Returns the §12 result.
    Reads only, so a lost task is simply run again (acks_late).
    """
    from claims.management.commands.assess import _policy
    from claims.simulation import simulation_run
    from core.dates import shanghai_today

    return simulation_run(area_code=area, year=year, draft=_policy(policy), today=shanghai_today())


@shared_task(acks_late=True)
def simulation_run_task(run_id: int) -> dict:
    """Carry out a recorded simulation run (claims it first: two workers never both do it)."""
    from claims.simulation_runs import simulation_run_execute

    run = simulation_run_execute(run_id=run_id)
    return {"run": run_id, "status": run.status if run else "already_claimed"}


@shared_task(acks_late=True)
def reassessment_chunk_task(run_id: int, index: int) -> dict:
    """Re-assess chunk `index` of a re-assessment run (DOMAIN §11); idempotent, so a lost
    task is simply run again (acks_late)."""
    from claims.corrections import reassessment_chunk

    return {
        "run": run_id,
        "chunk": index,
        "proposals": reassessment_chunk(run_id=run_id, index=index),
    }
