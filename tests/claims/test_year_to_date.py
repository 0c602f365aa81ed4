"""The year-to-date state is rebuilt from the records by the engine (DOMAIN §4)."""

from datetime import date
from decimal import Decimal

import pytest
from claims_helpers import (
    approved_application,
    example_a,
    example_b,
    inpatient,
    new_application,
    settlement,
)

from claims import selectors, services

D = Decimal
pytestmark = pytest.mark.django_db


def _single_result(application):
    ((bill, result),) = selectors.assess_application(application).results
    return result


def test_examples_a_and_b_carry_the_state_from_one_application_to_the_next(
    near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    first = approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital)],
    )
    assert first.total == D("3500.00")
    assert first.tilted_assistance == D("0.00")

    second = approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_b(city_hospital)],
    )
    bill = second.bills.get()
    assert (bill.assistance, bill.tilted_assistance, bill.total) == (
        D("2800.00"),
        D("420.00"),
        D("3220.00"),
    )
    assert any("本年已救助 3,500.00" in line for line in bill.steps)


def test_one_stop_assistance_counts_toward_the_cap(
    destitute_person, city_hospital, caseworker_haibowan
):
    # Example C: 78,000 already paid at the counter this year.
    settlement(
        destitute_person,
        "S-C",
        enddate=date(2023, 2, 1),
        policy="100000",
        basic="22000",
        critical="0",
        maf_pay="78000",
    )
    application = new_application(
        destitute_person,
        caseworker_haibowan,
        bills=[
            inpatient(
                city_hospital,
                "INV-C",
                admitted=date(2023, 4, 1),
                discharged=date(2023, 4, 9),
                policy="15000",
                basic="9000",
                critical="1000",
            )
        ],
    )
    result = _single_result(application)
    assert result.assistance == D("2000.00")
    assert result.tilted_deductible_applied == D("3000.00")
    assert result.tilted_assistance == D("0.00")


def test_settlement_deductible_is_consumed_as_the_engine_computes(
    near_subsistence_person, city_hospital, caseworker_haibowan
):
    # A one-stop stay with s = 3,000 and no assistance paid still uses 3,000 of the deductible.
    settlement(
        near_subsistence_person,
        "S-1",
        enddate=date(2023, 2, 1),
        policy="10000",
        basic="6000",
        critical="1000",
        maf_pay="0",
    )
    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    result = _single_result(application)
    assert result.deductible_applied == D("2000.00")
    assert result.assistance == D("5600.00")  # (10,000 − 2,000) × 70%


def test_a_fully_reversed_settlement_counts_for_nothing(
    destitute_person, city_hospital, caseworker_haibowan
):
    settlement(
        destitute_person,
        "S-R",
        enddate=date(2023, 2, 1),
        policy="100000",
        basic="22000",
        critical="0",
        maf_pay="78000",
    )
    settlement(
        destitute_person,
        "S-R-REV",
        enddate=date(2023, 2, 3),
        policy="-100000",
        basic="-22000",
        critical="0",
        maf_pay="-78000",
        reversal_of="S-R",
    )
    application = new_application(
        destitute_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    assert _single_result(application).assistance == D("10000.00")


def test_settlement_carried_by_the_bill_is_not_counted_twice(
    near_subsistence_person, city_hospital, caseworker_haibowan
):
    settlement(
        near_subsistence_person,
        "S-SLIP",
        enddate=date(2023, 3, 10),
        policy="30000",
        basic="18000",
        critical="2000",
        maf_pay="0",
    )
    application = new_application(
        near_subsistence_person,
        caseworker_haibowan,
        bills=[example_a(city_hospital) | {"setl_id": "S-SLIP"}],
    )
    result = _single_result(application)
    assert result.deductible_applied == D("5000.00")
    assert result.total == D("3500.00")


def test_tilted_assistance_of_a_manual_bill_does_not_count_toward_the_cap(
    near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital), example_b(city_hospital)],
    )
    state = selectors.year_to_date_for(
        near_subsistence_person,
        2023,
        *_rules_and_identities(near_subsistence_person),
        area_code="150300",
    )
    assert state.assistance_paid == D("6300.00")  # 3,500 + 2,800; the 420 tilted is uncapped
    assert state.deductible_used == D("5000.00")
    assert state.tilted_deductible_used == D("7000.00")


def test_a_rejected_application_leaves_the_state_untouched(
    near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[example_a(city_hospital)]
    )
    services.application_submit(application=application, by=caseworker_haibowan)
    services.application_reject(application=application, by=supervisor_city, comment="材料不全")
    state = selectors.year_to_date_for(
        near_subsistence_person,
        2023,
        *_rules_and_identities(near_subsistence_person),
        area_code="150300",
    )
    assert state.assistance_paid == D("0")


def test_bills_of_two_years_are_assessed_each_against_their_own_year(
    near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital)],
    )
    december = inpatient(
        city_hospital,
        "INV-DEC",
        admitted=date(2023, 12, 1),
        discharged=date(2023, 12, 5),
        policy="10000",
        basic="5000",
        critical="1000",
    )
    january = december | {
        "invoice_number": "INV-JAN",
        "admitted": date(2024, 1, 2),
        "discharged": date(2024, 1, 6),
    }
    application = new_application(
        near_subsistence_person, caseworker_haibowan, bills=[january, december]
    )
    results = {b.invoice_number: r for b, r in selectors.assess_application(application).results}
    assert results["INV-DEC"].deductible_applied == D("0.00")  # used by example A in 2023
    assert results["INV-JAN"].deductible_applied == D("4000.00")  # a new year starts at zero


def _rules_and_identities(person):
    from claims import adapters
    from core.models import Policy

    policy = Policy.objects.in_force("150300", date(2023, 6, 1))
    return adapters.engine_policy(policy), adapters.engine_identities(person.identities.all())
