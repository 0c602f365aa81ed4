"""`python manage.py clear_settlements --area CODE --period YYYY-MM [--dry-run]` (DOMAIN §10).

Computes the clearing of that area and month as a draft (nothing is posted) and prints
{"area", "period", "settlements", "reversals", "payees", "inpatient", "outpatient", "total",
"cross_area", "applied"}. Exit 2 (message on stderr, nothing on stdout): not a coordination
area, a malformed or future period, an approved or paid clearing of that month.
"""

import json
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand

from funds.clearing import clearing_compute


class Command(BaseCommand):
    help = "Compute the month's clearing of one-stop assistance with institutions (draft)."

    def add_arguments(self, parser):
        parser.add_argument("--area", required=True, help="coordination area code, e.g. 150300")
        parser.add_argument("--period", required=True, help="YYYY-MM")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args, area, period, dry_run, **options):
        try:
            result = clearing_compute(area_code=area, period=period, by=None, dry_run=dry_run)
        except ValidationError as exc:
            sys.stderr.write("；".join(exc.messages) + "\n")
            sys.exit(2)
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
