"""The fund accountant's month in the browser: a manual entry a second accountant approves,
the reconciliation to the fiscal account's statement, the month close and the report export.
"""

import io
from decimal import Decimal
from pathlib import Path

import pytest
from browser_helpers import expect_path, submit, with_authenticator
from openpyxl import load_workbook

from core.models import AuditEvent, Region
from core.roles import Role, grant_role
from funds.models import Fund, Reconciliation, Subject, Transaction

pytestmark = pytest.mark.django_db(transaction=True)

AREA = "150300"
STATEMENT = "日期,凭证号,摘要,收入,支出\n2023-07-05,CZ-9,中央财政医疗救助补助资金,5000.00,\n"


@pytest.fixture
def accountant_checker(django_user_model):
    user = django_user_model.objects.create_user(
        username="acc2_city",
        password="secret-pass-123",
        name="acc2_city",
        region=Region.objects.get(code=AREA),
    )
    grant_role(user, Role.ACCOUNTANT)
    return user


def test_entry_approval_reconciliation_close_and_export(
    journey, accountant_city, accountant_checker
):
    fund = Fund.objects.get(area_id=AREA)

    # The maker: a manual income entry, pending until someone else approves it
    page = journey.sign_in(with_authenticator(accountant_city))
    journey.goto(f"/funds/{AREA}/transactions/new/")
    page.select_option("select[name=kind]", "income")
    page.fill("input[name=booked_on]", "2023-07-05")
    page.select_option("select[name=account]", Subject.FISCAL)
    page.select_option("select[name=counter]", "400201")
    page.fill("input[name=amount]", "5000.00")
    page.fill("input[name=reference]", "CZ-9")
    page.fill("input[name=memo]", "中央补助")
    journey.shot("entry-form")
    submit(page, "main form")
    pk = int(expect_path(page, rf"/funds/{AREA}/transactions/(\d+)/").group(1))
    voucher = Transaction.objects.get(pk=pk)
    assert voucher.status == "pending" and voucher.created_by == accountant_city
    # the maker is offered no approval
    assert page.locator(f"form[action$='/transactions/{pk}/approve/']").count() == 0
    journey.shot("entry-pending")

    # The checker approves it
    page = journey.sign_in(with_authenticator(accountant_checker))
    journey.goto(f"/funds/{AREA}/transactions/{pk}/")
    journey.shot("checker-sees-pending")
    submit(page, f"form[action$='/transactions/{pk}/approve/']")
    voucher.refresh_from_db()
    assert voucher.status == "posted" and voucher.approved_by == accountant_checker
    journey.shot("entry-posted")

    # The maker reconciles July to the fiscal account's statement
    page = journey.sign_in(with_authenticator(accountant_city))
    journey.goto(f"/funds/{AREA}/reconciliations/")
    page.fill("input[name=period]", "2023-07")
    page.set_input_files(
        "input[name=file]",
        {"name": "statement_2023-07.csv", "mimeType": "text/csv", "buffer": STATEMENT.encode()},
    )
    journey.shot("statement-upload")
    submit(page, "main form[enctype='multipart/form-data']")
    recon = Reconciliation.objects.get()
    expect_path(page, rf"/funds/{AREA}/reconciliations/{recon.pk}/")
    assert not recon.lines.filter(match__isnull=True).exists()  # matched automatically
    journey.shot("statement-matched")
    with page.expect_navigation():
        page.locator(f"a[href$='/reconciliations/{recon.pk}/finish/']").click()
    journey.shot("finish")
    # Nothing is outstanding, so no statement balance is needed (DOMAIN §6, 余额调节表).
    submit(page, "main form", "button[name=confirm]")
    recon.refresh_from_db()
    assert recon.status == "done" and recon.done_by == accountant_city
    journey.shot("reconciled")

    # Month close: earlier months first where the books ask for it, then July
    journey.goto(f"/funds/{AREA}/periods/?year=2023")
    journey.shot("periods")
    for _ in range(7):
        if fund.periods.filter(year=2023, month=7, status="closed").exists():
            break
        submit(page, "main form[action*='/close/']")
    assert fund.periods.get(year=2023, month=7).status == "closed"
    assert page.locator("form[action$='/periods/2023-7/close/']").count() == 0
    journey.shot("july-closed")

    # The month's report, exported as Excel
    journey.goto(f"/funds/{AREA}/report/?period=2023-07")
    journey.shot("report")
    with page.expect_download() as download:
        page.click(f"a[href^='/funds/{AREA}/report.xlsx']")
    body = Path(download.value.path()).read_bytes()
    workbook = load_workbook(io.BytesIO(body), read_only=True)
    cells = [
        cell
        for sheet in workbook.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
        if cell is not None
    ]
    assert any(_is_amount(cell, Decimal("5000.00")) for cell in cells), cells[:80]
    assert AuditEvent.objects.filter(action="export", object_id=str(fund.pk)).exists()


def _is_amount(cell, amount: Decimal) -> bool:
    try:
        return Decimal(str(cell).replace(",", "")) == amount
    except ArithmeticError:
        return False
