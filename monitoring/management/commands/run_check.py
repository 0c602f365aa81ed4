"""`python manage.py run_check NAME --period P [--area CODE]` — DOMAIN §9.4, exactly.

Runs the check synchronously (the same code the Celery task runs) and prints its run record.
Exit 0 when the run succeeded, 1 when it failed (the record is printed, the error goes to
stderr), 2 for unusable arguments or when a run of the same check and period is under way.
"""

import json
import sys

from django.core.management.base import BaseCommand

from core.models import Region
from core.policy_services import scan_refusal
from monitoring.checks import (
    CheckAlreadyRunning,
    InvalidPeriod,
    check_names,
    check_run,
    parse_period,
)
from monitoring.models import CheckRun

NAMES = [
    "high_cost",
    "uninsured",
    "duplicate_enrollment",
    "subsidy_without_identity",
    "benefit_after_coverage",
    "missed_reimbursement",
    "out_of_catalog",
    "roster_unconfirmed",
]


class Command(BaseCommand):
    help = "Run one monitoring check for a period and print its run record as JSON."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--period", required=True, help="YYYY or YYYY-MM")
        parser.add_argument("--area", default="", help="region code (its subtree)")
        parser.add_argument("--full", action="store_true", help="high_cost: full rescan")

    def handle(self, *args, name, period, area, full, **options):
        if name not in NAMES:
            self._fail(f"unknown check {name!r}; one of: {', '.join(NAMES)}")
        if name not in check_names():
            self._fail(f"check {name!r} is not available in this installation")
        try:
            parsed = parse_period(period)
        except InvalidPeriod as exc:
            self._fail(str(exc))
        if area and not Region.objects.filter(code=area).exists():
            self._fail(f"unknown region code {area!r}")
        refusal = scan_refusal(name, area, parsed.month_start, parsed.end)
        if refusal:
            self._fail(refusal)
        try:
            run = check_run(name=name, period=period, area=area, options={"full": full})
        except CheckAlreadyRunning as exc:
            self._fail(str(exc))
        self.stdout.write(json.dumps(run.as_record(), ensure_ascii=False))
        if run.outcome != CheckRun.Outcome.SUCCESS:
            self.stderr.write(run.error)
            sys.exit(1)

    def _fail(self, message: str):
        self.stderr.write(message)
        sys.exit(2)
