from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.models import Region
from core.roles import Role, grant_role
from funds.models import Reconciliation, Subject, Transaction
from funds.services import benefit_post

pytestmark = pytest.mark.django_db

DEMO_STATEMENT = Path(__file__).resolve().parents[2] / "funds/demo_data/statement_2023-07.csv"


@pytest.fixture
def accountant_baotou(db, django_user_model):
    user = django_user_model.objects.create_user(
        username="acc_bt", password="x", region=Region.objects.get(code="150200")
    )
    grant_role(user, Role.ACCOUNTANT)
    return user


@pytest.fixture
def books(post_income, supervisor_city):
    post_income("1000.00", booked_on=date(2023, 7, 3), reference="CZ-1")
    benefit_post(
        key="claims.bill:1",
        area_code="150300",
        kind="inpatient",
        amount=Decimal("300.00"),
        booked_on=date(2023, 7, 9),
        memo="住院救助",
        by=supervisor_city,
        category="subsistence",
        visit_type="inpatient",
    )
    return Transaction.objects.order_by("pk").first()


def _pages(voucher):
    area = "150300"
    return [
        reverse("funds:fund", args=[area]),
        reverse("funds:transaction_list", args=[area]),
        reverse("funds:transaction_detail", args=[area, voucher.pk]),
        reverse("funds:entry_new", args=[area]),
        reverse("funds:period_list", args=[area]),
        reverse("funds:budget", args=[area, 2023]),
        reverse("funds:reconciliation_list", args=[area]),
        reverse("funds:report", args=[area]) + "?period=2023-07",
        reverse("funds:report", args=[area]) + "?period=2023",
        reverse("funds:report_xlsx", args=[area]) + "?period=2023-07",
    ]


def test_accountant_sees_every_fund_page(client, accountant_city, books):
    client.force_login(accountant_city)
    for url in _pages(books):
        assert client.get(url).status_code == 200, url
    assert client.get(reverse("funds:subjects")).status_code == 200


def test_index_redirects_a_city_user_to_their_fund(client, accountant_city):
    client.force_login(accountant_city)
    response = client.get(reverse("funds:index"))
    assert response.url == reverse("funds:fund", args=["150300"])


def test_other_regions_fund_is_404(client, accountant_baotou, books):
    client.force_login(accountant_baotou)
    for url in _pages(books):
        assert client.get(url).status_code == 404, url


def test_other_regions_reconciliation_is_404(client, accountant_city, accountant_baotou, fund):
    client.force_login(accountant_city)
    client.post(
        reverse("funds:reconciliation_list", args=["150300"]),
        {"period": "2023-07", "file": SimpleUploadedFile("s.csv", DEMO_STATEMENT.read_bytes())},
    )
    recon = Reconciliation.objects.get()
    client.force_login(accountant_baotou)
    url = reverse("funds:reconciliation_detail", args=["150300", recon.pk])
    assert client.get(url).status_code == 404


def test_caseworker_has_no_fund_pages(client, caseworker_haibowan):
    client.force_login(caseworker_haibowan)
    assert client.get(reverse("funds:fund", args=["150300"])).status_code == 403


def test_regional_viewer_reads_but_cannot_post(client, regional_viewer, books):
    grant_role(regional_viewer, Role.ACCOUNTANT)
    client.force_login(regional_viewer)
    assert client.get(reverse("funds:fund", args=["150300"])).status_code == 200
    response = client.post(
        reverse("funds:entry_new", args=["150300"]),
        {
            "kind": "income",
            "booked_on": "2023-07-05",
            "account": Subject.FISCAL,
            "counter": "400201",
            "amount": "10",
            "memo": "x",
        },
    )
    assert response.status_code == 403
    assert not Transaction.objects.filter(memo="x").exists()


def test_entry_form_creates_pending_voucher_and_checker_posts_it(
    client, accountant_city, accountant_checker, fund
):
    client.force_login(accountant_city)
    response = client.post(
        reverse("funds:entry_new", args=["150300"]),
        {
            "kind": "income",
            "booked_on": "2023-07-05",
            "account": Subject.FISCAL,
            "counter": "400201",
            "amount": "5000.00",
            "reference": "CZ-9",
            "memo": "中央补助",
        },
    )
    voucher = Transaction.objects.get()
    assert response.status_code == 302 and voucher.status == "pending"
    approve = reverse("funds:entry_approve", args=["150300", voucher.pk])
    client.post(approve)  # the maker cannot approve
    voucher.refresh_from_db()
    assert voucher.status == "pending"
    client.force_login(accountant_checker)
    client.post(approve)
    voucher.refresh_from_db()
    assert voucher.status == "posted" and voucher.approved_by == accountant_checker


def test_reverse_from_the_voucher_page(client, accountant_city, books):
    client.force_login(accountant_city)
    response = client.post(
        reverse("funds:entry_reverse", args=["150300", books.pk]),
        {"memo": "金额错误", "booked_on": "2023-07-20"},
    )
    reversal = Transaction.objects.get(reverses=books)
    assert response.url == reverse("funds:transaction_detail", args=["150300", reversal.pk])


def test_statement_upload_matches_and_bad_file_shows_row_errors(client, accountant_city, fund):
    client.force_login(accountant_city)
    url = reverse("funds:reconciliation_list", args=["150300"])
    bad = "日期,凭证号,摘要,收入,支出\n2023-07-40,,x,1.00,\n".encode()
    response = client.post(url, {"period": "2023-07", "file": SimpleUploadedFile("b.csv", bad)})
    assert "日期格式错误" in response.content.decode()
    assert not Reconciliation.objects.exists()
    response = client.post(
        url,
        {"period": "2023-07", "file": SimpleUploadedFile("s.csv", DEMO_STATEMENT.read_bytes())},
    )
    recon = Reconciliation.objects.get()
    assert response.url == reverse("funds:reconciliation_detail", args=["150300", recon.pk])
    assert client.get(response.url).status_code == 200


def test_period_close_and_admin_reopen_from_the_page(client, accountant_city, admin_city, fund):
    client.force_login(accountant_city)
    client.post(reverse("funds:period_close", args=["150300", 2023, 7]))
    assert fund.periods.get(year=2023, month=7).status == "closed"
    assert (
        client.post(
            reverse("funds:period_reopen", args=["150300", 2023, 7]), {"reason": "x"}
        ).status_code
        == 403
    )
    client.force_login(admin_city)
    client.post(reverse("funds:period_reopen", args=["150300", 2023, 7]), {"reason": "补记"})
    assert fund.periods.get(year=2023, month=7).status == "open"


def test_budget_is_saved_from_the_page(client, accountant_city, fund):
    client.force_login(accountant_city)
    client.post(reverse("funds:budget", args=["150300", 2023]), {"b_500101": "6,500,000"})
    assert fund.budgets.get(year=2023, subject_id="500101").amount == Decimal("6500000.00")


def test_report_pdf_is_a_pdf(client, accountant_city, books):
    client.force_login(accountant_city)
    response = client.get(reverse("funds:report_pdf", args=["150300"]) + "?period=2023-07")
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")


def test_ledger_is_read_only_in_admin(client, admin_city, books):
    admin_city.is_superuser = True
    admin_city.save(update_fields=["is_superuser"])
    client.force_login(admin_city)
    assert client.get(reverse("admin:funds_transaction_changelist")).status_code == 200
    assert client.get(reverse("admin:funds_transaction_add")).status_code == 403
    assert client.post(reverse("admin:funds_leg_delete", args=[1])).status_code == 403


def test_dashboard_partial_context(accountant_city, books):
    from funds.selectors import dashboard_context

    context = dashboard_context(accountant_city)
    assert context["funds_visible"] and context["fund_cards"][0]["fund"].area_id == "150300"


def test_demo_statement_can_be_reconciled_from_the_ui(
    client, accountant_city, accountant_checker, admin_city
):
    """The demo month: upload the statement, resolve the lines left, mark it done."""
    from funds import demo
    from funds.models import Leg, StatementLine

    demo.seed(users={"accountant": accountant_city, "supervisor": accountant_checker})
    client.force_login(accountant_city)
    response = client.post(
        reverse("funds:reconciliation_list", args=["150300"]),
        {"period": "2023-07", "file": SimpleUploadedFile("s.csv", DEMO_STATEMENT.read_bytes())},
    )
    recon = Reconciliation.objects.get()
    detail = response.url
    assert recon.lines.filter(match__isnull=True).count() == 3
    # two statement lines of 150,000 are one ledger entry of 300,000: one-to-several by hand
    halves = recon.lines.filter(amount=Decimal("150000.00")).values_list("pk", flat=True)
    entry = Leg.objects.get(subject_id=Subject.FISCAL, amount=Decimal("300000.00"))
    client.post(
        reverse("funds:reconciliation_match", args=["150300", recon.pk]),
        {"line": list(halves), "leg": [entry.pk]},
    )
    assert recon.lines.filter(match__isnull=True).count() == 1
    # bank interest finance booked and we did not: an adjusting entry, approved, re-matched
    interest = StatementLine.objects.get(reconciliation=recon, match__isnull=True)
    client.post(
        reverse("funds:reconciliation_adjust", args=["150300", recon.pk, interest.pk]),
        {"counter": "4004", "memo": "财政专户结息"},
    )
    voucher = Transaction.objects.get(kind="adjustment")
    client.force_login(accountant_checker)
    client.post(reverse("funds:entry_approve", args=["150300", voucher.pk]))
    client.force_login(accountant_city)
    client.post(reverse("funds:reconciliation_rematch", args=["150300", recon.pk]))
    # the county subsidy finance has not booked is outstanding: finishing needs the 余额调节表
    client.post(reverse("funds:reconciliation_done", args=["150300", recon.pk]))
    recon.refresh_from_db()
    assert recon.status == "open"
    # finance's closing balance: June's 1,000,000 plus the July statement's net 3,502,090.76
    finish = reverse("funds:reconciliation_finish", args=["150300", recon.pk])
    client.post(finish, {"statement_balance": "4502090.76", "confirm": "1"})
    recon.refresh_from_db()
    assert recon.status == "done" and recon.done_by == accountant_city
    assert recon.balance_statement.adjusted_balance == Decimal("4602090.76")
    page = client.get(detail).content.decode()
    assert "海勃湾区县级配套资金" in page  # the entry finance has not booked stays listed


def test_role_permissions_of_funds_exist(accountant_city, admin_city):
    from core.roles import ROLE_PERMISSIONS

    for role, user in [(Role.ACCOUNTANT, accountant_city), (Role.ADMIN, admin_city)]:
        for code in ROLE_PERMISSIONS[role]:
            if code.startswith("funds."):
                assert user.has_perm(code), code
