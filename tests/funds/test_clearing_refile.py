"""A medical-type re-mapping (§9.2) recomputes draft clearings, never approved or paid ones."""

from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from clearing_helpers import settlement

from core import idnumber
from funds.clearing import clearing_approve, clearing_compute
from funds.clearing_refile import refiled_since_clearing
from funds.models import ClearedSettlement, Clearing
from monitoring import services
from monitoring.models import MedicalType

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2023, 9, 15, 10, 0, tzinfo=idnumber.CHINA_TZ), tick=False):
        yield


def _remap_11_to_inpatient(admin_city, wuhai):
    row = MedicalType(code="11", name="乌海地方住院", visit_type="inpatient", area=wuhai)
    return services.medical_type_save(medical_type=row, by=admin_city)


def test_a_draft_is_recomputed_with_the_new_visit_types_and_keeps_its_maker(
    admin_city, accountant_city, wuhai
):
    settlement(maf_pay="100.00", visit="general_outpatient")  # med_type 11
    settlement(maf_pay="40.00", visit="inpatient")
    draft = clearing_compute(area_code="150300", period="2023-07", by=accountant_city).clearing
    assert (draft.inpatient, draft.outpatient) == (D("40.00"), D("100.00"))

    assert _remap_11_to_inpatient(admin_city, wuhai) == 1
    draft.refresh_from_db()
    assert (draft.status, draft.inpatient, draft.outpatient, draft.total) == (
        Clearing.Status.DRAFT,
        D("140.00"),
        D("0.00"),
        D("140.00"),
    )
    line = draft.lines.get()
    assert (line.inpatient, line.outpatient) == (D("140.00"), D("0.00"))
    assert set(ClearedSettlement.objects.values_list("visit_type", flat=True)) == {"inpatient"}
    assert draft.computed_by == accountant_city  # maker-checker still binds the maker
    last = draft.history.order_by("-history_id").first()
    assert (
        last.history_user is None and last.history_change_reason == "医疗类别字典调整后自动重新计算"
    )
    assert refiled_since_clearing(draft) == 0


def test_an_approved_clearing_keeps_its_amounts_and_its_page_says_why(
    admin_city, accountant_city, supervisor_city, wuhai, client
):
    settlement(maf_pay="100.00", visit="general_outpatient")
    approved = clearing_compute(area_code="150300", period="2023-07", by=accountant_city).clearing
    clearing_approve(clearing=approved, by=supervisor_city)
    # a later month's draft with a settlement of the same code follows the dictionary
    settlement(maf_pay="30.00", visit="general_outpatient", setl_time=date(2023, 8, 2))
    august = clearing_compute(area_code="150300", period="2023-08", by=accountant_city).clearing

    assert _remap_11_to_inpatient(admin_city, wuhai) == 2
    approved.refresh_from_db()
    assert (approved.status, approved.inpatient, approved.outpatient) == (
        Clearing.Status.APPROVED,
        D("0.00"),
        D("100.00"),
    )
    assert approved.lines.get().outpatient == D("100.00")
    assert refiled_since_clearing(approved) == 1
    august.refresh_from_db()
    assert (august.inpatient, august.outpatient) == (D("30.00"), D("0.00"))

    client.force_login(supervisor_city)
    page = client.get(f"/funds/150300/clearings/{approved.pk}/").content.decode()
    assert "因医疗类别字典调整而改变" in page
    page = client.get(f"/funds/150300/clearings/{august.pk}/").content.decode()
    assert "因医疗类别字典调整而改变" not in page


def test_a_remap_touching_no_held_settlement_recomputes_nothing(admin_city, accountant_city, wuhai):
    settlement(maf_pay="40.00", visit="inpatient")
    draft = clearing_compute(area_code="150300", period="2023-07", by=accountant_city).clearing
    before = draft.history.count()
    _remap_11_to_inpatient(admin_city, wuhai)
    assert draft.history.count() == before
