"""The 测算 journey (DOMAIN §12): a supervisor changes one ratio of the policy in force on the
page, runs the simulation and reads the result side by side, with its chart and Excel export.
"""

from datetime import date, datetime
from decimal import Decimal

import pytest
from browser_helpers import expect_path, submit, with_authenticator
from django.utils import timezone
from factories import IdentityFactory, PersonFactory

from claims.demo import seed_institutions
from claims.models import SimulationRun
from core.choices import Category
from monitoring.models import Settlement

pytestmark = pytest.mark.django_db(transaction=True)


def _settled(person, setl_id, day, policy_range):
    """A one-stop inpatient settlement of `person` (the basic insurance paid 60%)."""
    basic = (policy_range * Decimal("0.6")).quantize(Decimal("0.01"))
    return Settlement.objects.create(
        setl_id=setl_id, psn_name=person.name, certno=person.id_number, insutype="390",
        med_type="21", visit_type="inpatient", begndate=day, enddate=day, year=day.year,
        setl_time=timezone.make_aware(datetime.combine(day, datetime.min.time())),
        fixmedins_code="H15030200001", fixmedins_name="乌海市人民医院",
        insu_admdvs_id=person.region_id, medfee_sumamt=policy_range, inscp_scp_amt=policy_range,
        fulamt_ownpay_amt=0, hifp_pay=basic, hifmi_pay=0, maf_pay=0, fund_pay_sumamt=basic,
        psn_part_amt=policy_range - basic,
    )  # fmt: skip


def test_supervisor_simulates_a_higher_ratio(journey, supervisor_city, haibowan):
    seed_institutions()
    for n, category in enumerate((Category.NEAR_SUBSISTENCE, Category.SUBSISTENCE)):
        person = PersonFactory(region=haibowan)
        IdentityFactory(person=person, category=category, start=date(2023, 1, 1))
        _settled(person, f"SIM-{n}", date(2023, 3, 1), Decimal("30000.00"))

    page = journey.sign_in(with_authenticator(supervisor_city))
    journey.goto("/claims/simulations/?area=150300&year=2023")
    assert page.input_value("input[name=near_subsistence__deductible]") == "5000.00"
    assert page.input_value("input[name=near_subsistence__ratio]") == "70.00"
    page.fill("input[name=near_subsistence__ratio]", "80")
    page.fill("input[name=note]", "低保边缘比例提高到 80%")
    journey.shot("draft-edited")
    submit(page, "form[enctype='multipart/form-data']")

    run = SimulationRun.objects.get()
    expect_path(page, rf"/claims/simulations/{run.pk}/")
    page.reload()
    run.refresh_from_db()
    assert run.status == SimulationRun.Status.SUCCESS
    assert run.draft["categories"]["near_subsistence"]["ratio"] == "0.8000"
    # near-subsistence, self-pay 12,000: in force (12,000 − 5,000) × 70% = 4,900 basic, and
    # tilted (12,000 − 4,900 − 7,000) × 60% = 60: 4,960; the draft × 80% = 5,600 basic, and its
    # burden 6,400 stays under the tilted deductible: 5,600; the difference 640
    main = page.inner_text("main")
    assert "4,960.00" in main and "5,600.00" in main and "640.00" in main
    assert page.locator("main svg").count() >= 1
    assert page.locator("a[href$='/xlsx/']").count() == 1
    journey.shot("result")
