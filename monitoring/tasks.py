"""Celery tasks: thin wrappers that take ids and a period and call the services."""

from celery import shared_task


@shared_task(acks_late=True)
def settlement_import_task(batch_id: int, apply: bool = False) -> dict:
    """Validate (preview) or apply an uploaded settlement extract (§9.2)."""
    from monitoring.services import settlement_import_process

    return settlement_import_process(batch_id=batch_id, apply=apply)


@shared_task(acks_late=True)
def run_check_task(check: str, period: str | None = None, area: str = "", by_id=None) -> dict:
    """Run one check (§7); the monthly beat schedule passes only `check`."""
    from django.core.exceptions import PermissionDenied

    from core.models import User
    from monitoring.checks import CheckAlreadyRunning, check_run, default_period

    by = User.objects.filter(pk=by_id).first() if by_id else None
    try:
        run = check_run(name=check, period=period or default_period(check), area=area, by=by)
    except CheckAlreadyRunning as exc:
        return {"check": check, "period": period, "outcome": "already_running", "error": str(exc)}
    except PermissionDenied as exc:  # the user lost the right since queueing: not retried
        return {"check": check, "period": period, "outcome": "refused", "error": str(exc)}
    return run.as_record()
