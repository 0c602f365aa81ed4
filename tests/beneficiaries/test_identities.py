"""Identities (DOMAIN §3): no overlap within a category, coverage end, history, ranking."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from beneficiaries.models import Identity, coverage_end
from beneficiaries.selectors import applicable_identity
from beneficiaries.services import identity_change, identity_grant, identity_terminate
from core.choices import Category, Department
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(haibowan):
    return PersonFactory(region=haibowan)


def _grant(
    person, category=Category.SUBSISTENCE, start=date(2023, 1, 1), end=None, by=None, **extra
):
    return identity_grant(
        person=person,
        category=category,
        start=start,
        end=end,
        region=person.region,
        by=by,
        **extra,
    )


@pytest.mark.parametrize(
    "end, expected",
    [
        (date(2023, 5, 10), date(2023, 5, 31)),
        (date(2023, 2, 1), date(2023, 2, 28)),
        (date(2024, 2, 29), date(2024, 2, 29)),
        (date(2023, 12, 31), date(2023, 12, 31)),
    ],
)
def test_coverage_ends_on_the_last_day_of_the_month_of_end(end, expected):
    assert coverage_end(end) == expected


def test_ended_identity_covers_outpatient_bills_to_the_end_of_that_month(person):
    identity = _grant(person, Category.NEAR_SUBSISTENCE, end=date(2023, 5, 10))
    assert identity.coverage_end == date(2023, 5, 31)
    assert identity.covers(date(2023, 5, 25))
    assert not identity.covers(date(2023, 6, 1))
    assert Identity.objects.covering(date(2023, 5, 25)).filter(pk=identity.pk).exists()
    assert not Identity.objects.covering(date(2023, 6, 1)).filter(pk=identity.pk).exists()


def test_overlapping_identity_of_the_same_category_is_refused(person):
    _grant(person, start=date(2023, 1, 1), end=date(2023, 6, 30))
    with pytest.raises(ValidationError):
        _grant(person, start=date(2023, 6, 30))


def test_open_identity_blocks_any_later_one_of_the_same_category(person):
    _grant(person, start=date(2023, 1, 1))
    with pytest.raises(ValidationError):
        _grant(person, start=date(2025, 1, 1), department=Department.RURAL_REVITALIZATION)


def test_identity_after_the_previous_one_ended_is_accepted(person):
    _grant(person, start=date(2022, 1, 1), end=date(2022, 12, 31))
    assert _grant(person, start=date(2023, 1, 1)).pk


def test_identities_of_different_categories_may_overlap(person):
    _grant(person, Category.SUBSISTENCE)
    assert _grant(person, Category.POVERTY_RISK, department=Department.RURAL_REVITALIZATION).pk


def test_end_before_start_is_refused(person):
    with pytest.raises(ValidationError):
        _grant(person, start=date(2023, 5, 1), end=date(2023, 4, 30))


def test_termination_keeps_the_reason_and_who_in_history(person, caseworker_haibowan):
    identity = _grant(person)
    identity_terminate(
        identity=identity, end=date(2023, 8, 15), reason="家庭收入超标", by=caseworker_haibowan
    )
    identity.refresh_from_db()
    assert identity.end == date(2023, 8, 15)
    assert identity.end_reason == "家庭收入超标"
    latest = identity.history.first()
    assert latest.history_user == caseworker_haibowan
    assert latest.history_change_reason == "家庭收入超标"
    assert identity.history.count() == 2


def test_termination_needs_a_reason(person):
    with pytest.raises(ValidationError):
        identity_terminate(identity=_grant(person), end=date(2023, 8, 15), reason=" ", by=None)


def test_change_that_would_overlap_is_refused(person):
    _grant(person, start=date(2022, 1, 1), end=date(2022, 12, 31))
    later = _grant(person, start=date(2023, 3, 1))
    with pytest.raises(ValidationError):
        identity_change(identity=later, start=date(2022, 12, 1), reason="更正认定日期", by=None)


def test_change_records_the_reason(person, caseworker_haibowan):
    identity = _grant(person)
    identity_change(
        identity=identity, start=date(2023, 2, 1), reason="更正认定日期", by=caseworker_haibowan
    )
    identity.refresh_from_db()
    assert identity.start == date(2023, 2, 1)
    assert identity.history.first().history_change_reason == "更正认定日期"


def test_highest_ranked_current_identity_applies(person):
    _grant(person, Category.NEAR_SUBSISTENCE, start=date(2022, 1, 1))
    _grant(person, Category.SUBSISTENCE, start=date(2023, 1, 1))
    _grant(person, Category.DESTITUTE, start=date(2020, 1, 1), end=date(2021, 1, 31))
    assert applicable_identity(person, date(2023, 6, 1)).category == Category.SUBSISTENCE
    assert applicable_identity(person, date(2022, 6, 1)).category == Category.NEAR_SUBSISTENCE
    assert applicable_identity(person, date(2021, 1, 20)).category == Category.DESTITUTE
