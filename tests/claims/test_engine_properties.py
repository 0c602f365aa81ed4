"""Properties of claims.engine over random policies, identities and bill sequences (hypothesis)."""

from collections import defaultdict
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from claims.engine import (
    CATEGORIES,
    Bill,
    CategoryRule,
    Identity,
    Policy,
    YearToDate,
    assess_bill,
    assess_bills,
)

TODAY = date(2025, 6, 30)
FIRST_DAY = date(2023, 1, 1)
LAST_DAY = date(2024, 12, 31)

engine_settings = settings(max_examples=200, deadline=None)


def amounts(high=100_000):
    """Yuan with two decimals, 0 to ``high``."""
    return st.integers(0, high * 100).map(lambda fen: Decimal(fen).scaleb(-2))


ratios = st.integers(0, 100).map(lambda percent: Decimal(percent).scaleb(-2))
days = st.dates(FIRST_DAY, LAST_DAY)
mostly = st.integers(0, 4).map(bool)  # True four times in five, so most bills are covered


@st.composite
def policies(draw):
    with_rules = draw(st.sets(st.sampled_from(CATEGORIES), min_size=3))
    return Policy(
        annual_cap=draw(st.none() | amounts(100_000)),
        categories={c: CategoryRule(draw(amounts(20_000)), draw(ratios)) for c in with_rules},
        tilted_deductible=draw(amounts(10_000)),
        tilted_ratio=draw(ratios),
        rank=tuple(draw(st.permutations(CATEGORIES))),
    )


@st.composite
def identities(draw):
    start = draw(st.dates(date(2022, 1, 1), LAST_DAY))
    end = draw(st.none() | st.integers(0, 700).map(lambda n: start + timedelta(days=n)))
    return Identity(draw(st.sampled_from(CATEGORIES)), start, end)


@st.composite
def bills(draw, settlements=False):
    """A valid bill: total ≥ policy range ≥ basic + critical-illness paid."""
    self_pay, basic, critical, outside = (draw(amounts(60_000)) for _ in range(4))
    visit_type = draw(st.sampled_from(["inpatient", "chronic_outpatient", "general_outpatient"]))
    day = draw(days)
    dates = (
        {"admitted": day - timedelta(days=draw(st.integers(0, 60))), "discharged": day}
        if visit_type == "inpatient"
        else {"service_date": day}
    )
    return Bill(
        id=str(draw(st.integers(0, 10**6))),
        visit_type=visit_type,
        **dates,
        designated=draw(mostly),
        in_coordination_area=draw(mostly),
        in_region=draw(mostly),
        referred=draw(st.booleans()),
        total_cost=self_pay + basic + critical + outside,
        policy_range_cost=self_pay + basic + critical,
        basic_insurance_paid=basic,
        critical_illness_paid=critical,
        paid_assistance=draw(st.none() | amounts(20_000)) if settlements else None,
    )


@st.composite
def states(draw):
    return YearToDate(draw(amounts(20_000)), draw(amounts(100_000)), draw(amounts(10_000)))


people = st.tuples(
    policies(),
    st.lists(identities(), min_size=1, max_size=4),
    states(),
    st.lists(bills(), min_size=1, max_size=8),
)


@engine_settings
@given(people)
def test_assistance_never_takes_a_year_past_the_cap(person):
    policy, held, state, bill_list = person
    results, _ = assess_bills(policy, held, state, bill_list, TODAY)

    first_year = min(bill.year for bill in bill_list)
    paid = defaultdict(Decimal)
    paid[first_year] = state.assistance_paid
    for bill, result in zip(bill_list, results, strict=True):
        paid[bill.year] += result.assistance
    if policy.annual_cap is not None:
        for year, total in paid.items():
            # A year that starts above the cap (the given state) gets nothing more.
            initial = state.assistance_paid if year == first_year else 0
            assert total <= max(policy.annual_cap, initial)


@engine_settings
@given(
    st.tuples(
        policies(),
        st.lists(identities(), max_size=4),
        states(),
        st.lists(bills(settlements=True), min_size=1, max_size=8),
    )
)
def test_no_amount_is_negative_and_total_is_assistance_plus_tilted(person):
    policy, held, state, bill_list = person
    results, after = assess_bills(policy, held, state, bill_list, TODAY)

    for result in results:
        figures = (
            result.self_pay,
            result.deductible_applied,
            result.assistance,
            result.tilted_deductible_applied,
            result.tilted_assistance,
            result.total,
        )
        assert all(isinstance(x, Decimal) and x >= 0 for x in figures)
        assert result.total == result.assistance + result.tilted_assistance
        assert all(x == x.quantize(Decimal("0.01")) for x in figures)
        assert result.step_lines()  # every result explains itself
    assert min(after.deductible_used, after.assistance_paid, after.tilted_deductible_used) >= 0


@engine_settings
@given(policies(), st.lists(identities(), max_size=4), states(), bills())
def test_an_uncovered_bill_changes_no_state(policy, held, state, bill):
    result, after = assess_bill(policy, held, state, bill)
    if not result.covered:
        assert after == state
        assert result.total == 0 and result.category is None
    else:
        assert result.reason is None


@engine_settings
@given(people)
def test_a_bill_does_not_depend_on_bills_of_another_year(person):
    policy, held, state, bill_list = person
    results, _ = assess_bills(policy, held, state, bill_list, TODAY)

    first_year = min(bill.year for bill in bill_list)
    for year in {bill.year for bill in bill_list}:
        indexes = [i for i, bill in enumerate(bill_list) if bill.year == year]
        alone, _ = assess_bills(
            policy,
            held,
            state if year == first_year else YearToDate.zero(),
            [bill_list[i] for i in indexes],
            TODAY,
        )
        assert alone == [results[i] for i in indexes]


@engine_settings
@given(
    policies(),
    st.lists(identities(), max_size=4),
    states(),
    bills(),
    st.integers(0, 100).map(lambda percent: Decimal(percent) / 100),
)
def test_more_self_pay_never_lowers_assistance(policy, held, state, bill, share):
    # Lower the basic insurance paid by a share of it: the self-pay grows by as much.
    lower = (bill.basic_insurance_paid * share).quantize(Decimal("0.01"))
    more = replace(bill, basic_insurance_paid=bill.basic_insurance_paid - lower)

    before, _ = assess_bill(policy, held, state, bill)
    after, _ = assess_bill(policy, held, state, more)
    assert after.self_pay == before.self_pay + lower
    assert after.assistance >= before.assistance
    assert after.total >= before.total
