"""Fixtures of the claims tests: the institution register, applicants, bills, settlements.

DOMAIN §4 worked examples use the Wuhai 2023 policy seeded by core's migration
(near_subsistence deductible 5,000 / 70%; tilted 7,000 / 60%; cap 80,000).
"""

from datetime import date

import pytest
from factories import IdentityFactory, PersonFactory

from claims.demo import seed_institutions
from claims.models import Institution
from core.choices import Category


@pytest.fixture
def institutions(db):
    seed_institutions()
    return {i.code: i for i in Institution.objects.all()}


@pytest.fixture
def city_hospital(institutions):
    """乌海市人民医院: level 3, in the coordination area and in Inner Mongolia."""
    return institutions["H15030200001"]


@pytest.fixture
def near_subsistence_person(db, haibowan):
    person = PersonFactory(region=haibowan)
    IdentityFactory(person=person, category=Category.NEAR_SUBSISTENCE, start=date(2023, 1, 1))
    return person


@pytest.fixture
def destitute_person(db, haibowan):
    person = PersonFactory(region=haibowan)
    IdentityFactory(person=person, category=Category.DESTITUTE, start=date(2020, 1, 1))
    return person


@pytest.fixture
def wuda_person(db, wuda):
    person = PersonFactory(region=wuda)
    IdentityFactory(person=person, category=Category.SUBSISTENCE, start=date(2022, 1, 1))
    return person
