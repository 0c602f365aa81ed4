"""`python manage.py import_settlements FILE [--dry-run]` — DOMAIN §9.2, exactly."""

import json
import os
import sys
import tempfile

from django.core.management.base import BaseCommand

from monitoring.settlements import ImportFileError, settlement_import


class Command(BaseCommand):
    help = "Import a settlement extract (结算明细) of the national medical security platform."

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV or xlsx file; - reads CSV from stdin")
        parser.add_argument("--dry-run", action="store_true", help="check only, write nothing")

    def handle(self, *args, file, dry_run, **options):
        path, temporary = file, None
        if file == "-":
            # Spool stdin to a file so the importer can stream it (twice for encodings).
            temporary = tempfile.NamedTemporaryFile(suffix=".csv", delete=False)
            for block in iter(lambda: sys.stdin.buffer.read(1 << 20), b""):
                temporary.write(block)
            temporary.close()
            path = temporary.name
        try:
            result = settlement_import(path=path, dry_run=dry_run)
        except ImportFileError as exc:
            self.stderr.write(str(exc))
            sys.exit(2)
        finally:
            if temporary is not None:
                os.unlink(temporary.name)
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False))
        if result.errors:
            sys.exit(1)
