from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from funds.models import Leg, Subject, Transaction
from funds.periods import period_close
from funds.selectors import account_balance
from funds.services import benefit_post, benefit_reverse, entry_approve

pytestmark = pytest.mark.django_db


def _pay(key="claims.bill:1", kind="inpatient", amount="1200.00", by=None, **extra):
    return benefit_post(
        key=key,
        area_code="150302",
        kind=kind,
        amount=Decimal(amount),
        booked_on=extra.pop("booked_on", date(2023, 7, 10)),
        memo="住院救助",
        by=by,
        **extra,
    )


@pytest.mark.parametrize(
    ("kind", "subject"),
    [("inpatient", "500101"), ("outpatient", "500102"), ("subsidy", "500103")],
)
def test_benefit_posts_expense_subject_against_expense_account(
    kind, subject, fund, supervisor_city
):
    voucher = _pay(kind=kind, by=supervisor_city)
    legs = {leg.subject_id: leg.amount for leg in voucher.legs.all()}
    assert legs == {subject: Decimal("1200.00"), Subject.EXPENSE_ACCOUNT: Decimal("-1200.00")}
    assert voucher.fund == fund  # a district code posts to its city's fund


def test_retried_payment_posts_once(fund, supervisor_city):
    first = _pay(by=supervisor_city)
    second = _pay(by=supervisor_city)
    assert first.pk == second.pk
    assert Transaction.objects.filter(key="claims.bill:1").count() == 1
    assert account_balance(fund, Subject.EXPENSE_ACCOUNT, date(2023, 7, 31)) == Decimal("-1200.00")


def test_same_key_with_another_amount_is_refused(supervisor_city):
    _pay(by=supervisor_city)
    with pytest.raises(ValidationError):
        _pay(amount="99.00", by=supervisor_city)


def test_posting_rolls_back_with_the_callers_transaction(supervisor_city):
    with pytest.raises(RuntimeError), transaction.atomic():
        _pay(by=supervisor_city)
        raise RuntimeError("payment failed")
    assert not Transaction.objects.exists()


def test_category_and_visit_type_are_stored(supervisor_city):
    voucher = _pay(by=supervisor_city, category="subsistence", visit_type="inpatient")
    assert (voucher.category, voucher.visit_type) == ("subsistence", "inpatient")


def test_closed_period_refuses_postings(fund, accountant_city, supervisor_city):
    period_close(fund=fund, year=2023, month=7, by=accountant_city)
    with pytest.raises(ValidationError, match="已结账"):
        _pay(by=supervisor_city)


def test_reversal_nets_to_zero(fund, supervisor_city, accountant_city, accountant_checker):
    _pay(by=supervisor_city)
    reversal = benefit_reverse(
        key="claims.bill:1", by=accountant_city, memo="退回", booked_on=date(2023, 7, 20)
    )
    assert reversal.reverses.key == "claims.bill:1"
    # A reversal is a manual entry: nothing moves until a second person approves it.
    assert reversal.status == "pending"
    assert account_balance(fund, Subject.INPATIENT, date(2023, 7, 31)) != 0
    entry_approve(voucher=reversal, by=accountant_checker)
    assert account_balance(fund, Subject.EXPENSE_ACCOUNT, date(2023, 7, 31)) == 0
    assert account_balance(fund, Subject.INPATIENT, date(2023, 7, 31)) == 0
    # reversing again returns the same reversal
    again = benefit_reverse(key="claims.bill:1", by=accountant_city, memo="退回")
    assert again.pk == reversal.pk


def test_non_positive_benefit_is_refused(supervisor_city):
    with pytest.raises(ValidationError):
        _pay(amount="0", by=supervisor_city)


def test_posted_legs_cannot_be_changed_or_deleted(supervisor_city):
    leg = _pay(by=supervisor_city).legs.first()
    leg.amount = Decimal("1")
    with pytest.raises(ValidationError):
        leg.save()
    with pytest.raises(ValidationError):
        leg.delete()
    assert Leg.objects.count() == 2
