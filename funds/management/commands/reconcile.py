"""`python manage.py reconcile FILE --area CODE --period YYYY-MM [--dry-run]` (DOMAIN §9.3).

Prints {"lines", "matched", "unmatched_statement", "unmatched_ledger", "errors", "applied"};
exit 0 done, 1 row errors (nothing written, JSON still printed), 2 unusable arguments or
file (message on stderr, nothing on stdout).
"""

import json
import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from core.models import Region
from core.periods import split_period
from funds.reconciliation import StatementError, statement_reconcile
from funds.services import fund_for_area


class Command(BaseCommand):
    help = "Import and match the finance department's statement of the fiscal special account."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--area", required=True, help="coordination area code, e.g. 150300")
        parser.add_argument("--period", required=True, help="YYYY-MM")
        parser.add_argument("--dry-run", action="store_true")

    def _fail(self, message: str):
        sys.stderr.write(message + "\n")
        sys.exit(2)

    def handle(self, *args, file, area, period, dry_run, **options):
        parts = split_period(period, month_required=True)
        if parts is None:
            self._fail(_("--period 应为 YYYY-MM：%(period)s") % {"period": period})
        year, month = parts
        region = Region.objects.filter(code=area).first()
        if region is None or region.level != Region.Level.CITY:
            self._fail(_("--area 应为统筹地区（盟市）的区划代码：%(area)s") % {"area": area})
        path = Path(file)
        if not path.is_file():
            self._fail(_("文件不存在：%(file)s") % {"file": file})
        try:
            result = statement_reconcile(
                fund=fund_for_area(area),
                year=year,
                month=month,
                file_or_path=path,
                filename=path.name,
                by=None,
                dry_run=dry_run,
            )
        except (StatementError, ValidationError) as exc:
            self._fail(str(exc.messages[0] if isinstance(exc, ValidationError) else exc))
        self.stdout.write(json.dumps(result, ensure_ascii=False))
        if result["errors"]:
            sys.exit(1)
