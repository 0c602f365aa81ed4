"""Simulation runs (测算记录, DOMAIN §12): asking for a simulation and carrying it out.

`simulation_run_request` is the one door that records a run (who, when, which area, year and
draft); `simulation_run_execute` is what the Celery task does with it. A run is the only thing
a simulation writes. (A service module under its own name: both check and write like the
services of `claims/services.py`.)
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from claims.management.commands.assess import InputError, _policy
from claims.models import SimulationRun
from claims.simulation import SimulationError, coordination_area, policy_for_year
from claims.simulation_chunks import finish_run, simulation_fan_out
from core.scoping import can_write

PERMISSION = "claims.run_simulation"  # 审核员 and 管理员: the bureau's staff who weigh standards


def simulation_allowed(user, area_code: str) -> bool:
    """Policy staff of the area itself (regional users read policies, they do not set them)."""
    return user.has_perm(PERMISSION) and can_write(user, area_code)


def simulation_run_request(
    *, area_code: str, year: int, draft: dict, by, note: str = ""
) -> SimulationRun:
    """Record a simulation of `area_code`/`year` under `draft` and queue it.

    Invariant: a run exists only for a coordination area the user may set policy for, a year
    with a policy in force and a draft the `assess` command would accept; else nothing is
    written and a ValidationError says why (the field, for a bad draft).
    """
    if not simulation_allowed(by, area_code):
        raise PermissionDenied(_("您只能测算本统筹地区的政策。"))
    try:
        area = coordination_area(area_code)
        policy_for_year(area.code, year)
        if not isinstance(draft, dict):
            raise InputError("policy", "JSON", _("应为一个 JSON 对象。"))
        _policy(draft)
    except (InputError, SimulationError) as exc:
        raise ValidationError(str(exc)) from None
    with transaction.atomic():
        run = SimulationRun(area=area, year=year, draft=draft, note=note, created_by=by)
        run.full_clean()
        run.save()
        transaction.on_commit(lambda: _enqueue(run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from claims.tasks import simulation_run_task

    simulation_run_task.delay(run_id)


def simulation_run_execute(*, run_id: int) -> SimulationRun | None:
    """Start a queued run: its persons fan out as chunk tasks over the `simulation` workers
    (claims.simulation_chunks), the last chunk saves the result; None when another worker
    has claimed the run. In eager mode (embedded, tests) the run is finished on return.

    Progress (chunks done) is saved as the chunks finish, so the page can show it.
    """
    claimed = SimulationRun.objects.filter(pk=run_id, status=SimulationRun.Status.QUEUED).update(
        status=SimulationRun.Status.RUNNING, started_at=timezone.now()
    )
    if claimed != 1:
        return None
    run = SimulationRun.objects.get(pk=run_id)

    from core.dates import shanghai_today

    try:
        _policy(run.draft)
        simulation_fan_out(run, today=shanghai_today())
    except (InputError, SimulationError) as exc:
        finish_run(run, SimulationRun.Status.FAILED, error=str(exc))
    except Exception as exc:  # a bug or a lost database: the run must not stay "running"
        finish_run(run, SimulationRun.Status.FAILED, error=repr(exc))
        raise
    run.refresh_from_db()
    return run
