"""`CheckContext.in_area` reads the area's region once per run, not once per candidate."""

import pytest

from monitoring.checks import CheckContext, parse_period
from monitoring.models import CheckRun

pytestmark = pytest.mark.django_db


def _context(area: str) -> CheckContext:
    run = CheckRun.objects.create(check_name="benefit_after_coverage", period="2023", area=area)
    return CheckContext(run=run, period=parse_period("2023"), area=area, options={})


@pytest.mark.parametrize("candidates", [5, 50])
def test_the_area_is_read_once_whatever_the_number_of_candidates(
    django_assert_num_queries, candidates
):
    ctx = _context("150300")
    codes = ["150302", "150304", "150402"] * candidates
    with django_assert_num_queries(1):
        decisions = [ctx.in_area(code) for code in codes[:candidates]]
    assert decisions == [code.startswith("1503") for code in codes[:candidates]]


def test_a_run_of_the_whole_region_reads_no_region(django_assert_num_queries):
    ctx = _context("")
    with django_assert_num_queries(0):
        assert all(ctx.in_area(code) for code in ["150302", "150402", None] * 10)


def test_a_check_of_an_area_makes_as_many_queries_for_50_candidates_as_for_5(import_rows):
    """benefit_after_coverage asks in_area for every settlement paying assistance (here each
    covered by an identity, so no alert is written and only the candidates' number differs)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from factories import IdentityFactory, PersonFactory
    from monitoring_helpers import certno, srow

    from core.models import Region
    from monitoring.checks import check_run

    haibowan = Region.objects.get(code="150302")
    maf = {"maf_pay": "300.00", "hifp_pay": "200.00", "fund_pay_sumamt": "600.00"}

    def candidates(first, last):
        rows = []
        for n in range(first, last):
            IdentityFactory(person=PersonFactory(id_number=certno(n), region=haibowan))
            rows.append(srow(f"S{n}", certno(n), **maf))
        import_rows(rows)

    counts = []
    for first, last in [(1, 6), (6, 51)]:
        candidates(first, last)
        with CaptureQueriesContext(connection) as queries:
            run = check_run(name="benefit_after_coverage", period="2023", area="150300")
        assert run.outcome == "success", run.error
        assert run.alerts_created == 0
        counts.append(len(queries))
    assert counts[0] == counts[1]
