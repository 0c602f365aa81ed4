"""`python manage.py export_alerts --kind NAME --year Y [--area CODE]` — DOMAIN §9.4, exactly.

Prints CSV (UTF-8, header row): the open and in-progress alerts of that kind and year, one row
per alert, sorted by certno. The export is recorded in the audit log.
"""

import csv
import sys

from django.core.management.base import BaseCommand

from core.audit import audit_event
from core.exports import safe_row
from core.models import AuditEvent, Region
from monitoring.models import Alert
from monitoring.selectors import EXPORT_COLUMNS, alert_export_rows, alerts_for_export


class Command(BaseCommand):
    help = "Print the open and in-progress alerts of a kind and year as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--kind", required=True)
        parser.add_argument("--year", required=True, type=int)
        parser.add_argument("--area", default="")

    def handle(self, *args, kind, year, area, **options):
        if kind not in Alert.Kind.values:
            self.stderr.write(f"unknown kind {kind!r}; one of: {', '.join(Alert.Kind.values)}")
            sys.exit(2)
        region = None
        if area:
            region = Region.objects.filter(code=area).first()
            if region is None:
                self.stderr.write(f"unknown region code {area!r}")
                sys.exit(2)
        alerts = alerts_for_export(kind=kind, year=year, region=region)
        writer = csv.writer(self.stdout, lineterminator="\n")
        writer.writerow(EXPORT_COLUMNS)
        count = 0
        for row in alert_export_rows(alerts, full_id=True):
            writer.writerow(safe_row(row))  # no cell is run as a formula
            count += 1
        audit_event(
            by=None,
            action=AuditEvent.Action.EXPORT,
            what="alerts",
            kind=kind,
            year=year,
            area=area,
            rows=count,
            full_id=True,
            via="export_alerts",
        )
