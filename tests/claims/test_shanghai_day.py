"""DOMAIN §9: "today" is the date in Asia/Shanghai. One run of the date rules at a moment when
the UTC and Shanghai dates differ: 2026-03-01 01:00 in Shanghai is 2026-02-28 17:00 UTC."""

import io
import json
from datetime import UTC, date, datetime

import pytest
import time_machine
from claims_helpers import approved_application, example_a
from django.core.management import call_command
from django.core.management.base import CommandError

from beneficiaries.forms import RosterUploadForm
from claims import services
from claims.forms import PaymentForm
from core import idnumber
from core.dates import shanghai_today
from funds.models import Leg
from monitoring.checks import parse_period

pytestmark = pytest.mark.django_db

MOMENT = datetime(2026, 2, 28, 17, 0, tzinfo=UTC)  # 2026-03-01 01:00 Asia/Shanghai
SHANGHAI_DAY = date(2026, 3, 1)

travel = time_machine.travel(MOMENT, tick=False)


@travel
def test_today_is_the_shanghai_date_everywhere():
    assert datetime.now(UTC).date() == date(2026, 2, 28)
    assert shanghai_today() == SHANGHAI_DAY


@travel
def test_a_payment_recorded_then_is_posted_on_the_shanghai_date_and_period(
    near_subsistence_person, city_hospital, caseworker_haibowan, supervisor_city, accountant_city
):
    application = approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital)],
    )
    paid_on = PaymentForm().fields["paid_on"].initial
    assert paid_on == SHANGHAI_DAY
    services.application_pay(
        application=application, reference="NYH-0301", paid_on=paid_on, by=accountant_city
    )
    application.refresh_from_db()
    assert application.paid_on == SHANGHAI_DAY
    legs = Leg.objects.filter(transaction__memo__contains=application.form_number)
    assert legs.exists()
    assert {leg.booked_on for leg in legs} == {SHANGHAI_DAY}  # the period 2026-03


@travel
def test_assess_takes_a_bill_of_the_shanghai_day_as_not_in_the_future(tmp_path):
    bill = {
        "id": "A",
        "visit_type": "general_outpatient",
        "admitted": None,
        "discharged": None,
        "service_date": "2026-03-01",
        "designated": True,
        "in_coordination_area": True,
        "in_region": True,
        "referred": False,
        "total_cost": "100.00",
        "policy_range_cost": "100.00",
        "basic_insurance_paid": "0",
        "critical_illness_paid": "0",
    }
    case = {
        "policy": {
            "annual_cap": "80000.00",
            "categories": {"subsistence": {"deductible": "0", "ratio": "0.75"}},
            "rank": ["subsistence"],
            "tilted": {"deductible": "7000.00", "ratio": "0.60"},
        },
        "identities": [{"category": "subsistence", "start": "2026-01-01", "end": None}],
        "year_to_date": {
            "deductible_used": "0",
            "assistance_paid": "0",
            "tilted_deductible_used": "0",
        },
        "bills": [bill],
    }
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    out = io.StringIO()
    call_command("assess", str(path), stdout=out)
    assert json.loads(out.getvalue())["bills"][0]["total"] == "75.00"
    bill["service_date"] = "2026-03-02"
    path.write_text(json.dumps(case))
    with pytest.raises(CommandError) as refused:
        call_command("assess", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert refused.value.returncode == 2
    assert "晚于今天（2026-03-01）" in str(refused.value)


@travel
def test_run_check_reference_date_is_the_shanghai_day():
    assert parse_period("2026").reference_date() == SHANGHAI_DAY
    assert parse_period("2026-02").reference_date() == date(2026, 2, 28)


@travel
def test_roster_today_is_the_shanghai_day(caseworker_haibowan):
    form = RosterUploadForm(user=caseworker_haibowan)
    assert form.fields["as_of"].initial == SHANGHAI_DAY
    born_today = idnumber.make("150302", SHANGHAI_DAY, 11)
    assert idnumber.validate(born_today) == born_today
