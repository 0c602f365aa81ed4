"""No exported cell is run as a formula (core.exports.safe_cell, DOMAIN §8): text beginning
with = + - @ TAB CR is written with a leading ', numbers stay numbers. Every exporter uses it:
alert queue (.xlsx), export_alerts (CSV), subsidy batches (.xlsx), fund reports (.xlsx)."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from openpyxl import load_workbook

from core.exports import safe_cell, safe_row
from core.models import Region
from monitoring.models import Alert

EVIL = '=HYPERLINK("http://evil.example/","点击")'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+86 13900000000", "'+86 13900000000"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("王建国", "王建国"),
        ("", ""),
        ("-12.50", "-12.50"),  # a number written as text (CSV amounts) is not a formula
        ("+3", "+3"),
        (Decimal("-12.50"), Decimal("-12.50")),
        (-3, -3),
        (date(2023, 7, 1), date(2023, 7, 1)),
        (None, None),
    ],
)
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_safe_row():
    assert safe_row(["=x", 1, "y"]) == ["'=x", 1, "y"]


def _alert(**extra):
    fields = {
        "kind": Alert.Kind.HIGH_COST,
        "year": 2023,
        "period": "2023",
        "certno": "150302197001010011",
        "name": EVIL,
        "region": Region.objects.get(code="150302"),
        "watch": Alert.Watch.IMPOVERISHMENT,
        "burden": Decimal("-30.00"),
        "threshold": Decimal("22000.00"),
        "message": "@cmd|' /C calc'!A0",
        "subject": "-1+1",
    }
    fields.update(extra)
    return Alert.objects.create(**fields)


@pytest.mark.django_db
def test_export_alerts_csv_writes_formula_text_as_text_and_keeps_the_columns():
    _alert()
    out = io.StringIO()
    call_command("export_alerts", "--kind", "high_cost", "--year", "2023", stdout=out)
    header, row = list(csv.reader(io.StringIO(out.getvalue())))
    assert header == [
        "certno",
        "name",
        "year",
        "watch",
        "burden",
        "threshold",
        "status",
        "region",
        "period",
        "subject",
        "amount",
        "assignee",
        "message",
    ]
    assert row == [
        "150302197001010011",
        "'" + EVIL,
        "2023",
        "impoverishment",
        "-30.00",
        "22000.00",
        "open",
        "150302",
        "2023",
        "'-1+1",
        "",
        "",
        "'@cmd|' /C calc'!A0",
    ]


@pytest.mark.django_db
def test_the_alert_queue_workbook_has_no_formula_and_numbers_stay_numbers(client, supervisor_city):
    _alert()
    client.force_login(supervisor_city)
    response = client.get(reverse("monitoring:alert_export"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = list(sheet.iter_rows(min_row=2, max_row=2))[0]
    assert all(cell.data_type != "f" for cell in cells)
    assert cells[1].value == "'" + EVIL and cells[1].data_type == "s"
    assert cells[5].value == Decimal("-30.00") or cells[5].value == -30
    assert cells[5].data_type == "n"
    assert cells[14 - 4].value == "'-1+1"


@pytest.mark.django_db
def test_the_subsidy_batch_workbook_has_no_formula(haibowan, supervisor_city):
    from beneficiaries.subsidies import (
        subsidy_batch_confirm,
        subsidy_batch_create,
        subsidy_batch_export,
    )
    from tests.beneficiaries.test_subsidies import grant
    from tests.factories import PersonFactory

    person = PersonFactory(region=haibowan, name="=1+1")
    grant(person, "destitute")
    batch = subsidy_batch_create(
        area=haibowan, year=2023, as_of=date(2023, 6, 30), by=supervisor_city
    )
    batch = subsidy_batch_confirm(batch=batch, by=supervisor_city)
    sheet = load_workbook(io.BytesIO(subsidy_batch_export(batch=batch, by=supervisor_city))).active
    row = list(sheet.iter_rows(min_row=2, max_row=2))[0]
    assert row[1].value == "'=1+1" and row[1].data_type == "s"
    assert row[7].data_type == "n"  # the amount is still a number
