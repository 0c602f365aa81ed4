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
