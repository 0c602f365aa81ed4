"""core.listing: whitelisted sort keys, header links, stable order, the .xlsx export."""

import io
from datetime import date

import openpyxl
import pytest
from django.http import QueryDict
from django.urls import reverse

from beneficiaries.models import Person
from core import idnumber
from core.listing import Column, Listing
from core.models import AuditEvent
from tests.factories import PersonFactory

COLUMNS = [
    Column("name", "姓名", ("name",), lambda p: p.name),
    Column("born", "出生日期", ("birth_date",), lambda p: p.birth_date),
    Column("note", "说明", (), lambda p: "=cmd"),
]


def listing(query: str, default: str = "") -> Listing:
    return Listing(QueryDict(query), COLUMNS, default=default)


def test_it_accepts_only_whitelisted_sort_keys():
    assert listing("sort=-name").sort_param == "-name"
    assert listing("sort=password").key == ""
    assert listing("sort=note").key == ""  # a column without ORDER BY fields
    assert listing("sort=password", default="-born").sort_param == "-born"


def test_header_link_flips_the_active_column_and_keeps_filters():
    html = str(listing("q=王&sort=name&page=3").header("name"))
    assert "sort=-name" in html and "q=%E7%8E%8B" in html and "page=" not in html
    assert "bi-caret-up-fill" in html
    assert "sort=born" in str(listing("sort=-name").header("born"))
    assert listing("").header("note") == "说明"


def test_export_query_keeps_filters_and_sort_but_not_page():
    query = QueryDict(listing("q=x&sort=-born&page=2").export_query)
    assert query.dict() == {"q": "x", "sort": "-born", "export": "xlsx"}


@pytest.mark.django_db
def test_sort_has_a_stable_secondary_order(haibowan):
    same_day = date(1980, 1, 1)
    people = [PersonFactory(region=haibowan, birth_date=same_day) for _ in range(3)]
    rows = listing("sort=-born").sort(Person.objects.filter(pk__in=[p.pk for p in people]))
    assert [p.pk for p in rows] == sorted((p.pk for p in people), reverse=True)


def sheet_rows(response) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    return list(book.worksheets[0].iter_rows(values_only=True))


@pytest.mark.django_db
def test_person_list_sorts_by_a_column(client, caseworker_haibowan, haibowan):
    for name in ["乙", "甲", "丙"]:
        PersonFactory(region=haibowan, name=name)
    client.force_login(caseworker_haibowan)
    url = reverse("beneficiaries:person_list")
    names = [p.name for p in client.get(url, {"sort": "name"}).context["page"]]
    assert names == sorted(names)
    desc = [p.name for p in client.get(url, {"sort": "-name"}).context["page"]]
    assert desc == sorted(names, reverse=True)
    html = client.get(url, {"sort": "name"}).content.decode()
    assert "sort=-name" in html and "export=xlsx" in html


@pytest.mark.django_db
def test_person_export_has_the_filtered_rows_masked_and_formula_safe(
    client, caseworker_haibowan, haibowan, wuda
):
    shown = PersonFactory(region=haibowan, name="=HYPERLINK(1)")
    PersonFactory(region=haibowan, name="王五")
    PersonFactory(region=wuda, name="乌达人")
    client.force_login(caseworker_haibowan)
    response = client.get(
        reverse("beneficiaries:person_list"), {"q": "HYPERLINK", "export": "xlsx"}
    )
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    header, *rows = sheet_rows(response)
    assert header[:2] == ("姓名", "公民身份号码")
    assert rows == [
        (
            "'=HYPERLINK(1)",
            idnumber.mask(shown.id_number),
            shown.get_sex_display(),
            rows[0][3],
            "海勃湾区",
            shown.get_residence_display(),
            None,
            rows[0][7],
        )
    ]
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
    assert event.detail["what"] == "persons" and event.detail["rows"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "user", "header"),
    [
        ("beneficiaries:roster_list", "caseworker_haibowan", "#"),
        ("monitoring:imports", "supervisor_city", "文件"),
    ],
)
def test_upload_lists_sort_and_export(client, request, name, user, header):
    client.force_login(request.getfixturevalue(user))
    url = reverse(name)
    html = client.get(url, {"sort": "-created"}).content.decode()
    assert "export=xlsx" in html and "bi-caret-down-fill" in html
    response = client.get(url, {"export": "xlsx"})
    assert sheet_rows(response)[0][0] == header
