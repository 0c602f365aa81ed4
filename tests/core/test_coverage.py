"""core.coverage: DOMAIN §3 written once, and its SQL and ORM forms agree with it."""

import pathlib
import subprocess
import sys
from datetime import date

import pytest
from django.db import connection
from factories import IdentityFactory, PersonFactory

from beneficiaries.models import Identity
from core.choices import Category
from core.coverage import (
    HeldIdentity,
    coverage_end,
    covering_day_sql,
    covers_day,
    covers_stay,
    highest_ranked,
    identity_covers,
    rank_of,
)
from monitoring.checks.burden import watched_sql

RANK = ("destitute", "subsistence", "poverty_risk", "near_subsistence")

# Identity periods around the month ends that P §15 turns on (end → covered to its month end).
PERIODS = [
    (date(2023, 1, 1), None),
    (date(2023, 3, 1), date(2023, 3, 1)),
    (date(2023, 1, 15), date(2023, 2, 28)),
    (date(2023, 2, 1), date(2023, 3, 31)),
    (date(2023, 3, 31), None),
    (date(2023, 4, 1), None),
    (date(2022, 12, 31), date(2023, 1, 31)),
    (date(2024, 2, 29), date(2024, 2, 29)),
    (date(2023, 3, 15), date(2023, 3, 20)),
]
DAYS = [
    date(2023, 1, 1),
    date(2023, 2, 28),
    date(2023, 3, 1),
    date(2023, 3, 16),
    date(2023, 3, 31),
    date(2023, 4, 1),
    date(2024, 2, 29),
    date(2024, 3, 1),
]


def test_an_identity_ending_mid_month_covers_outpatient_days_to_that_month_end():
    held = HeldIdentity("subsistence", date(2023, 1, 1), date(2023, 3, 10))
    assert coverage_end(held.end) == date(2023, 3, 31)
    assert covers_day(held, date(2023, 3, 31))
    assert not covers_day(held, date(2023, 4, 1))
    assert not covers_day(held, date(2022, 12, 31))


def test_identity_ending_during_stay_does_not_cover_it():
    held = HeldIdentity("subsistence", date(2023, 1, 1), date(2023, 3, 10))
    assert not covers_stay(held, date(2023, 3, 5), date(2023, 3, 12))
    assert not identity_covers(held, "inpatient", date(2023, 3, 5), date(2023, 3, 12))


def test_identity_ended_before_admission_covers_a_stay_finished_within_its_month():
    held = HeldIdentity("subsistence", date(2023, 1, 1), date(2023, 3, 10))
    assert covers_stay(held, date(2023, 3, 11), date(2023, 3, 31))
    assert not covers_stay(held, date(2023, 3, 11), date(2023, 4, 1))


def test_identity_gained_during_a_stay_covers_the_whole_stay():
    held = HeldIdentity("subsistence", date(2023, 3, 8))
    assert covers_stay(held, date(2023, 3, 1), date(2023, 3, 9))
    assert not identity_covers(held, "general_outpatient", None, date(2023, 3, 1))


def test_highest_ranked_takes_the_first_in_rank_and_unranked_last():
    assert highest_ranked(["near_subsistence", "subsistence", "poverty_risk"], RANK) == (
        "subsistence"
    )
    assert highest_ranked(["other_special", "near_subsistence"], RANK) == "near_subsistence"
    assert highest_ranked(["other_special", "illness_impoverished"], RANK) == "other_special"
    assert highest_ranked([], RANK) is None
    assert rank_of("other_special", RANK) == len(RANK)


def _sql_covering(day: date) -> set[int]:
    condition, params = covering_day_sql("i", day)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT i.id FROM beneficiaries_identity i WHERE {condition}", params)
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.django_db
def test_sql_orm_and_python_forms_of_coverage_agree_on_the_same_rows():
    """The high-cost scan's SQL, the queryset and covers_day decide alike (SQLite and PG)."""
    person = PersonFactory()
    rows = [IdentityFactory(person=person, start=start, end=end) for start, end in PERIODS]
    for day in DAYS:
        python = {i.pk for i in rows if covers_day(i, day)}
        assert _sql_covering(day) == python, day
        assert set(Identity.objects.covering(day).values_list("pk", flat=True)) == python, day


@pytest.mark.django_db
def test_poverty_return_watch_sql_holds_who_python_holds_on_the_reference_date():
    rows = []
    for n, (start, end) in enumerate(PERIODS):
        category = [Category.POVERTY_RISK, Category.NEAR_SUBSISTENCE, Category.SUBSISTENCE][n % 3]
        rows.append(IdentityFactory(category=category, start=start, end=end))
    for day in DAYS:
        sql, params = watched_sql(day)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            from_sql = {row[0] for row in cursor.fetchall()}
        python = {
            i.person.id_number
            for i in rows
            if i.category in ("poverty_risk", "near_subsistence") and covers_day(i, day)
        }
        assert from_sql == python, day


def test_the_pure_rules_import_no_django():
    modules = "core.coverage, core.dates, core.money, core.periods, core.idnumber"
    code = f"import sys, {modules}; print([m for m in sys.modules if m.startswith('django')])"
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=pathlib.Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "[]"
