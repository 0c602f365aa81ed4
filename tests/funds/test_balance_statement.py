"""Finishing a reconciliation with a balance-reconciliation statement (余额调节表)."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from pypdf import PdfReader

from core.models import AuditEvent
from funds.balance_statement import balance_report, reconciliation_done
from funds.matching import match_manual
from funds.models import BalanceStatement, Leg, Reconciliation, Subject
from funds.reconciliation import reconciliation_sides, statement_reconcile

pytestmark = pytest.mark.django_db

HEADER = "日期,凭证号,摘要,收入,支出\n"


def _import(tmp_path, fund, body, *, month=7, by=None):
    path = tmp_path / f"s{month}.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    statement_reconcile(
        fund=fund, year=2023, month=month, file_or_path=path, filename=path.name, by=by
    )
    return Reconciliation.objects.get(fund=fund, year=2023, month=month)


def test_matched_month_finishes_as_before(tmp_path, fund, post_income, accountant_city):
    post_income("1000.00", reference="R1")
    recon = _import(tmp_path, fund, "2023-07-03,R1,x,1000.00,\n")
    reconciliation_done(recon=recon, by=accountant_city)
    recon.refresh_from_db()
    assert recon.status == "done" and not BalanceStatement.objects.exists()


def test_outstanding_ledger_entry_needs_the_statement_balance(
    tmp_path, fund, post_income, accountant_city
):
    post_income("1000.00", reference="R1")
    post_income("500.00", booked_on=date(2023, 7, 28), reference="R2", memo="县级配套")
    recon = _import(tmp_path, fund, "2023-07-03,R1,x,1000.00,\n")
    with pytest.raises(ValidationError, match="未达账项"):
        reconciliation_done(recon=recon, by=accountant_city)
    recon.refresh_from_db()
    assert recon.status == "open"


def test_statement_that_agrees_is_stored_and_finishes(tmp_path, fund, post_income, accountant_city):
    post_income("1000.00", reference="R1")
    post_income("500.00", booked_on=date(2023, 7, 28), reference="R2", memo="县级配套")
    # interest finance credited that we have not booked: a statement line left unmatched
    recon = _import(tmp_path, fund, "2023-07-03,R1,x,1000.00,\n2023-07-31,,结息,12.34,\n")
    report = balance_report(recon, Decimal("1012.34"))
    assert report.book_balance == Decimal("1500.00")
    assert report.sections["bank_credit"]["total"] == Decimal("12.34")
    assert report.sections["book_debit"]["total"] == Decimal("500.00")
    assert report.adjusted_book == report.adjusted_statement == Decimal("1512.34")

    reconciliation_done(recon=recon, by=accountant_city, statement_balance=Decimal("1012.34"))
    recon.refresh_from_db()
    assert recon.status == "done"
    stored = recon.balance_statement
    assert stored.book_balance == Decimal("1500.00")
    assert stored.statement_balance == Decimal("1012.34")
    assert stored.adjusted_balance == Decimal("1512.34")
    assert stored.created_by == accountant_city
    assert {(i["side"], i["amount"], i["reference"]) for i in stored.items} == {
        ("bank_credit", "12.34", ""),
        ("book_debit", "500.00", "R2"),
    }


def test_statement_that_does_not_agree_is_refused_and_nothing_written(
    tmp_path, fund, post_income, accountant_city
):
    post_income("1000.00", reference="R1")
    post_income("500.00", booked_on=date(2023, 7, 28), reference="R2")
    recon = _import(tmp_path, fund, "2023-07-03,R1,x,1000.00,\n")
    with pytest.raises(ValidationError) as exc:
        reconciliation_done(recon=recon, by=accountant_city, statement_balance=Decimal("990.00"))
    assert "余额调节表不平" in exc.value.messages[0]
    assert "1,500.00" in exc.value.messages[0] and "1,490.00" in exc.value.messages[0]
    recon.refresh_from_db()
    assert recon.status == "open" and not BalanceStatement.objects.exists()


def test_without_items_a_given_balance_must_equal_the_books(
    tmp_path, fund, post_income, accountant_city
):
    post_income("1000.00", reference="R1")
    recon = _import(tmp_path, fund, "2023-07-03,R1,x,1000.00,\n")
    with pytest.raises(ValidationError, match="余额调节表不平"):
        reconciliation_done(recon=recon, by=accountant_city, statement_balance=Decimal("999"))
    reconciliation_done(recon=recon, by=accountant_city, statement_balance=Decimal("1000"))
    assert Reconciliation.objects.get().status == "done"


def test_match_straddling_the_month_end_is_outstanding_on_both_sides(
    tmp_path, fund, post_income, accountant_city
):
    """A July 31 line matched with an entry booked August 2: at July 31 finance has it, the
    books do not."""
    post_income("700.00", booked_on=date(2023, 8, 2), reference="R9")
    recon = _import(tmp_path, fund, "2023-07-31,R9,x,700.00,\n")
    assert recon.lines.filter(match__isnull=False).count() == 1  # the ±3-day window
    report = balance_report(recon, Decimal("700.00"))
    assert report.book_balance == 0
    assert [i.side for i in report.items] == ["bank_credit"]
    assert report.agrees
    # seen from August, the same match is complete and leaves nothing outstanding
    august = _import(tmp_path, fund, "", month=8)
    assert balance_report(august, Decimal("700.00")).items == []


def test_items_carry_forward_from_an_earlier_finished_month(
    tmp_path, fund, post_income, accountant_city
):
    leg = post_income("500.00", booked_on=date(2023, 7, 28), reference="R2").legs.get(
        subject_id=Subject.FISCAL
    )
    july = _import(tmp_path, fund, "")
    reconciliation_done(recon=july, by=accountant_city, statement_balance=Decimal("0"))
    august = _import(tmp_path, fund, "2023-08-09,,县级配套,500.00,\n", month=8)
    report = balance_report(august, Decimal("500.00"))
    assert {i.side for i in report.items} == {"bank_credit", "book_debit"}  # not matched yet
    # the July entry is offered on August's page (outside the ±3-day window) to match by hand
    assert leg in reconciliation_sides(august)["unmatched_legs"]
    line = august.lines.get()
    match_manual(recon=august, line_ids=[line.pk], leg_ids=[leg.pk], by=accountant_city)
    assert balance_report(august, Decimal("500.00")).items == []
    assert Leg.objects.get(pk=leg.pk).matched.match.reconciliation == august


def test_finish_page_previews_then_confirms_and_prints(
    client, tmp_path, fund, post_income, accountant_city
):
    post_income("1000.00", reference="R1")
    post_income("500.00", booked_on=date(2023, 7, 28), reference="R2", memo="县级配套资金")
    recon = _import(tmp_path, fund, "2023-07-03,R1,x,1000.00,\n")
    url = reverse("funds:reconciliation_finish", args=["150300", recon.pk])
    client.force_login(accountant_city)
    page = client.get(url).content.decode()
    assert "县级配套资金" in page and "1,500.00" in page
    assert "完成 2023年7月对账：账簿余额 1,500.00 元，未达账项 1 笔" in page
    preview = client.post(url, {"statement_balance": "900", "preview": "1"}).content.decode()
    assert "相差 100.00 元" in preview
    refused = client.post(url, {"statement_balance": "900", "confirm": "1"}).content.decode()
    assert "余额调节表不平" in refused
    assert Reconciliation.objects.get().status == "open"
    response = client.post(url, {"statement_balance": "1000.00", "confirm": "1"})
    assert response.status_code == 302
    assert Reconciliation.objects.get().status == "done"
    detail = client.get(response.url).content.decode()
    assert "余额调节表" in detail and "县级配套资金" in detail

    pdf = client.get(reverse("funds:balance_statement_pdf", args=["150300", recon.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    pages = PdfReader(io.BytesIO(pdf.content)).pages
    text = "".join(p.extract_text() for p in pages).replace(" ", "")  # the title is spaced
    assert "余额调节表" in text and "1,500.00" in text and "壹仟伍佰元整" in text
    assert AuditEvent.objects.filter(action="print", detail__document="balance_statement").exists()


def test_pdf_of_a_month_without_statement_is_404(client, tmp_path, fund, accountant_city):
    recon = _import(tmp_path, fund, "")
    client.force_login(accountant_city)
    url = reverse("funds:balance_statement_pdf", args=["150300", recon.pk])
    assert client.get(url).status_code == 404


def test_another_areas_accountant_cannot_finish(
    client, tmp_path, fund, post_income, accountant_city, django_user_model
):
    post_income("500.00", reference="R2")
    recon = _import(tmp_path, fund, "")
    from core.models import Region
    from core.roles import Role, grant_role

    other = django_user_model.objects.create_user(
        username="acc_other",
        password="secret-pass-123",
        name="acc_other",
        region=Region.objects.exclude(code__startswith="1503").exclude(code="150000").first(),
    )
    grant_role(other, Role.ACCOUNTANT)
    client.force_login(other)
    url = reverse("funds:reconciliation_finish", args=["150300", recon.pk])
    assert client.post(url, {"statement_balance": "0", "confirm": "1"}).status_code == 404
    assert Reconciliation.objects.get().status == "open"
