"""A reversal is a manual entry: proposed by one person, posted by a second (P §22, DOMAIN §8)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from core.roles import Role, grant_role
from funds.models import Subject, Transaction
from funds.periods import budget_set, period_close
from funds.selectors import account_balance
from funds.services import entry_approve, entry_propose, entry_reject, transaction_reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def big_voucher(post_income):
    return post_income("2500000")


def test_a_reversal_waits_for_a_second_persons_approval(
    fund, big_voucher, accountant_city, accountant_checker
):
    reversal = transaction_reverse(
        voucher=big_voucher, by=accountant_city, memo="错账", booked_on=date(2023, 7, 9)
    )
    assert (reversal.status, reversal.kind, reversal.reverses_id) == (
        "pending",
        "reversal",
        big_voucher.pk,
    )
    assert not reversal.legs.exists()
    assert account_balance(fund, Subject.FISCAL, date(2023, 7, 31)) == Decimal("2500000.00")
    entry_approve(voucher=reversal, by=accountant_checker)
    assert account_balance(fund, Subject.FISCAL, date(2023, 7, 31)) == 0


def test_the_proposer_cannot_approve_their_own_reversal(big_voucher, accountant_checker):
    reversal = transaction_reverse(voucher=big_voucher, by=accountant_checker, memo="错账")
    with pytest.raises(ValidationError, match="复核人不能复核本人录入的凭证"):
        entry_approve(voucher=reversal, by=accountant_checker)


def test_a_two_role_user_cannot_approve_their_own_reversal(big_voucher, accountant_city):
    grant_role(accountant_city, Role.SUPERVISOR)
    reversal = transaction_reverse(voucher=big_voucher, by=accountant_city, memo="错账")
    with pytest.raises(ValidationError):
        entry_approve(voucher=reversal, by=accountant_city)


def test_a_two_role_user_cannot_approve_their_own_manual_entry(fund, accountant_city):
    grant_role(accountant_city, Role.SUPERVISOR)
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
    with pytest.raises(ValidationError):
        entry_approve(voucher=voucher, by=accountant_city)


def test_a_rejected_reversal_lets_the_voucher_be_reversed_again(
    fund, big_voucher, accountant_city, accountant_checker
):
    first = transaction_reverse(voucher=big_voucher, by=accountant_city, memo="错账")
    assert transaction_reverse(voucher=big_voucher, by=accountant_city, memo="x").pk == first.pk
    entry_reject(voucher=first, by=accountant_checker, reason="金额无误")
    second = transaction_reverse(voucher=big_voucher, by=accountant_city, memo="错账")
    assert second.pk != first.pk and second.status == "pending"


def test_the_reverse_page_proposes_and_posts_nothing(client, fund, big_voucher, accountant_city):
    client.force_login(accountant_city)
    response = client.post(
        reverse("funds:entry_reverse", args=["150300", big_voucher.pk]),
        {"memo": "错账", "booked_on": "2023-07-09"},
    )
    reversal = Transaction.objects.get(reverses=big_voucher)
    assert response.url == reverse("funds:transaction_detail", args=["150300", reversal.pk])
    assert reversal.status == "pending"
    assert account_balance(fund, Subject.FISCAL, date(2023, 7, 31)) == Decimal("2500000.00")


def test_a_regional_viewer_cannot_write_the_funds_books(
    fund, big_voucher, accountant_city, regional_viewer
):
    """Service level: whatever roles a 自治区 user holds, the books refuse their writes."""
    grant_role(regional_viewer, Role.ACCOUNTANT)
    pending = entry_propose(
        fund=fund,
        kind="income",
        booked_on=date(2023, 7, 3),
        account=Subject.FISCAL,
        counter="400201",
        amount=Decimal("10"),
        memo="中央补助",
        by=accountant_city,
    )
    calls = [
        lambda: transaction_reverse(voucher=big_voucher, by=regional_viewer, memo="x"),
        lambda: entry_reject(voucher=pending, by=regional_viewer, reason="x"),
        lambda: entry_approve(voucher=pending, by=regional_viewer),
        lambda: entry_propose(
            fund=fund,
            kind="income",
            booked_on=date(2023, 7, 3),
            account=Subject.FISCAL,
            counter="400201",
            amount=Decimal("10"),
            memo="x",
            by=regional_viewer,
        ),
        lambda: period_close(fund=fund, year=2023, month=7, by=regional_viewer),
        lambda: budget_set(fund=fund, year=2023, subject="400201", amount=1, by=regional_viewer),
    ]
    for call in calls:
        with pytest.raises(PermissionDenied, match="自治区级用户只能查看"):
            call()
    pending.refresh_from_db()
    assert pending.status == "pending"
    assert not Transaction.objects.filter(reverses=big_voucher).exists()
