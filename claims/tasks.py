"""Celery tasks of the claims app: thin wrappers that take plain values and call the services."""

from celery import shared_task


@shared_task(acks_late=True)
def simulation_task(area: str, year: int, policy: dict) -> dict:
    """Policy simulation (测算, DOMAIN §12) of `area` and `year` under the draft `policy`.

    `policy` is the `policy` object of the `assess` input (§4), as JSON. Returns the §12 result.
    Reads only, so a lost task is simply run again (acks_late).
    """
    from claims.management.commands.assess import _policy
    from claims.selectors import today
    from claims.simulation import simulation_run

    return simulation_run(area_code=area, year=year, draft=_policy(policy), today=today())
