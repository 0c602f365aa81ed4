"""core.idnumber: GB 11643-1999 resident ID numbers (DOMAIN §8, §9.1). No database."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core import idnumber
from core.idnumber import InvalidIdNumber

# 乌海市海勃湾区, born 1990-01-01, sequence 123 (odd: male); check digit computed by hand:
# sum of weighted digits = 208, 208 mod 11 = 10 → "1".
HAIBOWAN_MAN = "150302199001011231"
TODAY = date(2025, 6, 1)


def _error(raw, **kwargs):
    with pytest.raises(InvalidIdNumber) as excinfo:
        idnumber.validate(raw, **kwargs)
    return excinfo.value


# validate


def test_valid_number_is_returned_unchanged():
    assert idnumber.validate(HAIBOWAN_MAN) == HAIBOWAN_MAN


@pytest.mark.parametrize("number", ["11010519491231002X", "440524188001010014"])
def test_examples_of_the_standard_are_valid(number):
    assert idnumber.validate(number) == number


def test_wrong_check_digit_is_reported_as_校验码错误():
    error = _error("150302199001011232")
    assert error.message == "校验码错误"
    assert str(error) == "校验码错误"
    assert error.code == "check_digit"


def test_invalid_id_number_is_a_value_error():
    assert issubclass(InvalidIdNumber, ValueError)


def test_february_30th_is_an_invalid_birth_date():
    first17 = "15030219900230123"
    error = _error(first17 + idnumber.check_digit(first17))
    assert (error.code, error.message) == ("birth_date", "出生日期无效")


def test_month_13_is_an_invalid_birth_date():
    first17 = "15030219901301123"
    assert _error(first17 + idnumber.check_digit(first17)).code == "birth_date"


def test_birth_date_before_1800_is_invalid():
    first17 = "15030207900101123"  # 0790: a typo for 1990
    assert _error(first17 + idnumber.check_digit(first17)).code == "birth_date"


def test_birth_date_after_today_is_rejected():
    number = idnumber.make("150302", date(2025, 6, 2), 123)
    error = _error(number, today=TODAY)
    assert (error.code, error.message) == ("birth_date", "出生日期晚于今天")


def test_person_born_today_is_valid():
    number = idnumber.make("150302", TODAY, 123)
    assert idnumber.validate(number, today=TODAY) == number


@pytest.mark.parametrize("raw", ["", "15030219900101123", "1503021990010112312", "150302900101123"])
def test_number_must_have_18_characters(raw):
    error = _error(raw)
    assert (error.code, error.message) == ("length", "身份证号码应为18位")


def test_missing_number_is_a_length_error():
    assert _error(None).code == "length"


@pytest.mark.parametrize(
    "raw",
    [
        "15030219900101123A",  # only X may end the number
        "1503021990010112X1",  # X only in the last place
        "15030219900101-231",
        "身份证号码",
        "١٥٠٣٠٢١٩٩٠٠١٠١١٢٣١",  # Arabic-Indic digits are not ID digits
    ],
)
def test_number_may_contain_only_digits_and_a_final_x(raw):
    error = _error(raw)
    assert (error.code, error.message) == ("chars", "身份证号码只能包含数字，最后一位可以是X")


def test_lowercase_x_is_accepted_and_stored_upper_case():
    assert idnumber.validate("11010519491231002x") == "11010519491231002X"


def test_spaces_are_removed():
    assert idnumber.validate(" 150302 19900101 1231 ") == HAIBOWAN_MAN


def test_full_width_digits_are_folded_to_ascii():
    assert idnumber.validate("１１０１０５１９４９１２３１００２ｘ") == "11010519491231002X"


# normalize


def test_normalize_upper_cases_only_a_trailing_x():
    assert idnumber.normalize("12x4x") == "12x4X"


def test_normalize_does_not_validate():
    assert idnumber.normalize(" 123 ") == "123"


# check_digit


def test_check_digit_is_x_when_the_weighted_sum_leaves_2():
    assert idnumber.check_digit("11010519491231002") == "X"


def test_check_digit_needs_17_digits():
    with pytest.raises(ValueError):
        idnumber.check_digit("1101051949123100")


# derived fields


def test_birth_date_is_read_from_digits_7_to_14():
    assert idnumber.birth_date(HAIBOWAN_MAN) == date(1990, 1, 1)


def test_odd_17th_digit_is_male():
    assert idnumber.sex(HAIBOWAN_MAN) == "M"


def test_even_17th_digit_is_female():
    assert idnumber.sex("11010519491231002X") == "F"


def test_region_code_is_the_first_6_digits():
    assert idnumber.region_code(HAIBOWAN_MAN) == "150302"


def test_derived_fields_accept_lowercase_x():
    assert idnumber.birth_date("11010519491231002x") == date(1949, 12, 31)


def test_derived_fields_refuse_invalid_numbers():
    with pytest.raises(InvalidIdNumber):
        idnumber.sex("150302199001011232")


# mask


def test_mask_keeps_region_and_last_4_with_8_stars():
    assert idnumber.mask("150302199001011234") == "150302********1234"


def test_mask_upper_cases_a_trailing_x():
    assert idnumber.mask("11010519491231002x") == "110105********002X"


def test_mask_of_an_old_15_digit_number_hides_the_middle():
    assert idnumber.mask("150302900101123") == "150302*****1123"


@pytest.mark.parametrize(
    ("raw", "masked"),
    [("123456789", "*******89"), ("1234567890123", "***********23"), ("12", "**"), ("", "")],
)
def test_mask_of_a_short_string_shows_only_the_last_2(raw, masked):
    assert idnumber.mask(raw) == masked


def test_mask_of_none_is_empty():
    assert idnumber.mask(None) == ""


# make


def test_make_builds_the_number_from_its_parts():
    assert idnumber.make("150302", date(1990, 1, 1), 123) == HAIBOWAN_MAN


def test_make_flips_the_sequence_parity_to_match_the_requested_sex():
    number = idnumber.make("150302", date(1990, 1, 1), 123, sex="F")
    assert number[14:17] == "122"
    assert idnumber.sex(number) == "F"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"region6": "15030", "birth": date(1990, 1, 1), "seq3": 1},
        {"region6": "150302", "birth": date(1990, 1, 1), "seq3": 1000},
        {"region6": "150302", "birth": date(1790, 1, 1), "seq3": 1},
        {"region6": "150302", "birth": date(1990, 1, 1), "seq3": 1, "sex": "男"},
    ],
)
def test_make_refuses_parts_that_cannot_form_a_valid_number(kwargs):
    with pytest.raises(ValueError):
        idnumber.make(**kwargs)


regions = st.integers(min_value=110000, max_value=659999).map(str)
births = st.dates(min_value=date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


@given(region6=regions, birth=births, seq3=sequences, sex=st.sampled_from([None, "M", "F"]))
def test_every_made_number_validates_and_derives_its_parts(region6, birth, seq3, sex):
    number = idnumber.make(region6, birth, seq3, sex=sex)
    assert idnumber.validate(number, today=TODAY) == number
    assert idnumber.birth_date(number) == birth
    assert idnumber.region_code(number) == region6
    if sex:
        assert idnumber.sex(number) == sex


@given(
    region6=regions,
    birth=births,
    seq3=sequences,
    position=st.integers(min_value=0, max_value=16),
    delta=st.integers(min_value=1, max_value=9),
)
def test_changing_any_one_of_the_first_17_digits_breaks_the_check_digit(
    region6, birth, seq3, position, delta
):
    number = idnumber.make(region6, birth, seq3)
    changed = str((int(number[position]) + delta) % 10)
    typo = number[:position] + changed + number[position + 1 :]
    assert idnumber.check_digit(typo[:17]) != typo[17]
    if not 6 <= position < 14:  # outside the birth date the typo can only fail the check
        assert _error(typo, today=TODAY).code == "check_digit"
