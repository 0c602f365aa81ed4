"""The regional (自治区) comparison of the areas (DOMAIN §8): figures, links, set-based."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from claims.models import Application
from core import idnumber
from core.models import Region
from core.region_selectors import area_comparison
from funds.models import Fund, Leg, Subject, Transaction
from monitoring.models import Alert, Settlement
from tests.factories import IdentityFactory, PersonFactory

pytestmark = pytest.mark.django_db
TODAY = date(2023, 8, 1)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(datetime(2023, 8, 1, 2, 0, tzinfo=UTC)):
        yield


def _person(code, seq, category):
    person = PersonFactory(
        region=Region.objects.get(code=code), id_number=idnumber.make(code, date(1960, 1, 1), seq)
    )
    IdentityFactory(person=person, category=category, start=date(2023, 1, 1))
    return person


def _paid(person, total, by):
    return Application.objects.create(
        person=person,
        area=person.region.coordination_area,
        received_on=date(2023, 5, 1),
        status=Application.Status.PAID,
        total=Decimal(total),
        paid_on=date(2023, 6, 1),
        prepared_by=by,
    )


def _settlement(sid, person, admdvs, maf):
    return Settlement.objects.create(
        setl_id=sid,
        psn_name=person.name,
        certno=person.id_number,
        insutype="390",
        med_type="21",
        visit_type="inpatient",
        begndate=date(2023, 3, 1),
        enddate=date(2023, 3, 5),
        year=2023,
        setl_time=datetime(2023, 3, 5, 2, tzinfo=UTC),
        fixmedins_code="H15020300001",
        fixmedins_name="医院",
        insu_admdvs_id=admdvs,
        medfee_sumamt=Decimal("1000"),
        inscp_scp_amt=Decimal("1000"),
        fulamt_ownpay_amt=Decimal("0"),
        hifp_pay=Decimal("500"),
        hifmi_pay=Decimal("0"),
        maf_pay=Decimal(maf),
        fund_pay_sumamt=Decimal("500") + Decimal(maf),
        psn_part_amt=Decimal("500") - Decimal(maf),
    )


def _income(area, amount):
    fund = Fund.objects.get(area_id=area)
    voucher = Transaction.objects.create(
        fund=fund, booked_on=date(2023, 7, 1), kind=Transaction.Kind.INCOME, memo="补助"
    )
    for subject, value in ((Subject.FISCAL, amount), ("400201", -amount)):
        Leg.objects.create(
            transaction=voucher,
            fund=fund,
            booked_on=voucher.booked_on,
            subject_id=subject,
            amount=Decimal(value),
        )


def _alert(person, kind, subject=""):
    return Alert.objects.create(
        kind=kind,
        subject=subject,
        year=2023,
        period="2023",
        certno=person.id_number,
        name=person.name,
        region=person.region,
    )


@pytest.fixture
def two_cities(caseworker_haibowan):
    hbw = _person("150302", 1, "subsistence")
    _person("150303", 2, "destitute")
    kdl = _person("150203", 3, "subsistence")
    _person("150207", 4, "near_subsistence")
    _person("152921", 5, "destitute")  # 阿拉善左旗
    _paid(hbw, "3500.00", caseworker_haibowan)
    _paid(kdl, "1200.50", caseworker_haibowan)
    _settlement("S1", hbw, "150302", "100.00")
    _settlement("S2", kdl, "150203", "250.25")
    _settlement("S3", kdl, "150203", "-50.00")  # a reversal nets
    _income("150300", 10000)
    _income("150200", 2500)
    _alert(hbw, Alert.Kind.HIGH_COST)
    _alert(kdl, Alert.Kind.UNINSURED, "a")
    _alert(kdl, Alert.Kind.UNINSURED, "b")
    closed = _alert(kdl, Alert.Kind.HIGH_COST)
    Alert.objects.filter(pk=closed.pk).update(status=Alert.Status.RESOLVED)


def test_every_area_side_by_side(two_cities):
    figures = {f.area.code: f for f in area_comparison(2023, TODAY)}
    assert len(figures) == 12
    wuhai, baotou, alxa = figures["150300"], figures["150200"], figures["152900"]
    assert wuhai.beneficiaries == {"subsistence": 1, "destitute": 1}
    assert baotou.beneficiaries == {"subsistence": 1, "near_subsistence": 1}
    assert alxa.beneficiaries == {"destitute": 1}
    assert (wuhai.applications, wuhai.manual_paid) == (1, Decimal("3500.00"))
    assert (baotou.manual_paid, baotou.onestop_paid) == (Decimal("1200.50"), Decimal("200.25"))
    assert baotou.assistance_paid == Decimal("1400.75")
    assert (wuhai.fund_balance, baotou.fund_balance) == (Decimal("10000"), Decimal("2500"))
    assert wuhai.alerts == {"high_cost": 1}
    assert baotou.alerts == {"uninsured": 2}  # the resolved one is not open
    assert wuhai.has_policy and not baotou.has_policy
    assert figures["150400"].beneficiaries_total == 0


def test_queries_do_not_grow_with_the_areas(two_cities, django_assert_max_num_queries):
    with django_assert_max_num_queries(7):  # one per figure, the areas, the policies
        area_comparison(2023, TODAY)


def test_the_page_links_each_figure_to_the_areas_list(client, regional_viewer, two_cities):
    client.force_login(regional_viewer)
    response = client.get(reverse("region_dashboard"), {"year": "2023"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "包头市" in page and "阿拉善盟" in page and "1,400.75" in page
    assert "/beneficiaries/?region=150200&amp;category=subsistence&amp;status=active" in page
    assert "/claims/?region=1502&amp;status=paid" in page
    assert "/funds/150200/" in page
    assert "/monitoring/?kind=uninsured&amp;region=150200" in page
    assert "<svg" in page and "style=" not in page.split("<svg", 1)[1].split("</svg>")[0]
    assert "无生效政策" in page


def test_the_links_show_that_areas_records(client, regional_viewer, two_cities):
    client.force_login(regional_viewer)
    alerts = client.get(reverse("monitoring:index"), {"kind": "uninsured", "region": "150200"})
    assert alerts.status_code == 200
    assert [a.region_id for a in alerts.context["page"].object_list] == [
        "150203",
        "150203",
    ]
    assert (
        client.get(reverse("monitoring:index"), {"region": "150300"})
        .context["page"]
        .paginator.count
        == 1
    )
    persons = client.get(reverse("beneficiaries:person_list"), {"region": "150200"})
    assert persons.status_code == 200
    page = persons.content.decode()
    assert "150203" in page or "昆都仑区" in page
    assert "海勃湾区" not in page.split("<tbody", 1)[-1]


def test_the_page_in_english(client, regional_viewer, two_cities):
    client.force_login(regional_viewer)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    try:
        response = client.get(reverse("region_dashboard"))
        assert response.status_code == 200
        assert response["Content-Language"] == "en"
    finally:
        translation.activate(settings.LANGUAGE_CODE)  # the portal's middleware leaves it set
