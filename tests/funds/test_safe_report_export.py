"""The fund report workbook runs no formula: a subject name beginning with = is text
(core.exports.safe_cell); the amounts stay numbers."""

import io

import pytest
from openpyxl import load_workbook

from funds.exports import report_xlsx
from funds.models import Subject
from tests.funds.test_reports import books, month_report  # noqa: F401 — the books fixture

pytestmark = pytest.mark.django_db


def test_the_fund_report_workbook_has_no_formula(books):  # noqa: F811
    subject = Subject.objects.filter(kind=Subject.Kind.INCOME).order_by("code").first()
    Subject.objects.filter(pk=subject.pk).update(name="=EVIL()")
    wb = load_workbook(io.BytesIO(report_xlsx(month_report(books, 2023, 7))))
    cells = [cell for row in wb.worksheets[0].iter_rows() for cell in row]
    assert not [cell for cell in cells if cell.data_type == "f"]
    assert "'=EVIL()" in [cell.value for cell in cells]
    total = next(row for row in wb.worksheets[0].iter_rows() if row[1].value == "收入合计")
    assert total[2].data_type == "n"
