"""`python manage.py simulate --area CODE --year Y --policy FILE` — DOMAIN §12, exactly.

Policy simulation (测算): the year's one-stop settlements and manual bills of the area's persons
re-run by the engine under the policy in force and under the draft in FILE (the `policy` object
of the `assess` input, §4; `-` reads stdin). Runs synchronously through the Celery task and
prints the result as JSON. Exit 2, with a message on stderr and nothing on stdout, for an area
that is not a coordination area, a year without a policy in force, or a FILE that is not a
valid policy (the message names the field).
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from claims.management.commands.assess import InputError, _load, _policy
from claims.simulation import SimulationError, coordination_area, policy_for_year
from claims.tasks import simulation_task

MIN_YEAR, MAX_YEAR = 2000, 2100


class Command(BaseCommand):
    help = "Simulate a draft policy (DOMAIN §12) against the policy in force; JSON to stdout."

    def add_arguments(self, parser):
        parser.add_argument("--area", required=True, help="coordination area code, e.g. 150300")
        parser.add_argument("--year", required=True, type=int)
        parser.add_argument("--policy", required=True, help="draft policy JSON; - reads stdin")

    def handle(self, *args, area, year, policy, **options):
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise CommandError(
                _("年度应在 %(min)s 到 %(max)s 之间：%(year)s。")
                % {"min": MIN_YEAR, "max": MAX_YEAR, "year": year},
                returncode=2,
            )
        try:
            coordination_area(area)
            policy_for_year(area, year)
            document = _load(policy)
            _policy(document)  # the assess command's validation: names the bad field
            result = simulation_task.apply(kwargs={"area": area, "year": year, "policy": document})
            output = result.get()
        except (InputError, SimulationError) as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(json.dumps(output, ensure_ascii=False))
