"""claims.engine: DOMAIN §3 (identity coverage) and §4 (assessment). No database, no Django."""

import subprocess
import sys
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from claims.engine import (
    Bill,
    CategoryRule,
    Identity,
    InvalidBill,
    Policy,
    YearToDate,
    assess_bill,
    assess_bills,
    coverage_end,
    identity_covers,
    render_steps,
    validate_bill,
)
from core.money import money

D = Decimal
TODAY = date(2024, 6, 30)

# The worked examples' Wuhai-style policy (DOMAIN §4).
WUHAI = Policy(
    annual_cap=D("80000.00"),
    categories={
        "destitute": CategoryRule(D("0"), D("1.00")),
        "subsistence": CategoryRule(D("0"), D("0.75")),
        "poverty_risk": CategoryRule(D("0"), D("0.70")),
        "near_subsistence": CategoryRule(D("5000.00"), D("0.70")),
        "illness_impoverished": CategoryRule(D("12500.00"), D("0.70")),
    },
    tilted_deductible=D("7000.00"),
    tilted_ratio=D("0.60"),
)


def inpatient(admitted, discharged, self_pay="10000.00", **fields):
    """An inpatient bill in the city whose policy-range self-pay is ``self_pay``."""
    values = {
        "id": "H",
        "visit_type": "inpatient",
        "admitted": admitted,
        "discharged": discharged,
        "designated": True,
        "in_coordination_area": True,
        "in_region": True,
        "referred": False,
        "total_cost": D(self_pay) + D("22000.00"),
        "policy_range_cost": D(self_pay) + D("20000.00"),
        "basic_insurance_paid": D("18000.00"),
        "critical_illness_paid": D("2000.00"),
    }
    values.update(fields)
    return Bill(**values)


def outpatient(day, self_pay="1000.00", visit_type="chronic_outpatient", **fields):
    values = {
        "id": "M",
        "visit_type": visit_type,
        "service_date": day,
        "designated": True,
        "in_coordination_area": True,
        "in_region": True,
        "referred": False,
        "total_cost": D(self_pay) + D("600.00"),
        "policy_range_cost": D(self_pay) + D("500.00"),
        "basic_insurance_paid": D("500.00"),
        "critical_illness_paid": D("0.00"),
    }
    values.update(fields)
    return Bill(**values)


def near_subsistence(start=date(2023, 1, 1), end=None):
    return [Identity("near_subsistence", start, end)]


def amounts(result):
    return (
        result.self_pay,
        result.deductible_applied,
        result.assistance,
        result.tilted_deductible_applied,
        result.tilted_assistance,
        result.total,
    )


# --- Worked examples A–F ------------------------------------------------------------------


def test_deductible_comes_first_and_the_burden_fills_the_tilted_deductible():
    """Example A."""
    bill = inpatient(date(2023, 3, 1), date(2023, 3, 10), policy_range_cost=D("30000.00"))
    result, state = assess_bill(WUHAI, near_subsistence(), YearToDate.zero(), bill)

    assert result.covered and result.reason is None
    assert result.category == "near_subsistence"
    assert amounts(result) == (D("10000"), D("5000"), D("3500"), D("6500"), D("0"), D("3500"))
    assert state == YearToDate(D("5000.00"), D("3500.00"), D("6500.00"))


def test_second_bill_finds_the_deductible_used_and_earns_tilted_assistance():
    """Example B: the year-to-date state carries from one bill to the next."""
    first = inpatient(date(2023, 3, 1), date(2023, 3, 10), "10000.00")
    second = inpatient(date(2023, 4, 1), date(2023, 4, 5), "4000.00", id="B")
    results, state = assess_bills(
        WUHAI, near_subsistence(), YearToDate.zero(), [first, second], TODAY
    )

    assert amounts(results[1]) == (D("4000"), D("0"), D("2800"), D("500"), D("420"), D("3220"))
    assert state == YearToDate(D("5000.00"), D("6300.00"), D("7000.00"))


def test_annual_cap_limits_basic_assistance_and_the_rest_is_burden():
    """Example C."""
    paid = YearToDate(D("0"), D("78000.00"), D("0"))
    bill = inpatient(date(2023, 9, 1), date(2023, 9, 9), "5000.00")
    result, state = assess_bill(WUHAI, [Identity("destitute", date(2020, 1, 1))], paid, bill)

    assert result.assistance == D("2000.00")
    assert result.tilted_deductible_applied == D("3000.00")
    assert result.tilted_assistance == D("0.00")
    assert state.assistance_paid == D("80000.00")
    assert state.tilted_deductible_used == D("3000.00")


def test_outpatient_bill_gets_no_tilted_assistance():
    """Example D."""
    bill = outpatient(date(2023, 5, 1), "1000.00")
    result, state = assess_bill(
        WUHAI, [Identity("subsistence", date(2023, 1, 1))], YearToDate.zero(), bill
    )

    assert result.assistance == D("750.00")
    assert result.tilted_deductible_applied == D("0.00")
    assert result.total == D("750.00")
    assert state.tilted_deductible_used == D("0.00")


def test_identity_ending_during_stay_does_not_cover_it():
    """Example E (P §15)."""
    identities = near_subsistence(end=date(2023, 5, 10))
    bill = inpatient(date(2023, 5, 8), date(2023, 5, 20))
    result, state = assess_bill(WUHAI, identities, YearToDate.zero(), bill)

    assert not result.covered
    assert result.reason == "no_identity"
    assert result.total == D("0.00")
    assert state == YearToDate.zero()


def test_identity_covers_outpatient_to_the_end_of_the_month_it_ends_in():
    """Example E: 次月起不再享受."""
    identities = near_subsistence(end=date(2023, 5, 10))
    result, _ = assess_bill(WUHAI, identities, YearToDate.zero(), outpatient(date(2023, 5, 25)))
    assert result.covered


def test_identity_does_not_cover_outpatient_from_the_next_month():
    """Example E."""
    identities = near_subsistence(end=date(2023, 5, 10))
    result, _ = assess_bill(WUHAI, identities, YearToDate.zero(), outpatient(date(2023, 6, 1)))
    assert (result.covered, result.reason) == (False, "no_identity")


def test_identity_gained_during_stay_covers_the_whole_stay():
    """Example F."""
    identities = near_subsistence(start=date(2023, 3, 15))
    bill = inpatient(date(2023, 3, 10), date(2023, 3, 20))
    result, _ = assess_bill(WUHAI, identities, YearToDate.zero(), bill)
    assert result.covered


# --- §3 coverage ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "expected"),
    [
        (date(2023, 5, 10), date(2023, 5, 31)),
        (date(2023, 5, 31), date(2023, 5, 31)),
        (date(2023, 2, 1), date(2023, 2, 28)),
        (date(2024, 2, 10), date(2024, 2, 29)),
        (date(2023, 12, 5), date(2023, 12, 31)),
        (date(2023, 4, 30), date(2023, 4, 30)),
    ],
)
def test_coverage_end_is_the_last_day_of_the_month_the_identity_ends_in(end, expected):
    assert coverage_end(end) == expected


def test_identity_ended_before_admission_covers_a_stay_finished_in_its_month():
    identity = Identity("subsistence", date(2022, 1, 1), date(2023, 5, 3))
    assert identity_covers(identity, inpatient(date(2023, 5, 8), date(2023, 5, 31)))


def test_identity_ended_before_admission_does_not_cover_a_stay_past_its_month():
    identity = Identity("subsistence", date(2022, 1, 1), date(2023, 5, 3))
    assert not identity_covers(identity, inpatient(date(2023, 5, 8), date(2023, 6, 1)))


@pytest.mark.parametrize(
    ("end", "covers"),
    [
        (date(2023, 5, 7), True),  # the day before admission
        (date(2023, 5, 8), False),  # on admission
        (date(2023, 5, 20), False),  # on discharge
        (date(2023, 5, 21), True),  # after discharge
    ],
)
def test_identity_end_around_the_stay(end, covers):
    identity = Identity("subsistence", date(2022, 1, 1), end)
    assert identity_covers(identity, inpatient(date(2023, 5, 8), date(2023, 5, 20))) is covers


def test_identity_starting_after_discharge_does_not_cover_the_stay():
    identity = Identity("subsistence", date(2023, 5, 21))
    assert not identity_covers(identity, inpatient(date(2023, 5, 8), date(2023, 5, 20)))


def test_identity_covers_outpatient_from_its_start_day():
    identity = Identity("subsistence", date(2023, 5, 8))
    assert identity_covers(identity, outpatient(date(2023, 5, 8)))
    assert not identity_covers(identity, outpatient(date(2023, 5, 7)))


def test_highest_ranked_covering_identity_applies_once():
    identities = [
        Identity("near_subsistence", date(2023, 1, 1)),
        Identity("destitute", date(2023, 1, 1)),
        Identity("subsistence", date(2023, 1, 1)),
    ]
    result, state = assess_bill(WUHAI, identities, YearToDate.zero(), outpatient(date(2023, 5, 1)))
    assert result.category == "destitute"
    assert result.assistance == D("1000.00")  # 100%, no deductible, counted once
    assert state.assistance_paid == D("1000.00")


def test_identity_that_does_not_cover_the_bill_is_not_ranked():
    identities = [
        Identity("destitute", date(2023, 1, 1), date(2023, 2, 10)),
        Identity("subsistence", date(2023, 1, 1)),
    ]
    result, _ = assess_bill(WUHAI, identities, YearToDate.zero(), outpatient(date(2023, 5, 1)))
    assert result.category == "subsistence"


def test_policy_rank_decides_between_categories():
    rank = ("near_subsistence", "subsistence", *WUHAI.categories)
    policy = replace(WUHAI, rank=rank)
    identities = [
        Identity("subsistence", date(2023, 1, 1)),
        Identity("near_subsistence", date(2023, 1, 1)),
    ]
    result, _ = assess_bill(policy, identities, YearToDate.zero(), outpatient(date(2023, 5, 1)))
    assert result.category == "near_subsistence"


def test_category_without_a_rule_gives_no_assistance():
    identities = [Identity("other_special", date(2023, 1, 1))]
    bill = inpatient(date(2023, 3, 1), date(2023, 3, 10))
    result, state = assess_bill(WUHAI, identities, YearToDate.zero(), bill)

    assert (result.covered, result.reason, result.category) == (False, "no_identity", None)
    assert result.total == D("0.00") and result.tilted_assistance == D("0.00")
    assert state == YearToDate.zero()
    assert "其他特殊困难人员 在本政策中没有救助标准，不予救助。" in render_steps(result)


def test_category_without_a_rule_does_not_hide_a_lower_category_with_one():
    policy = replace(WUHAI, rank=("other_special", *WUHAI.categories))
    identities = [
        Identity("other_special", date(2023, 1, 1)),
        Identity("illness_impoverished", date(2023, 1, 1)),
    ]
    result, _ = assess_bill(policy, identities, YearToDate.zero(), outpatient(date(2023, 5, 1)))
    assert result.category == "illness_impoverished"


# --- §4 step 2: coverage reasons -------------------------------------------------------------


def test_bill_from_a_non_designated_institution_is_not_covered():
    bill = outpatient(date(2023, 5, 1), designated=False)
    result, state = assess_bill(WUHAI, near_subsistence(), YearToDate(D("1"), D("2"), D("3")), bill)
    assert (result.covered, result.reason) == (False, "not_designated")
    assert result.self_pay == D("1000.00")
    assert amounts(result)[1:] == (D("0"),) * 5
    assert state == YearToDate(D("1"), D("2"), D("3"))


def test_treatment_outside_the_area_without_referral_is_not_covered():
    bill = outpatient(date(2023, 5, 1), in_coordination_area=False)
    result, _ = assess_bill(WUHAI, near_subsistence(), YearToDate.zero(), bill)
    assert (result.covered, result.reason) == (False, "no_referral")


def test_treatment_outside_the_area_with_referral_is_covered():
    bill = outpatient(date(2023, 5, 1), in_coordination_area=False, referred=True)
    result, _ = assess_bill(WUHAI, near_subsistence(), YearToDate.zero(), bill)
    assert result.covered


def test_coverage_reasons_are_checked_in_order():
    bill = outpatient(date(2023, 5, 1), designated=False, in_coordination_area=False)
    no_identity, _ = assess_bill(WUHAI, [], YearToDate.zero(), bill)
    not_designated, _ = assess_bill(WUHAI, near_subsistence(), YearToDate.zero(), bill)
    assert no_identity.reason == "no_identity"
    assert not_designated.reason == "not_designated"


def test_inpatient_outside_inner_mongolia_gets_no_tilted_assistance():
    bill = inpatient(
        date(2023, 3, 1), date(2023, 3, 10), in_coordination_area=False, in_region=False
    )
    result, state = assess_bill(
        WUHAI, near_subsistence(), YearToDate.zero(), replace(bill, referred=True)
    )
    assert result.assistance == D("3500.00")
    assert result.tilted_deductible_applied == D("0.00")
    assert state.tilted_deductible_used == D("0.00")


def test_inpatient_referred_elsewhere_in_inner_mongolia_gets_tilted_assistance():
    bill = inpatient(
        date(2023, 3, 1), date(2023, 3, 10), "20000.00", in_coordination_area=False, referred=True
    )
    result, _ = assess_bill(WUHAI, near_subsistence(), YearToDate.zero(), bill)
    # s 20,000: a = 15,000 × 70% = 10,500; b = 9,500; t = (9,500 − 7,000) × 60% = 1,500
    assert (result.assistance, result.tilted_assistance) == (D("10500.00"), D("1500.00"))


# --- §4 steps 5–7 ---------------------------------------------------------------------------


def test_no_annual_cap_means_no_limit():
    policy = replace(WUHAI, annual_cap=None)
    paid = YearToDate(D("0"), D("500000.00"), D("0"))
    result, state = assess_bill(
        policy, [Identity("destitute", date(2023, 1, 1))], paid, outpatient(date(2023, 5, 1))
    )
    assert result.assistance == D("1000.00")
    assert state.assistance_paid == D("501000.00")


def test_cap_already_reached_gives_no_basic_assistance_and_burden_goes_to_tilted_pass():
    paid = YearToDate(D("5000.00"), D("80000.00"), D("7000.00"))
    bill = inpatient(date(2023, 9, 1), date(2023, 9, 9), "1000.00")
    result, _ = assess_bill(WUHAI, near_subsistence(), paid, bill)
    assert result.assistance == D("0.00")
    assert result.tilted_assistance == D("600.00")  # no cap on tilted assistance


def test_amounts_are_rounded_half_up_to_the_fen():
    # 100.06 × 75% = 75.045 → 75.05 (half-even would give 75.04)
    bill = outpatient(date(2023, 5, 1), "100.06")
    result, _ = assess_bill(
        WUHAI, [Identity("subsistence", date(2023, 1, 1))], YearToDate.zero(), bill
    )
    assert result.assistance == D("75.05")
    assert money(D("2.675")) == D("2.68")


def test_self_pay_smaller_than_the_deductible_is_all_deductible():
    bill = outpatient(date(2023, 5, 1), "1200.00")
    result, state = assess_bill(WUHAI, near_subsistence(), YearToDate.zero(), bill)
    assert (result.deductible_applied, result.assistance) == (D("1200.00"), D("0.00"))
    assert state.deductible_used == D("1200.00")


# --- Years and order ------------------------------------------------------------------------


def test_a_new_year_starts_from_zero():
    given = YearToDate(D("5000.00"), D("79000.00"), D("7000.00"))
    bills = [
        inpatient(date(2023, 12, 20), date(2023, 12, 28), "4000.00", id="2023"),
        inpatient(date(2024, 1, 2), date(2024, 1, 9), "10000.00", id="2024"),
    ]
    results, state = assess_bills(WUHAI, near_subsistence(), given, bills, TODAY)

    assert results[0].assistance == D("1000.00")  # the 2023 cap
    assert amounts(results[1]) == (D("10000"), D("5000"), D("3500"), D("6500"), D("0"), D("3500"))
    assert state == YearToDate(D("5000.00"), D("3500.00"), D("6500.00"))


def test_bills_are_assessed_in_date_order_and_returned_in_input_order():
    later = inpatient(date(2023, 4, 1), date(2023, 4, 5), "4000.00", id="later")
    earlier = inpatient(date(2023, 3, 1), date(2023, 3, 10), "10000.00", id="earlier")
    results, _ = assess_bills(WUHAI, near_subsistence(), YearToDate.zero(), [later, earlier], TODAY)

    assert [r.bill_id for r in results] == ["later", "earlier"]
    assert results[1].deductible_applied == D("5000.00")  # the earlier stay used it up
    assert results[0].total == D("3220.00")


def test_bills_of_one_day_keep_their_entry_order():
    first = outpatient(date(2023, 5, 1), "3000.00", id="first")
    second = outpatient(date(2023, 5, 1), "3000.00", id="second")
    results, _ = assess_bills(WUHAI, near_subsistence(), YearToDate.zero(), [first, second], TODAY)
    assert (results[0].deductible_applied, results[1].deductible_applied) == (
        D("3000.00"),
        D("2000.00"),
    )


def test_no_bills_leave_the_state_as_given():
    given = YearToDate(D("1.00"), D("2.00"), D("3.00"))
    assert assess_bills(WUHAI, [], given, [], TODAY) == ([], given)


# --- One-stop settlements -------------------------------------------------------------------


def test_settlement_counts_what_the_counter_paid_and_consumes_the_deductibles():
    settlement = inpatient(
        date(2023, 3, 1), date(2023, 3, 10), "10000.00", paid_assistance=D("3600.00")
    )
    result, state = assess_bill(WUHAI, near_subsistence(), YearToDate.zero(), settlement)

    assert result.covered
    assert (result.assistance, result.tilted_assistance, result.total) == (
        D("3600.00"),
        D("0.00"),
        D("3600.00"),
    )
    # Deductibles as the engine computes them (example A), the cap counts maf_pay.
    assert state == YearToDate(D("5000.00"), D("3600.00"), D("6500.00"))
    assert result.step_lines()[-1] == "救助合计 = 医院窗口实际支付 3,600.00 元"


def test_settlement_is_a_fact_even_outside_the_area_without_referral():
    settlement = outpatient(
        date(2023, 5, 1),
        designated=False,
        in_coordination_area=False,
        paid_assistance=D("700.00"),
    )
    result, state = assess_bill(
        WUHAI, [Identity("subsistence", date(2023, 1, 1))], YearToDate.zero(), settlement
    )
    assert result.covered
    assert state.assistance_paid == D("700.00")


def test_settlement_without_a_covering_identity_only_counts_toward_the_cap():
    settlement = inpatient(
        date(2023, 3, 1), date(2023, 3, 10), "10000.00", paid_assistance=D("2500.00")
    )
    result, state = assess_bill(WUHAI, [], YearToDate.zero(), settlement)

    assert (result.covered, result.reason, result.total) == (False, "no_identity", D("2500.00"))
    assert state == YearToDate(D("0.00"), D("2500.00"), D("0.00"))


def test_replayed_settlements_limit_a_later_manual_bill_by_the_cap():
    settlement = inpatient(
        date(2023, 3, 1),
        date(2023, 3, 10),
        "10000.00",
        id="setl",
        paid_assistance=D("79500.00"),
    )
    bill = outpatient(date(2023, 4, 1), "1000.00", id="manual")
    results, state = assess_bills(
        WUHAI, near_subsistence(), YearToDate.zero(), [settlement, bill], TODAY
    )
    assert results[1].deductible_applied == D("0.00")
    assert results[1].assistance == D("500.00")
    assert state.assistance_paid == D("80000.00")


# --- §4 step 1: validation ------------------------------------------------------------------


@pytest.mark.parametrize(
    "field", ["total_cost", "policy_range_cost", "basic_insurance_paid", "critical_illness_paid"]
)
def test_negative_amount_is_an_input_error(field):
    bill = replace(outpatient(date(2023, 5, 1)), **{field: D("-0.01")})
    with pytest.raises(InvalidBill) as error:
        validate_bill(bill, TODAY)
    assert (error.value.bill_id, error.value.field) == ("M", field)
    assert "负数" in str(error.value)


def test_negative_paid_assistance_of_a_settlement_is_an_input_error():
    bill = outpatient(date(2023, 5, 1), paid_assistance=D("-1"))
    with pytest.raises(InvalidBill) as error:
        validate_bill(bill, TODAY)
    assert error.value.field == "paid_assistance"


def test_policy_range_cost_above_total_cost_is_an_input_error():
    bill = outpatient(date(2023, 5, 1), total_cost=D("100.00"))
    with pytest.raises(InvalidBill) as error:
        validate_bill(bill, TODAY)
    assert error.value.field == "policy_range_cost"
    assert "total_cost" in error.value.describe()


def test_insurance_paid_above_policy_range_cost_is_an_input_error():
    bill = outpatient(date(2023, 5, 1), critical_illness_paid=D("1000.01"))
    with pytest.raises(InvalidBill) as error:
        validate_bill(bill, TODAY)
    assert error.value.field == "basic_insurance_paid"
    assert "critical_illness_paid" in error.value.describe()


def test_admission_after_discharge_is_an_input_error():
    with pytest.raises(InvalidBill) as error:
        validate_bill(inpatient(date(2023, 3, 11), date(2023, 3, 10)), TODAY)
    assert error.value.field == "admitted"
    assert "2023-03-11" in str(error.value)


@pytest.mark.parametrize(
    ("bill", "field"),
    [
        (inpatient(date(2024, 6, 30), date(2024, 7, 1)), "discharged"),
        (inpatient(date(2024, 7, 1), date(2024, 7, 2)), "admitted"),
        (outpatient(date(2024, 7, 1)), "service_date"),
    ],
)
def test_date_in_the_future_is_an_input_error(bill, field):
    with pytest.raises(InvalidBill) as error:
        validate_bill(bill, TODAY)
    assert error.value.field == field


def test_today_is_not_in_the_future():
    validate_bill(outpatient(TODAY), TODAY)


def test_unknown_visit_type_is_an_input_error():
    with pytest.raises(InvalidBill) as error:
        validate_bill(outpatient(date(2023, 5, 1), visit_type="dental"), TODAY)
    assert error.value.field == "visit_type"


@pytest.mark.parametrize(
    ("bill", "field"),
    [
        (inpatient(None, date(2023, 3, 10)), "admitted"),
        (inpatient(date(2023, 3, 1), None), "discharged"),
        (outpatient(None), "service_date"),
    ],
)
def test_missing_date_is_an_input_error(bill, field):
    with pytest.raises(InvalidBill) as error:
        validate_bill(bill, TODAY)
    assert error.value.field == field


def test_one_invalid_bill_stops_the_whole_run_before_anything_is_assessed():
    good = outpatient(date(2023, 5, 1), id="good")
    bad = outpatient(date(2023, 5, 2), id="bad", total_cost=D("-1"))
    with pytest.raises(InvalidBill) as error:
        assess_bills(WUHAI, near_subsistence(), YearToDate.zero(), [good, bad], TODAY)
    assert error.value.bill_id == "bad"
    assert error.value.describe().startswith("账单 bad 的 total_cost：")


# --- Steps ----------------------------------------------------------------------------------


def test_steps_show_how_example_a_was_reached():
    bill = inpatient(date(2023, 3, 1), date(2023, 3, 10))
    result, _ = assess_bill(WUHAI, near_subsistence(), YearToDate.zero(), bill)
    lines = result.step_lines()

    assert lines[0] == "适用救助类别：低保边缘家庭成员。"
    assert "起付标准 5,000.00 元，已累计 0.00 元，本次扣除 5,000.00 元" in lines
    assert "基本救助 =（10,000.00 − 5,000.00）× 70% = 3,500.00 元" in lines
    assert lines[-1] == "救助合计 = 基本救助 3,500.00 + 倾斜救助 0.00 = 3,500.00 元"


def test_steps_explain_why_an_identity_does_not_cover_a_bill():
    identities = near_subsistence(end=date(2023, 5, 10))
    stay, _ = assess_bill(
        WUHAI, identities, YearToDate.zero(), inpatient(date(2023, 5, 8), date(2023, 5, 20))
    )
    visit, _ = assess_bill(WUHAI, identities, YearToDate.zero(), outpatient(date(2023, 6, 1)))

    assert "在住院期间" in stay.step_lines()[0]
    assert "享受至 2023-05-31" in visit.step_lines()[0]


def test_steps_are_translated_when_rendered():
    bill = outpatient(date(2023, 5, 1))
    result, _ = assess_bill(WUHAI, near_subsistence(), YearToDate.zero(), bill)
    lines = render_steps(result, translate=lambda s: "<" + s + ">")
    assert lines[0] == "<适用救助类别：<低保边缘家庭成员>。>"


def test_engine_imports_no_django():
    code = "import sys, claims.engine; print([m for m in sys.modules if m.startswith('django')])"
    run = subprocess.run(
        [sys.executable, "-c", code],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    assert run.stdout.strip() == "[]"
