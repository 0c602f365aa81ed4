"""Registering into a household and saving a household are one service each, one transaction."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from beneficiaries import services
from beneficiaries.models import Household, Person
from core import idnumber
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def _number(seq: int, region="150302") -> str:
    return idnumber.make(region, date(1990, 5, 5), seq)


def _register(by, region, **extra):
    return services.person_register_with_household(
        id_number=_number(31), name="王小明", region=region, by=by, **extra
    )


def test_registering_into_a_person_without_household_makes_them_head(caseworker_haibowan, haibowan):
    head = PersonFactory(region=haibowan)
    child = _register(caseworker_haibowan, haibowan, household_of=head.id_number, relation="子")
    head.refresh_from_db()
    assert child.household_id == head.household_id is not None
    assert head.relation == "户主"
    assert child.relation == "子"
    assert child.household.members_count == 2


def test_an_unknown_household_leaves_no_person_behind(caseworker_haibowan, haibowan):
    with pytest.raises(ValidationError) as exc:
        _register(caseworker_haibowan, haibowan, household_of=_number(99))
    assert "household_of" in exc.value.error_dict
    assert not Person.objects.filter(id_number=_number(31)).exists()


def test_a_household_in_another_district_is_not_found(caseworker_haibowan, haibowan, wuda):
    other = PersonFactory(region=wuda)
    with pytest.raises(ValidationError):
        _register(caseworker_haibowan, haibowan, household_of=other.id_number)
    assert not Household.objects.exists()
    assert not Person.objects.filter(id_number=_number(31)).exists()


def test_a_refused_duplicate_person_leaves_the_new_household_out(caseworker_haibowan, haibowan):
    head = PersonFactory(region=haibowan)
    PersonFactory(region=haibowan, id_number=_number(31))
    with pytest.raises(ValidationError):
        _register(caseworker_haibowan, haibowan, household_of=head.id_number)
    head.refresh_from_db()
    assert head.household_id is None
    assert not Household.objects.exists()


def test_register_checks_the_region_itself(caseworker_haibowan, wuda):
    with pytest.raises(PermissionDenied):
        _register(caseworker_haibowan, wuda)


def test_household_save_creates_it_with_the_person_as_head(caseworker_haibowan, haibowan):
    person = PersonFactory(region=haibowan)
    household = services.household_save(
        person=person, by=caseworker_haibowan, address="海勃湾区1号", members_count=3
    )
    person.refresh_from_db()
    assert person.household_id == household.pk
    assert (household.address, household.members_count) == ("海勃湾区1号", 3)


def test_a_refused_member_leaves_the_household_as_it_was(caseworker_haibowan, haibowan, wuda):
    person = PersonFactory(region=haibowan)
    services.household_save(person=person, by=caseworker_haibowan, members_count=1)
    person.refresh_from_db()
    stranger = PersonFactory(region=wuda)
    with pytest.raises(ValidationError) as exc:
        services.household_save(
            person=person,
            by=caseworker_haibowan,
            members_count=4,
            add_member=stranger.id_number,
        )
    assert "add_member" in exc.value.error_dict
    assert Household.objects.get().members_count == 1
    stranger.refresh_from_db()
    assert stranger.household_id is None


def test_household_save_checks_the_region_itself(caseworker_wuda, haibowan):
    person = PersonFactory(region=haibowan)
    with pytest.raises(PermissionDenied):
        services.household_save(person=person, by=caseworker_wuda, members_count=2)
    assert not Household.objects.exists()
