"""Registering a person validates the ID number (DOMAIN §8) and derives sex and birth date."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from beneficiaries.services import person_register
from core import idnumber

pytestmark = pytest.mark.django_db

VALID = idnumber.make("150302", date(1990, 1, 1), 123)  # ends in a digit, male


def _register(number, haibowan, by=None, **extra):
    return person_register(id_number=number, name="张三", region=haibowan, by=by, **extra)


def test_valid_number_is_registered_with_sex_and_birth_date_derived(haibowan):
    person = _register(VALID, haibowan)
    assert person.id_number == VALID
    assert person.birth_date == date(1990, 1, 1)
    assert person.sex == "M"


def test_bad_check_digit_is_refused(haibowan):
    wrong = VALID[:17] + ("0" if VALID[17] != "0" else "1")
    with pytest.raises(ValidationError) as exc:
        _register(wrong, haibowan)
    assert exc.value.message_dict["id_number"] == ["校验码错误"]


def test_impossible_birth_date_is_refused(haibowan):
    first17 = "150302" + "19900230" + "123"  # February 30th
    with pytest.raises(ValidationError) as exc:
        _register(first17 + idnumber.check_digit(first17), haibowan)
    assert exc.value.message_dict["id_number"] == ["出生日期无效"]


@pytest.mark.parametrize("number", [VALID[:17], VALID + "1", "15030219900101"])
def test_wrong_length_is_refused(haibowan, number):
    with pytest.raises(ValidationError) as exc:
        _register(number, haibowan)
    assert exc.value.message_dict["id_number"] == ["身份证号码应为18位"]


def test_lowercase_x_is_accepted_and_stored_upper_case(haibowan):
    number = next(
        n
        for seq in range(1000)
        if (n := idnumber.make("150302", date(1985, 5, 5), seq)).endswith("X")
    )
    person = _register(number.lower(), haibowan)
    assert person.id_number == number
    assert person.id_number.endswith("X")


def test_duplicate_id_number_is_refused(haibowan):
    _register(VALID, haibowan)
    with pytest.raises(ValidationError) as exc:
        _register(VALID, haibowan)
    assert "id_number" in exc.value.message_dict


def test_registration_keeps_who_registered(haibowan, caseworker_haibowan):
    person = _register(VALID, haibowan, by=caseworker_haibowan)
    assert person.history.get().history_user == caseworker_haibowan
