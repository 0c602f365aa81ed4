"""The rows claims offers the high-cost check (DOMAIN §7 manual-reimbursement part of the burden)."""

from datetime import date
from decimal import Decimal

import pytest
from claims_helpers import approved_application, example_a, example_b, settlement
from django.db import connection

from claims.selectors import manual_bill_burden_sql

pytestmark = pytest.mark.django_db


def _rows(year, end):
    sql, params = manual_bill_burden_sql(year, end)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT certno, SUM(amount) FROM ({sql}) r GROUP BY certno", params)
        return {certno: Decimal(str(amount)).quantize(Decimal("0.01")) for certno, amount in cursor}


def test_a_bill_adds_its_burden_less_the_assistance_approved(
    near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital)],
    )
    # 32,000 − 18,000 − 2,000 = 12,000 burden; − 3,500 assistance.
    assert _rows(2023, date(2023, 12, 31)) == {
        near_subsistence_person.id_number: Decimal("8500.00")
    }
    assert _rows(2023, date(2023, 3, 9)) == {}


def test_a_bill_with_a_settlement_record_only_subtracts_its_assistance(
    near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city
):
    settlement(
        near_subsistence_person,
        "S-B",
        enddate=date(2023, 5, 8),
        policy="10000",
        basic="5000",
        critical="1000",
        maf_pay="0",
    )
    approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_b(city_hospital) | {"setl_id": "S-B"}],
    )
    # Its burden is already in the settlement's psn_part_amt, so the bill adds none; being the
    # first bill of the year (s = 4,000, all of it deductible) it was approved with 0.00.
    rows = _rows(2023, date(2023, 12, 31))
    assert rows == {near_subsistence_person.id_number: Decimal("0.00")}
