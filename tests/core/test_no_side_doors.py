"""No side doors (DOMAIN §8): every URL that names an object answers 404 to other regions.

The test walks `django.urls.get_resolver()`, so a new view that takes an object id is covered
without anyone remembering it: its id kind must be known to `OBJECT_OF` below (the test fails
otherwise), and then it is requested — GET and POST — by a user of another district and a
user of another city who hold every role, with real objects of 海勃湾区 / 乌海市 behind the ids.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from beneficiaries import services as beneficiaries_services
from beneficiaries.roster_services import roster_batch_create
from beneficiaries.subsidies import subsidy_batch_create
from claims import bills as claims_bills
from claims import services as claims_services
from claims.demo import seed_institutions
from claims.models import Institution, SimulationRun
from core.choices import Category
from core.models import Region
from core.roles import Role, grant_role
from funds.models import (
    Clearing,
    ClearingLine,
    Fund,
    Match,
    Reconciliation,
    StatementLine,
    Subject,
)
from funds.services import entry_propose
from monitoring.models import Alert, SettlementImport
from tests.factories import IdentityFactory, PersonFactory

pytestmark = pytest.mark.django_db

# URL keyword arguments that are not object ids: they only narrow one object's page.
NOT_IDS = {"year", "month"}
# Patterns with an object id that legitimately answer other regions, with the reason.
NOT_REGION_SCOPED: dict[str, str] = {}
# Namespaces left out: Django admin has its own permission checks (read-only case data,
# tested by the admin's own tests), not region-scoped pages.
SKIPPED_NAMESPACES = {"admin"}


def _patterns(resolver=None, namespace=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = ":".join(filter(None, [namespace, entry.namespace or ""]))
            if (entry.namespace or "") in SKIPPED_NAMESPACES:
                continue
            yield from _patterns(entry, inner)
        elif isinstance(entry, URLPattern) and entry.name:
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield name, set(entry.pattern.converters)


def _object_patterns():
    found = [(name, args) for name, args in _patterns() if args - NOT_IDS]
    return [(name, args) for name, args in found if name not in NOT_REGION_SCOPED]


@pytest.fixture
def objects(tmp_path, settings, haibowan, wuhai, caseworker_haibowan, accountant_city):
    """One of everything that has a page, in 海勃湾区 (city-level records: 乌海市)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    seed_institutions()
    hospital = Institution.objects.get(code="H15030200001")
    person = PersonFactory(region=haibowan)
    identity = IdentityFactory(
        person=person, category=Category.NEAR_SUBSISTENCE, start=date(2023, 1, 1)
    )
    household = beneficiaries_services.household_create(region=haibowan, by=None)
    beneficiaries_services.household_add_member(household=household, person=person, by=None)
    application = claims_services.application_create(
        person=person, by=caseworker_haibowan, received_on=date(2023, 6, 1)
    )
    bill = claims_bills.bill_add(
        application=application,
        by=caseworker_haibowan,
        institution=hospital,
        visit_type="inpatient",
        admitted=date(2023, 3, 1),
        discharged=date(2023, 3, 10),
        invoice_number="INV-A",
        total_cost=Decimal("30000"),
        policy_range_cost=Decimal("30000"),
        basic_insurance_paid=Decimal("18000"),
        critical_illness_paid=Decimal("2000"),
        out_of_catalog_cost=Decimal("0"),
    )
    attachment = claims_bills.attachment_add(
        application=application,
        upload=SimpleUploadedFile("scan.pdf", b"%PDF-1.4 scan", content_type="application/pdf"),
        by=caseworker_haibowan,
    )
    alert = Alert.objects.create(
        kind=Alert.Kind.HIGH_COST,
        year=2023,
        period="2023",
        certno=person.id_number,
        name=person.name,
        region=haibowan,
        watch=Alert.Watch.IMPOVERISHMENT,
        burden=Decimal("30000.00"),
        threshold=Decimal("22000.00"),
    )
    settlement_import = SettlementImport.objects.create(
        file_name="x.csv",
        region=haibowan,
        created_by=caseworker_haibowan,
        status=SettlementImport.Status.VALIDATED,
    )
    roster = roster_batch_create(
        name="r.csv",
        data="姓名,公民身份号码,救助对象类别,认定日期,终止日期,行政区划代码\n".encode(),
        department="civil_affairs",
        region=haibowan,
        as_of=date(2023, 7, 1),
        by=caseworker_haibowan,
    )
    subsidy_batch = subsidy_batch_create(area=haibowan, year=2023, as_of=date(2023, 6, 30), by=None)
    fund = Fund.objects.get(area=wuhai)
    voucher = entry_propose(
        fund=fund,
        kind="income",
        booked_on=date(2023, 7, 3),
        account=Subject.FISCAL,
        counter="400201",
        amount=Decimal("10"),
        memo="中央补助",
        by=accountant_city,
    )
    recon = Reconciliation.objects.create(fund=fund, year=2023, month=7)
    match = Match.objects.create(reconciliation=recon, kind=Match.Kind.MANUAL)
    line = StatementLine.objects.create(
        reconciliation=recon,
        row=2,
        date=date(2023, 7, 3),
        direction=StatementLine.Direction.values[0],
        amount=Decimal("10"),
    )
    clearing = Clearing.objects.create(fund=fund, year=2023, month=7)
    clearing_line = ClearingLine.objects.create(
        clearing=clearing,
        institution_code=hospital.code,
        institution_name=hospital.name,
        payee=hospital.code,
    )
    simulation = SimulationRun.objects.create(
        area=wuhai, year=2023, draft={}, created_by=accountant_city
    )
    proposal, recovery_case = _correction_objects(person, caseworker_haibowan)
    return {
        "proposal": proposal.pk,
        "recovery_case": recovery_case.pk,
        "clearing": clearing.pk,
        "clearing_line": clearing_line.pk,
        "payee": clearing_line.payee,
        "simulation": simulation.pk,
        "person": person.pk,
        "identity": identity.pk,
        "application": application.pk,
        "bill": bill.pk,
        "attachment": attachment.pk,
        "alert": alert.pk,
        "settlement_import": settlement_import.pk,
        "roster": roster.pk,
        "subsidy_batch": subsidy_batch.pk,
        "voucher": voucher.pk,
        "reconciliation": recon.pk,
        "match": match.pk,
        "line": line.pk,
        "area": fund.area_id,
    }


def _correction_objects(person, preparer):
    """A recovery proposal of 海勃湾区 and its case (DOMAIN §11)."""
    from claims.models import Proposal, RecoveryCase

    alert = Alert.objects.create(
        kind=Alert.Kind.REASSESSMENT,
        year=2023,
        period="2023",
        certno=person.id_number,
        subject="setl:S1/v1",
        name=person.name,
        person=person,
        region=person.region,
    )
    proposal = Proposal.objects.create(
        alert=alert,
        person=person,
        year=2023,
        record="setl:S1",
        setl_id="S1",
        visit_type="inpatient",
        end_date=date(2023, 7, 1),
        direction=Proposal.Direction.RECOVERY,
        paid=Decimal("100"),
        due=Decimal("0"),
        difference=Decimal("-100"),
    )
    case = RecoveryCase.objects.create(
        proposal=proposal,
        person=person,
        area=person.region.coordination_area,
        year=2023,
        visit_type="inpatient",
        amount=Decimal("100"),
        status=RecoveryCase.Status.APPROVED,
        prepared_by=preparer,
    )
    return proposal, case


# What each URL's `pk` is, by URL name (first matching prefix); other id arguments by name.
PK_OF = [
    ("beneficiaries:identity_change", "identity"),
    ("beneficiaries:identity_terminate", "identity"),
    ("beneficiaries:roster_", "roster"),
    ("beneficiaries:subsidy_batch_", "subsidy_batch"),
    ("beneficiaries:", "person"),
    ("claims:bill_edit", "bill"),
    ("claims:bill_delete", "bill"),
    ("claims:attachment_download", "attachment"),
    ("claims:simulation_", "simulation"),
    ("claims:proposal_", "proposal"),
    ("claims:recovery_", "recovery_case"),
    ("claims:", "application"),
    ("funds:reconciliation_", "reconciliation"),
    ("funds:clearing_", "clearing"),
    ("funds:", "voucher"),
    ("monitoring:alert_", "alert"),
    ("monitoring:import_", "settlement_import"),
]
OBJECT_OF = {
    "person_pk": "person",
    "match": "match",
    "line": "line",
    "area": "area",
    "payee": "payee",
}
# Where one argument name means another object under a URL prefix.
OBJECT_OF_UNDER = {("funds:clearing_", "line"): "clearing_line"}


def _kwargs(name, args, objects):
    kwargs = {}
    for arg in args:
        if arg == "year":
            kwargs[arg] = 2023
        elif arg == "month":
            kwargs[arg] = 7
        elif arg == "pk":
            kind = next((kind for prefix, kind in PK_OF if name.startswith(prefix)), None)
            assert kind, f"{name}: say in PK_OF which object its pk is"
            kwargs[arg] = objects[kind]
        elif under := next(
            (
                kind
                for (prefix, a), kind in OBJECT_OF_UNDER.items()
                if a == arg and name.startswith(prefix)
            ),
            None,
        ):
            kwargs[arg] = objects[under]
        else:
            assert arg in OBJECT_OF, f"{name}: say in OBJECT_OF which object {arg!r} is"
            kwargs[arg] = objects[OBJECT_OF[arg]]
    return kwargs


def _all_roles(user):
    for role in Role:
        grant_role(user, role)
    return user


@pytest.fixture
def other_district(caseworker_wuda):
    return _all_roles(caseworker_wuda)


@pytest.fixture
def other_city(db, django_user_model):
    user = django_user_model.objects.create_user(
        username="baotou",
        password="secret-pass-123",
        name="baotou",
        region=Region.objects.get(code="150200"),
    )
    return _all_roles(user)


def test_the_walk_finds_the_object_pages():
    names = {name for name, _args in _object_patterns()}
    assert {"claims:application_pay", "funds:entry_reverse", "monitoring:import_confirm"} <= names
    assert len(names) > 40


@pytest.mark.parametrize("who", ["other_district", "other_city"])
def test_every_object_url_is_404_for_another_region(request, client, objects, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    wrong = []
    for name, args in _object_patterns():
        url = reverse(name, kwargs=_kwargs(name, args, objects))
        got = client.get(url).status_code
        if got not in (404, 405):  # 405: a POST-only view
            wrong.append(f"GET {url} ({name}) → {got}")
        got = client.post(url, {}).status_code
        if got != 404:
            wrong.append(f"POST {url} ({name}) → {got}")
    assert not wrong, "\n".join(wrong)


def test_the_objects_owner_reaches_them(client, objects, supervisor_city):
    """The same URLs are not 404 for the city's own users (the ids are real)."""
    client.force_login(_all_roles(supervisor_city))
    for name in (
        "claims:application_detail",
        "funds:transaction_detail",
        "monitoring:alert_detail",
    ):
        args = dict(_object_patterns())[name]
        assert client.get(reverse(name, kwargs=_kwargs(name, args, objects))).status_code == 200


# --- The whole region: the comparison page and regional users' read-only walk ------------


def test_the_region_dashboard_is_404_for_district_and_city_users(
    client, other_district, other_city, supervisor_city, regional_viewer
):
    url = reverse("region_dashboard")
    for user in (other_district, other_city, _all_roles(supervisor_city)):
        client.force_login(user)
        assert client.get(url).status_code == 404, user
    client.force_login(regional_viewer)
    assert client.get(url).status_code == 200


def test_a_regional_user_with_every_role_writes_nothing_anywhere(client, objects, regional_viewer):
    """Every object URL, POSTed by a 自治区 user holding every role: refused (a 403/404, or a
    page or redirect with the refusal), and not one value of the case data changes (§8)."""
    from django.apps import apps

    case_models = [
        m
        for m in apps.get_models()
        if m._meta.app_label in {"beneficiaries", "claims", "funds", "monitoring"}
    ]

    def snapshot():
        return {m._meta.label: list(m._base_manager.order_by("pk").values()) for m in case_models}

    client.force_login(_all_roles(regional_viewer))
    before = snapshot()
    for name, args in _object_patterns():
        url = reverse(name, kwargs=_kwargs(name, args, objects))
        assert client.post(url, {}).status_code != 500, name
    after = snapshot()
    changed = [label for label in before if before[label] != after[label]]
    assert not changed
