"""`manage.py import_roster FILE --department D --region CODE --as-of DATE [--dry-run]`.

DOMAIN §9.1: prints one JSON object; exit 0 = done, 1 = row errors and nothing written (the
JSON still printed), 2 = unusable arguments or file (message on stderr, nothing on stdout).
"""

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from beneficiaries.roster import RosterFileError
from beneficiaries.roster_services import roster_import
from core.choices import Department
from core.models import Region
from core.tabular import parse_iso_date


def _fail(message: str):
    return CommandError(message, returncode=2)


class Command(BaseCommand):
    help = "Import a department roster (名单) of a region on a date (DOMAIN §9.1)."

    def add_arguments(self, parser):
        parser.add_argument("file", help=".xlsx or .csv file")
        parser.add_argument("--department", required=True, choices=Department.values)
        parser.add_argument("--region", required=True, help="region code (6 digits)")
        parser.add_argument("--as-of", required=True, dest="as_of", help="YYYY-MM-DD")
        parser.add_argument("--dry-run", action="store_true", dest="dry_run")

    def handle(self, *args, file, department, region, as_of, dry_run, **options):
        translation.activate("zh-hans")
        try:
            as_of_date = parse_iso_date(as_of)
        except ValueError:
            raise _fail(f"--as-of must be a date YYYY-MM-DD, got {as_of!r}") from None
        area = Region.objects.filter(code=region).first()
        if area is None:
            raise _fail(f"unknown region code {region!r}")
        path = Path(file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _fail(f"cannot read {file}: {exc.strerror or exc}") from None
        try:
            result = roster_import(
                name=path.name,
                data=data,
                department=department,
                region=area,
                as_of=as_of_date,
                by=None,  # the system: the command runs from the server's shell
                dry_run=dry_run,
            )
        except RosterFileError as exc:
            raise _fail(str(exc)) from None
        self.stdout.write(json.dumps(result, ensure_ascii=False))
        if result["errors"]:
            self.stdout.flush()
            sys.exit(1)
