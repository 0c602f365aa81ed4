"""Pages of corrections (DOMAIN §11): queue, proposal, actions, recovery case and its notice."""

from datetime import date

import pytest
import time_machine
from claims_helpers import approved_application, example_a

from beneficiaries import services as beneficiaries
from claims import recovery
from claims.models import Proposal, RecoveryCase

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _november_2023():
    with time_machine.travel(date(2023, 11, 20), tick=False):
        yield


@pytest.fixture
def proposal(
    near_subsistence_person,
    city_hospital,
    caseworker_haibowan,
    supervisor_city,
    django_capture_on_commit_callbacks,
):
    approved_application(
        near_subsistence_person,
        caseworker_haibowan,
        supervisor_city,
        bills=[example_a(city_hospital)],
    )
    with django_capture_on_commit_callbacks(execute=True):
        beneficiaries.identity_terminate(
            identity=near_subsistence_person.identities.get(),
            end=date(2023, 2, 10),
            reason="民政终止",
            by=caseworker_haibowan,
        )
    return Proposal.objects.get()


def test_the_queue_and_the_proposal_show_the_amounts_and_both_steps(
    client, caseworker_haibowan, proposal
):
    client.force_login(caseworker_haibowan)
    queue = client.get("/claims/corrections/").content.decode()
    assert "3,500.00" in queue and "追回" in queue
    page = client.get(f"/claims/corrections/{proposal.pk}/").content.decode()
    assert "原测算（已支付）" in page and "复核测算（现行身份）" in page
    assert "立追回案件，追回 3,500.00 元" in page  # the confirmation names the amount


def test_the_proposal_reads_in_the_readers_language(client, caseworker_haibowan, proposal):
    """Both sides are kept as step records, so an English reader gets English steps."""
    client.force_login(caseworker_haibowan)
    client.cookies["django_language"] = "en"
    page = client.get(f"/claims/corrections/{proposal.pk}/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert "Applicable category: Near-subsistence household member." in html
    assert "适用救助类别" not in html
    client.cookies["django_language"] = "zh-hans"
    html = client.get(f"/claims/corrections/{proposal.pk}/").content.decode()
    assert "适用救助类别：低保边缘家庭成员。" in html


def test_another_districts_caseworker_gets_a_404(client, caseworker_wuda, proposal):
    client.force_login(caseworker_wuda)
    assert client.get(f"/claims/corrections/{proposal.pk}/").status_code == 404
    assert client.post(f"/claims/corrections/{proposal.pk}/act/").status_code == 404


def test_opening_approving_and_printing_a_recovery_case(
    client, caseworker_haibowan, supervisor_city, proposal
):
    client.force_login(caseworker_haibowan)
    response = client.post(f"/claims/corrections/{proposal.pk}/act/")
    case = RecoveryCase.objects.get()
    assert response.url == f"/claims/corrections/recoveries/{case.pk}/"

    client.force_login(supervisor_city)
    client.post(f"/claims/corrections/recoveries/{case.pk}/approve/")
    case.refresh_from_db()
    assert case.status == RecoveryCase.Status.APPROVED
    page = client.get(f"/claims/corrections/recoveries/{case.pk}/").content.decode()
    assert "追回通知书" in page and "叁仟伍佰元整" in page
    pdf = client.get(f"/claims/corrections/recoveries/{case.pk}/notice.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_the_accountant_records_a_repayment_from_the_page(
    client, caseworker_haibowan, supervisor_city, accountant_city, proposal
):
    case = recovery.recovery_approve(
        case=recovery.recovery_open(proposal=proposal, by=caseworker_haibowan), by=supervisor_city
    )
    client.force_login(accountant_city)
    client.post(
        f"/claims/corrections/recoveries/{case.pk}/repay/",
        {"amount": "500", "paid_on": "2023-11-20", "reference": "BANK-1"},
    )
    case.refresh_from_db()
    assert case.repaid == 500
