"""The checks of DOMAIN §7 and the run framework they share (§9.4).

A check is a function `check(ctx) -> None` that reads what it needs, upserts alerts through
`ctx.upsert()` / `ctx.close()` in chunks (each chunk its own transaction) and counts what it
did on `ctx.run`. `check_run()` claims a run row first: the database refuses a second running
row for the same check, period and area (a partial unique constraint), so two runs never
overlap. Alerts are keyed by (kind, year, certno, subject), so a run that crashed half-way can
simply be run again: what it already wrote is found and updated, nothing is duplicated.
The per-person cross checks are parts over a range of ID numbers, run here in one process or,
on a large table, in chunks over the `checks` workers (monitoring.check_chunks); the run
record is the same either way.
"""

from __future__ import annotations

import importlib
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.dates import month_end, shanghai_today
from core.jobs import Heartbeat, stale_before
from core.periods import split_period
from monitoring.models import CheckRun, CheckRunPolicy

log = logging.getLogger(__name__)

# A running row whose heartbeat is older than core.jobs.stale_after() (JOB_STALE_AFTER_SECONDS,
# 2 minutes) belongs to a worker that died: it is marked interrupted and a new run may start.


class CheckAlreadyRunning(Exception):
    """Another run of the same check, period and area has not finished."""


class InvalidPeriod(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    """`YYYY` (the year to date) or `YYYY-MM` (the year up to the end of that month)."""

    text: str
    year: int
    month: int | None

    @property
    def end(self) -> date:
        return month_end(self.year, self.month or 12)

    @property
    def month_start(self) -> date:
        """First day of the period's month (of January for a year)."""
        return date(self.year, self.month or 1, 1)

    def reference_date(self, today: date | None = None) -> date:
        """§9.4: the earlier of today (Asia/Shanghai) and the period end."""
        return min(today or shanghai_today(), self.end)


def parse_period(text: str) -> Period:
    """§9.4: `YYYY` or `YYYY-MM` (ASCII digits); a year before 1900, month 00 or 13 …
    raise InvalidPeriod."""
    text = (text or "").strip()
    parts = split_period(text)
    if parts:
        return Period(text, *parts)
    raise InvalidPeriod(_("期间应为 YYYY 或 YYYY-MM：%(period)s") % {"period": text})


def default_period(check_name: str, today: date | None = None) -> str:
    """What the monthly beat run checks: the month just ended, or for high_cost its year to
    date (so the run of early January still closes the previous year)."""
    today = today or shanghai_today()
    last_month = today.replace(day=1) - timedelta(days=1)
    if check_name == "high_cost":
        return str(last_month.year)
    return f"{last_month:%Y-%m}"


@dataclass
class CheckContext:
    run: CheckRun
    period: Period
    area: str  # region code or "" for everything
    options: dict
    by: object = None
    policies_used: set = field(default_factory=set)  # ids of the policies measured against
    today: date | None = None  # fixed for the chunks of one run (else today in Shanghai)

    def reference_date(self) -> date:
        """§9.4: the earlier of today and the period end (the same for every chunk)."""
        return self.period.reference_date(self.today)

    def use_policy(self, policy) -> None:
        """Note that the run applies `policy` (kept on the run; the policy is then PROTECTed)."""
        if policy is not None:
            self.policies_used.add(policy.pk)

    @cached_property
    def area_prefix(self) -> str:
        """The area's code prefix, read once per run (in_area asks it for every candidate)."""
        from core.models import Region

        if not self.area:
            return ""
        region = Region.objects.filter(code=self.area).first()
        return region.prefix if region else self.area

    def in_area(self, region_code: str | None) -> bool:
        prefix = self.area_prefix
        return not prefix or bool(region_code and region_code.startswith(prefix))

    def save_progress(self) -> None:
        """Save the counters so far (a crash keeps them) and show the run is alive."""
        self.run.heartbeat_at = timezone.now()
        self.run.save(
            update_fields=[
                "heartbeat_at",
                "rows_scanned",
                "alerts_created",
                "alerts_updated",
                "alerts_closed",
                "mode",
            ]
        )


CheckFunction = Callable[[CheckContext], None]
CHECKS: dict[str, CheckFunction] = {}


def register(name: str):
    def wrap(function: CheckFunction) -> CheckFunction:
        CHECKS[name] = function
        return function

    return wrap


def check_names() -> list[str]:
    _load_checks()
    return list(CHECKS)


CHECK_MODULES = ("enrollment", "cross", "rosters")  # in the order `check_names()` lists them


def _load_checks() -> None:
    """Import the check modules (registering their checks); high_cost comes first, with scope."""
    for module in CHECK_MODULES:
        importlib.import_module(f"monitoring.checks.{module}")


def interrupt_stale_runs(**filters) -> int:
    """Mark the running rows (of `filters`) whose worker died — no heartbeat for
    JOB_STALE_AFTER_SECONDS — as interrupted, so they can be run again. Returns how many."""
    now = timezone.now()
    return CheckRun.objects.filter(
        Q(heartbeat_at__lt=stale_before(now))
        | Q(heartbeat_at__isnull=True, started_at__lt=stale_before(now)),
        outcome=CheckRun.Outcome.RUNNING,
        **filters,
    ).update(
        outcome=CheckRun.Outcome.INTERRUPTED,
        error=_("运行中断（工作进程停止，超过 2 分钟无心跳），可重新运行。"),
        finished_at=now,
    )


def _claim(name: str, period: str, area: str, by) -> CheckRun:
    now = timezone.now()
    # A run abandoned by a dead worker no longer blocks (the conditional update marks it once).
    interrupt_stale_runs(check_name=name, period=period, area=area)
    try:
        with transaction.atomic():
            return CheckRun.objects.create(
                check_name=name,
                period=period,
                area=area,
                started_by=by if getattr(by, "pk", None) else None,
                heartbeat_at=now,
            )
    except IntegrityError:
        raise CheckAlreadyRunning(
            _("检查 %(check)s（%(period)s）正在运行，请等待其完成。")
            % {"check": name, "period": period}
        ) from None


def check_run(
    *, name: str, period: str, area: str = "", by=None, options: dict | None = None
) -> CheckRun:
    """Run check `name` for `period` (and region subtree `area`), recording the run.

    Raises CheckAlreadyRunning when a run of the same check, period and area is under way;
    any other failure is recorded on the run (outcome `failed`, with the error) and the run
    is returned, so the next run starts clean.
    """
    _load_checks()
    if name not in CHECKS:
        raise KeyError(name)
    parsed = parse_period(period)
    area = area or ""
    if by is not None:
        # A user's run (the page): their role and region, checked here, not only in the view.
        # The whole region (no area) is the system's run (beat schedule, command).
        from core.scoping import check_allowed

        if not area and not by.is_superuser:
            raise PermissionDenied(_("只能对本辖区运行检查。"))
        check_allowed(by, "monitoring.run_check", area or None)
    run = _claim(name, parsed.text, area, by)
    ctx = CheckContext(run=run, period=parsed, area=area, options=options or {}, by=by)
    started = time.monotonic()
    try:
        # Beats from a thread of its own, also while one long query or transaction runs.
        with Heartbeat(CheckRun, run.pk):
            CHECKS[name](ctx)
        run.outcome = CheckRun.Outcome.SUCCESS
    except Exception as exc:
        log.exception("check %s %s failed", name, parsed.text)
        run.outcome = CheckRun.Outcome.FAILED
        run.error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
        if transaction.get_connection().needs_rollback:
            raise
    run.seconds = time.monotonic() - started
    run.finished_at = timezone.now()
    run.save()
    CheckRunPolicy.objects.bulk_create(
        [CheckRunPolicy(run=run, policy_id=pk) for pk in sorted(ctx.policies_used)],
        ignore_conflicts=True,
    )
    return run
