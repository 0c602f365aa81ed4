"""Pages of the beneficiaries app: search, person page, forms, rosters, subsidy batches."""

import io
from datetime import date

import pytest
from django.urls import reverse

from beneficiaries.models import Enrollment, Person, RosterBatch, Subsidy, SubsidyBatch
from beneficiaries.services import enrollment_record, identity_grant
from core import idnumber
from core.choices import Category, Department
from core.models import AuditEvent
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(haibowan):
    person = PersonFactory(region=haibowan, name="王建国", phone="13904730001")
    identity_grant(
        person=person,
        category=Category.SUBSISTENCE,
        start=date(2022, 6, 1),
        region=haibowan,
        by=None,
    )
    return person


@pytest.fixture
def other_person(wuda):
    return PersonFactory(
        region=wuda, name="乌达居民", id_number=idnumber.make("150304", date(1980, 1, 1), 11)
    )


def login(client, user):
    client.force_login(user)
    return client


# --- List and search ------------------------------------------------------------------------


def test_list_shows_masked_id_numbers(client, caseworker_haibowan, person):
    html = login(client, caseworker_haibowan).get(reverse("beneficiaries:person_list")).content
    html = html.decode()
    assert idnumber.mask(person.id_number) in html
    assert person.id_number not in html


@pytest.mark.parametrize("query", ["id", "name", "phone"])
def test_search_finds_by_id_number_partial_name_or_phone(
    client, caseworker_haibowan, person, query
):
    PersonFactory(region=person.region, name="李四")
    q = {"id": person.id_number.lower(), "name": "建国", "phone": "13904730001"}[query]
    response = login(client, caseworker_haibowan).get(
        reverse("beneficiaries:person_list"), {"q": q}
    )
    names = [p.name for p in response.context["page"]]
    assert names == ["王建国"]


def test_filters_by_category_status_and_enrollment(client, caseworker_haibowan, person):
    PersonFactory(region=person.region, name="无身份")
    enrollment_record(person=person, year=2023, scheme="resident", area=person.region, by=None)
    url = reverse("beneficiaries:person_list")
    login(client, caseworker_haibowan)

    def names(**params):
        return {p.name for p in client.get(url, params).context["page"]}

    assert names(region="150302") == {"王建国", "无身份"}
    assert names(region="150303") == set()
    assert names(category="subsistence") == {"王建国"}
    assert names(category="destitute") == set()
    assert names(status="active") == {"王建国"}
    assert names(status="none") == {"无身份"}
    assert names(enrollment="resident", year="2023") == {"王建国"}
    assert names(enrollment="none", year="2023") == {"无身份"}


def test_list_pages_with_a_next_link_only(client, caseworker_haibowan, haibowan):
    for i in range(30):
        PersonFactory(region=haibowan, name=f"人{i}")
    login(client, caseworker_haibowan)
    response = client.get(reverse("beneficiaries:person_list"))
    page = response.context["page"]
    assert len(page) == 25 and page.has_next and not page.has_previous
    second = client.get(reverse("beneficiaries:person_list"), {"page": 2}).context["page"]
    assert len(second) == 5 and not second.has_next


def test_list_runs_no_count_query(client, caseworker_haibowan, person):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    login(client, caseworker_haibowan)
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("beneficiaries:person_list"), {"q": "王"})
    sql = [q["sql"].upper() for q in queries]
    assert not [q for q in sql if "COUNT(" in q and "BENEFICIARIES_PERSON" in q]


@pytest.mark.parametrize("probe", [500, 2])  # rare: the probe's ids; common: the LIKE walk
def test_a_short_name_search_is_the_same_whether_rare_or_common(
    client, caseworker_haibowan, haibowan, wuda, monkeypatch, probe
):
    from beneficiaries import selectors

    monkeypatch.setattr(selectors, "SHORT_SEARCH_PROBE", probe)
    for i, name in enumerate(["王建国", "李建", "建华", "王芳", "张三", "赵建军"]):
        PersonFactory(region=haibowan, name=name)
        PersonFactory(
            region=wuda, name=name, id_number=idnumber.make("150304", date(1980, 1, 1), i)
        )
    login(client, caseworker_haibowan)
    url = reverse("beneficiaries:person_list")

    def names(q):
        return [p.name for p in client.get(url, {"q": q}).context["page"]]

    assert names("建") == ["赵建军", "建华", "李建", "王建国"]  # newest first, own district
    assert names("建国") == ["王建国"]
    assert names("王") == ["王芳", "王建国"]
    assert names("钱") == []


# --- Person page ----------------------------------------------------------------------------


def test_person_page_shows_identities_and_the_applicable_one(client, caseworker_haibowan, person):
    identity_grant(
        person=person,
        category=Category.POVERTY_RISK,
        start=date(2022, 9, 1),
        region=person.region,
        department=Department.RURAL_REVITALIZATION,
        by=None,
    )
    response = login(client, caseworker_haibowan).get(
        reverse("beneficiaries:person_detail", args=[person.pk])
    )
    assert response.status_code == 200
    assert response.context["applicable"].category == Category.SUBSISTENCE
    assert len(response.context["identities"]) == 2


def test_other_region_person_is_404(client, caseworker_haibowan, other_person):
    login(client, caseworker_haibowan)
    for name in ["person_detail", "person_edit", "identity_create", "enrollment_create"]:
        response = client.get(reverse(f"beneficiaries:{name}", args=[other_person.pk]))
        assert response.status_code == 404, name
    response = client.post(reverse("beneficiaries:person_reveal", args=[other_person.pk]))
    assert response.status_code == 404


def test_revealing_the_full_id_number_is_logged(client, caseworker_haibowan, person):
    response = login(client, caseworker_haibowan).post(
        reverse("beneficiaries:person_reveal", args=[person.pk])
    )
    assert person.id_number in response.content.decode()
    event = AuditEvent.objects.get(action=AuditEvent.Action.REVEAL_ID)
    assert (event.user, event.object_id) == (caseworker_haibowan, str(person.pk))


def test_reveal_needs_post(client, caseworker_haibowan, person):
    response = login(client, caseworker_haibowan).get(
        reverse("beneficiaries:person_reveal", args=[person.pk])
    )
    assert response.status_code == 405


def test_accountant_cannot_reveal(client, accountant_city, person):
    response = login(client, accountant_city).post(
        reverse("beneficiaries:person_reveal", args=[person.pk])
    )
    assert response.status_code == 403
    assert not AuditEvent.objects.exists()


# --- Forms ----------------------------------------------------------------------------------


def test_caseworker_registers_a_person(client, caseworker_haibowan, haibowan):
    number = idnumber.make("150302", date(1975, 3, 3), 21)
    response = login(client, caseworker_haibowan).post(
        reverse("beneficiaries:person_create"),
        {"id_number": number, "name": "新人", "region": "150302", "residence": "rural"},
    )
    person = Person.objects.get(id_number=number)
    assert response.status_code == 302
    assert (person.birth_date, person.residence) == (date(1975, 3, 3), "rural")


def test_register_shows_the_check_digit_error(client, caseworker_haibowan):
    number = idnumber.make("150302", date(1975, 3, 3), 21)
    wrong = number[:17] + ("0" if number[17] != "0" else "1")
    response = login(client, caseworker_haibowan).post(
        reverse("beneficiaries:person_create"),
        {"id_number": wrong, "name": "新人", "region": "150302", "residence": "urban"},
    )
    assert response.status_code == 200
    assert "校验码错误" in response.content.decode()


def test_register_into_an_existing_household(client, caseworker_haibowan, person):
    number = idnumber.make("150302", date(2001, 3, 3), 22)
    login(client, caseworker_haibowan).post(
        reverse("beneficiaries:person_create"),
        {
            "id_number": number,
            "name": "王小明",
            "region": "150302",
            "residence": "urban",
            "household_of": person.id_number,
            "relation": "子",
        },
    )
    child = Person.objects.get(id_number=number)
    person.refresh_from_db()
    assert child.household_id == person.household_id is not None
    assert child.household.members_count == 2


def test_caseworker_cannot_register_in_another_district(client, caseworker_haibowan):
    number = idnumber.make("150304", date(1975, 3, 3), 21)
    response = login(client, caseworker_haibowan).post(
        reverse("beneficiaries:person_create"),
        {"id_number": number, "name": "新人", "region": "150304", "residence": "urban"},
    )
    assert response.status_code == 200
    assert not Person.objects.filter(id_number=number).exists()


def test_grant_overlapping_identity_shows_the_error(client, caseworker_haibowan, person):
    response = login(client, caseworker_haibowan).post(
        reverse("beneficiaries:identity_create", args=[person.pk]),
        {
            "category": "subsistence",
            "start": "2023-01-01",
            "department": "civil_affairs",
            "region": "150302",
        },
    )
    assert response.status_code == 200
    assert "重叠" in response.content.decode()
    assert person.identities.count() == 1


def test_terminate_and_change_an_identity(client, caseworker_haibowan, person):
    identity = person.identities.get()
    login(client, caseworker_haibowan)
    client.post(
        reverse("beneficiaries:identity_change", args=[identity.pk]),
        {"start": "2022-07-01", "reason": "更正认定日期"},
    )
    client.post(
        reverse("beneficiaries:identity_terminate", args=[identity.pk]),
        {"end": "2023-05-10", "reason": "收入超标"},
    )
    identity.refresh_from_db()
    assert (identity.start, identity.end) == (date(2022, 7, 1), date(2023, 5, 10))
    reasons = list(identity.history.values_list("history_change_reason", flat=True))
    assert reasons[:2] == ["收入超标", "更正认定日期"]


def test_regional_viewer_reads_but_cannot_change(client, regional_viewer, person):
    login(client, regional_viewer)
    assert client.get(reverse("beneficiaries:person_detail", args=[person.pk])).status_code == 200
    identity = person.identities.get()
    response = client.post(
        reverse("beneficiaries:identity_terminate", args=[identity.pk]),
        {"end": "2023-05-10", "reason": "x"},
    )
    assert response.status_code == 403


def test_record_an_enrollment(client, caseworker_haibowan, person):
    response = login(client, caseworker_haibowan).post(
        reverse("beneficiaries:enrollment_create", args=[person.pk]),
        {
            "year": "2023",
            "scheme": "resident",
            "area": "150302",
            "paid_how": "self",
            "paid_date": "2022-11-01",
            "benefit_start": "2023-01-01",
        },
    )
    assert response.status_code == 302
    assert Enrollment.objects.get(person=person).paid_date == date(2022, 11, 1)


# --- Rosters --------------------------------------------------------------------------------


def _roster(*rows) -> io.BytesIO:
    lines = ["姓名,公民身份号码,救助对象类别,认定日期,终止日期,行政区划代码"] + list(rows)
    data = io.BytesIO("\n".join(lines).encode("gb18030"))
    data.name = "民政名单.csv"
    return data


def test_roster_upload_preview_and_confirm(client, caseworker_haibowan, person):
    newcomer = idnumber.make("150302", date(1960, 2, 2), 31)
    login(client, caseworker_haibowan)
    response = client.post(
        reverse("beneficiaries:roster_upload"),
        {
            "file": _roster(f"新人,{newcomer},特困人员,2023-06-01,,150302"),
            "department": "civil_affairs",
            "region": "150302",
            "as_of": "2023-07-01",
        },
    )
    batch = RosterBatch.objects.get()
    assert response.status_code == 302
    preview = client.get(reverse("beneficiaries:roster_detail", args=[batch.pk]))
    assert preview.context["plan"].counts == {
        "rows": 1,
        "new": 1,
        "changed": 0,
        "terminated": 1,
        "unchanged": 0,
    }
    assert preview.context["can_apply"]
    assert "新增身份 1 人，变更 0 人，终止 1 人，未变 0 人。确定导入？" in preview.content.decode()
    assert not Person.objects.filter(id_number=newcomer).exists()
    client.post(reverse("beneficiaries:roster_apply", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == RosterBatch.Status.APPLIED and batch.applied_by == caseworker_haibowan
    assert Person.objects.filter(id_number=newcomer).exists()
    assert person.identities.get().end == date(2023, 6, 30)
    applied = client.get(reverse("beneficiaries:roster_detail", args=[batch.pk]))
    assert len(applied.context["page"]) == 2
    assert client.get(reverse("beneficiaries:roster_list")).status_code == 200


def test_roster_with_errors_cannot_be_confirmed(client, caseworker_haibowan, person):
    login(client, caseworker_haibowan)
    client.post(
        reverse("beneficiaries:roster_upload"),
        {
            "file": _roster("坏行,15030219700101001X,特困人员,2023-06-01,,150302"),
            "department": "civil_affairs",
            "region": "150302",
            "as_of": "2023-07-01",
        },
    )
    batch = RosterBatch.objects.get()
    preview = client.get(reverse("beneficiaries:roster_detail", args=[batch.pk]))
    assert preview.context["plan"].errors[0]["row"] == 2
    assert preview.context["plan"].error_count == 1
    assert not preview.context["can_apply"]
    client.post(reverse("beneficiaries:roster_apply", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == RosterBatch.Status.DRAFT
    assert person.identities.get().end is None


def test_other_region_roster_is_404(client, caseworker_wuda, caseworker_haibowan, person):
    login(client, caseworker_haibowan).post(
        reverse("beneficiaries:roster_upload"),
        {
            "file": _roster(),
            "department": "civil_affairs",
            "region": "150302",
            "as_of": "2023-07-01",
        },
    )
    batch = RosterBatch.objects.get()
    login(client, caseworker_wuda)
    assert client.get(reverse("beneficiaries:roster_detail", args=[batch.pk])).status_code == 404
    assert client.post(reverse("beneficiaries:roster_apply", args=[batch.pk])).status_code == 404


def test_demo_roster_file_downloads(client, caseworker_haibowan):
    response = login(client, caseworker_haibowan).get(reverse("beneficiaries:roster_demo_file"))
    assert response.status_code == 200
    assert "公民身份号码".encode() in b"".join(response.streaming_content)


# --- Subsidy batches ------------------------------------------------------------------------


def test_supervisor_previews_confirms_and_exports(client, supervisor_city, person):
    login(client, supervisor_city)
    client.post(
        reverse("beneficiaries:subsidy_batch_create"),
        {"area": "150300", "year": "2023", "as_of": "2023-06-30"},
    )
    batch = SubsidyBatch.objects.get()
    preview = client.get(reverse("beneficiaries:subsidy_batch_detail", args=[batch.pk]))
    assert [p.person for p in preview.context["granted"]] == [person]
    assert preview.context["can_confirm"]
    client.post(reverse("beneficiaries:subsidy_batch_confirm", args=[batch.pk]))
    assert Subsidy.objects.get().person == person
    export = client.get(reverse("beneficiaries:subsidy_batch_export", args=[batch.pk]))
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).count() == 1
    assert client.get(reverse("beneficiaries:subsidy_batch_list")).status_code == 200


def test_caseworker_cannot_confirm_subsidies(client, caseworker_haibowan, haibowan, person):
    from beneficiaries.subsidies import subsidy_batch_create

    batch = subsidy_batch_create(area=haibowan, year=2023, as_of=date(2023, 6, 30), by=None)
    response = login(client, caseworker_haibowan).post(
        reverse("beneficiaries:subsidy_batch_confirm", args=[batch.pk])
    )
    assert response.status_code == 403
    assert not Subsidy.objects.exists()


def test_other_region_subsidy_batch_is_404(client, caseworker_wuda, haibowan, person):
    from beneficiaries.subsidies import subsidy_batch_create

    batch = subsidy_batch_create(area=haibowan, year=2023, as_of=date(2023, 6, 30), by=None)
    response = login(client, caseworker_wuda).get(
        reverse("beneficiaries:subsidy_batch_detail", args=[batch.pk])
    )
    assert response.status_code == 404


def test_dashboard_card_counts_current_identities_in_scope(rf, caseworker_haibowan, person, wuda):
    from django.template.loader import render_to_string

    from beneficiaries.selectors import dashboard_context

    other = PersonFactory(region=wuda, id_number=idnumber.make("150304", date(1990, 1, 1), 3))
    identity_grant(
        person=other, category=Category.DESTITUTE, start=date(2022, 1, 1), region=wuda, by=None
    )
    context = dashboard_context(caseworker_haibowan)
    assert context["beneficiaries_active_total"] == 1
    assert dict(context["beneficiaries_by_category"])["低保对象"] == 1
    html = render_to_string("beneficiaries/_dashboard.html", context)
    assert "低保对象" in html


def test_person_panels_of_later_apps_are_rendered(client, caseworker_haibowan, person, monkeypatch):
    import sys
    import types

    from beneficiaries import selectors

    module = types.ModuleType("fake_alerts")
    module.person_panel = lambda p, user: {"template": "beneficiaries/_field.html", "x": p.pk}
    monkeypatch.setitem(sys.modules, "fake_alerts", module)
    monkeypatch.setattr(selectors, "PANEL_PROVIDERS", ["fake_alerts"])
    response = login(client, caseworker_haibowan).get(
        reverse("beneficiaries:person_detail", args=[person.pk])
    )
    assert response.context["panels"] == [{"template": "beneficiaries/_field.html", "x": person.pk}]


def test_admin_person_search_uses_the_portal_search(client, admin_city, person):
    admin_city.is_superuser = True
    admin_city.save()
    client.force_login(admin_city)
    url = reverse("admin:beneficiaries_person_changelist")
    for q in [person.id_number, "建国", "13904730001"]:
        response = client.get(url, {"q": q})
        assert list(response.context["cl"].result_list) == [person], q


def test_household_is_created_and_an_existing_person_added(client, caseworker_haibowan, person):
    other = PersonFactory(region=person.region, name="王小红")
    response = login(client, caseworker_haibowan).post(
        reverse("beneficiaries:household_edit", args=[person.pk]),
        {
            "address": "海勃湾区新华街1号",
            "members_count": "3",
            "annual_income": "24000",
            "add_member": other.id_number,
            "add_member_relation": "女",
        },
    )
    assert response.status_code == 302
    person.refresh_from_db()
    other.refresh_from_db()
    assert other.household_id == person.household_id is not None
    assert (person.relation, other.relation) == ("户主", "女")
    assert person.household.members_count == 3


def test_household_member_of_another_district_is_refused(
    client, caseworker_haibowan, person, other_person
):
    response = login(client, caseworker_haibowan).post(
        reverse("beneficiaries:household_edit", args=[person.pk]),
        {"members_count": "2", "add_member": other_person.id_number},
    )
    assert response.status_code == 200
    other_person.refresh_from_db()
    assert other_person.household_id is None
    person.refresh_from_db()
    assert person.household_id is None  # nothing half-saved


def test_a_stale_roster_is_refused_in_the_preview_and_cannot_end_a_paid_identity(
    client, caseworker_haibowan, person
):
    # The browser walk: the current roster (2023-07-01) lists the person, whose identity
    # carries paid assistance; an older file (2023-03-01) without them was then uploaded and
    # confirmed, and the old import ended the identity on 2023-02-28.
    login(client, caseworker_haibowan)
    listed = f"王建国,{person.id_number},低保对象,2022-06-01,,150302"
    for as_of, file in (("2023-07-01", _roster(listed)), ("2023-03-01", _roster())):
        client.post(
            reverse("beneficiaries:roster_upload"),
            {"file": file, "department": "civil_affairs", "region": "150302", "as_of": as_of},
        )
        batch = RosterBatch.objects.latest("pk")
        client.post(reverse("beneficiaries:roster_apply", args=[batch.pk]))
    first, stale = RosterBatch.objects.order_by("pk")
    assert first.status == RosterBatch.Status.APPLIED
    preview = client.get(reverse("beneficiaries:roster_detail", args=[stale.pk]))
    assert "名单日期早于已导入的最新名单（2023-07-01）" in preview.content.decode()
    assert not preview.context["can_apply"]
    stale.refresh_from_db()
    assert stale.status == RosterBatch.Status.DRAFT
    assert person.identities.get().end is None
