"""A city outside Wuhai takes an application end to end once its policy exists (DOMAIN §8).

包头市 (150200): its admin starts the policy as a copy of Wuhai's; a caseworker of 昆都仑区
registers a person and an identity through the pages, takes an application with a bill,
submits it; Baotou's supervisor approves, Baotou's fund accountant records the payment, which
posts to Baotou's fund (not Wuhai's).
"""

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from pypdf import PdfReader

from beneficiaries.models import Person
from claims.models import Application, Institution
from core import idnumber
from core.models import Policy, Region
from core.policy_services import policy_copy
from core.roles import Role, grant_role
from funds.models import Fund, Transaction

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(datetime(2023, 8, 1, 2, 0, tzinfo=UTC)):
        yield


def _user(django_user_model, username, code, role):
    user = django_user_model.objects.create_user(
        username=username, password="secret-pass-123", name=username, region_id=code
    )
    grant_role(user, role)
    return user


@pytest.fixture
def baotou(django_user_model):
    admin = _user(django_user_model, "admin_bt", "150200", Role.ADMIN)
    wuhai = Policy.objects.get(area_id="150300", valid_from=date(2023, 1, 1))
    policy_copy(
        source=wuhai, area=Region.objects.get(code="150200"), valid_from=date(2023, 1, 1), by=admin
    )
    hospital = Institution.objects.create(
        code="H15020300001", name="包头市中心医院", level=3, admdvs="150203", designated=True
    )
    return {
        "caseworker": _user(django_user_model, "cw_kdl", "150203", Role.CASEWORKER),
        "supervisor": _user(django_user_model, "sup_bt", "150200", Role.SUPERVISOR),
        "accountant": _user(django_user_model, "acc_bt", "150200", Role.ACCOUNTANT),
        "hospital": hospital,
    }


def _register(client, id_number):
    response = client.post(
        reverse("beneficiaries:person_create"),
        {"id_number": id_number, "name": "包头测试", "region": "150203", "residence": "urban"},
    )
    assert response.status_code == 302, response.context["form"].errors
    person = Person.objects.get(id_number=id_number)
    response = client.post(
        reverse("beneficiaries:identity_create", args=[person.pk]),
        {
            "category": "near_subsistence",
            "start": "2023-01-01",
            "department": "civil_affairs",
            "region": "150203",
        },
    )
    assert response.status_code == 302, response.context["form"].errors
    return person


def _apply(client, person, hospital):
    response = client.get(reverse("claims:start"), {"id_number": person.id_number})
    assert response.status_code == 302
    response = client.post(
        response["Location"],
        {
            "kind": "reimbursement",
            "channel": "entrusted",
            "received_on": "2023-06-01",
            "documents": ["id_card", "invoices", "discharge_summary"],
            "bank_name": "农行",
            "bank_account": "6228480000000001",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    application = Application.objects.latest("id")
    bill = {
        "institution": hospital.pk,
        "visit_type": "inpatient",
        "admitted": "2023-03-01",
        "discharged": "2023-03-10",
        "invoice_number": "BT-INV-A",
        "total_cost": "32000",
        "policy_range_cost": "30000",
        "basic_insurance_paid": "18000",
        "critical_illness_paid": "2000",
        "out_of_catalog_cost": "0",
    }
    response = client.post(reverse("claims:bill_create", args=[application.pk]), bill)
    assert response.status_code == 302, response.context["form"].errors
    return application


def test_baotou_takes_an_application_from_registration_to_payment(client, baotou):
    client.force_login(baotou["caseworker"])
    person = _register(client, idnumber.make("150203", date(1965, 4, 2), 17))
    assert person.region.coordination_area.code == "150200"
    application = _apply(client, person, baotou["hospital"])
    assert application.area_id == "150200"
    # DOMAIN §4 example A under the copied policy: 3,500.00.
    assert (
        "3,500.00"
        in client.get(reverse("claims:application_detail", args=[application.pk])).content.decode()
    )
    response = client.post(reverse("claims:application_submit", args=[application.pk]))
    assert response.status_code == 302

    client.force_login(baotou["supervisor"])
    response = client.post(
        reverse("claims:application_decide", args=[application.pk]),
        {"decision": "approve", "comment": "同意", "approver_name": "包主任"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.total) == ("approved", Decimal("3500.00"))
    assert application.form_number.startswith("150200-2023-")
    pdf = client.get(reverse("claims:application_pdf", args=[application.pk]))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "包头市医疗保障事务中心" in text and "乌海" not in text

    client.force_login(baotou["accountant"])
    response = client.post(
        reverse("claims:application_pay", args=[application.pk]),
        {"reference": "BT20230801", "paid_on": "2023-08-01"},
    )
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == "paid"
    posted = Transaction.objects.filter(key__startswith="claims.bill:")
    assert {t.fund.area_id for t in posted} == {"150200"}
    assert Fund.objects.filter(area_id="150200").count() == 1


def test_wuhai_users_see_nothing_of_baotou(client, baotou, caseworker_haibowan, supervisor_city):
    client.force_login(baotou["caseworker"])
    person = _register(client, idnumber.make("150203", date(1965, 4, 2), 17))
    application = _apply(client, person, baotou["hospital"])
    for user in (caseworker_haibowan, supervisor_city):
        client.force_login(user)
        detail = reverse("beneficiaries:person_detail", args=[person.pk])
        assert client.get(detail).status_code == 404
        url = reverse("claims:application_detail", args=[application.pk])
        assert client.get(url).status_code == 404
