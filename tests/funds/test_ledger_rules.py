import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, InternalError, connection, transaction

from funds.ledger import post
from funds.models import Fund, Leg, Period, Subject, Transaction
from funds.periods import period_close, period_reopen
from funds.selectors import account_balance, cumulative_sums
from funds.services import (
    benefit_post,
    entry_approve,
    entry_propose,
    entry_reject,
    transaction_reverse,
)

pytestmark = pytest.mark.django_db


def test_legs_that_do_not_balance_are_refused(fund, accountant_city):
    with pytest.raises(ValidationError, match="借贷不平衡"):
        post(
            fund=fund,
            booked_on=date(2023, 7, 1),
            kind="income",
            memo="x",
            legs=[(Subject.FISCAL, Decimal("100")), ("400201", Decimal("-99.99"))],
            by=accountant_city,
        )
    assert not Transaction.objects.exists()


def test_non_leaf_subject_is_refused(fund, accountant_city):
    with pytest.raises(ValidationError, match="末级科目"):
        post(
            fund=fund,
            booked_on=date(2023, 7, 1),
            kind="income",
            memo="x",
            legs=[(Subject.FISCAL, Decimal("100")), ("4002", Decimal("-100"))],
            by=accountant_city,
        )


def test_manual_entry_waits_for_a_second_person(fund, accountant_city, accountant_checker):
    voucher = entry_propose(
        fund=fund,
        kind="income",
        booked_on=date(2023, 7, 3),
        account=Subject.FISCAL,
        counter="400201",
        amount=Decimal("5000"),
        memo="中央财政补助",
        by=accountant_city,
    )
    assert voucher.status == "pending" and not voucher.legs.exists()
    assert account_balance(fund, Subject.FISCAL, date(2023, 7, 31)) == 0
    with pytest.raises(ValidationError, match="本人"):
        entry_approve(voucher=voucher, by=accountant_city)
    entry_approve(voucher=voucher, by=accountant_checker)
    assert account_balance(fund, Subject.FISCAL, date(2023, 7, 31)) == Decimal("5000.00")
    with pytest.raises(ValidationError):
        entry_approve(voucher=voucher, by=accountant_checker)


def test_rejected_entry_never_reaches_the_ledger(fund, accountant_city, accountant_checker):
    voucher = entry_propose(
        fund=fund,
        kind="transfer",
        booked_on=date(2023, 7, 3),
        account=Subject.EXPENSE_ACCOUNT,
        counter=Subject.FISCAL,
        amount=Decimal("100"),
        memo="划转",
        by=accountant_city,
    )
    entry_reject(voucher=voucher, by=accountant_checker, reason="金额有误")
    voucher.refresh_from_db()
    assert voucher.status == "rejected" and not Leg.objects.exists()


def test_interest_and_sweep_move_money_between_accounts(fund, accountant_city, post_income):
    post_income("12.50", booked_on=date(2023, 7, 20), counter="4004")
    # interest arrives in the expense account, then is swept to the fiscal account
    for kind, account, counter in [
        ("interest", Subject.EXPENSE_ACCOUNT, "4004"),
        ("sweep", Subject.FISCAL, Subject.EXPENSE_ACCOUNT),
    ]:
        v = entry_propose(
            fund=fund,
            kind=kind,
            booked_on=date(2023, 7, 21),
            account=account,
            counter=counter,
            amount=Decimal("3.20"),
            memo=kind,
            by=accountant_city,
        )
        from funds.models import Transaction as T

        assert T.objects.get(pk=v.pk).draft[0]["subject"] == account
    with pytest.raises(ValidationError):
        entry_propose(
            fund=fund,
            kind="sweep",
            booked_on=date(2023, 7, 21),
            account=Subject.EXPENSE_ACCOUNT,
            counter=Subject.FISCAL,
            amount=Decimal("3.20"),
            memo="反向",
            by=accountant_city,
        )


def test_closed_period_refuses_manual_entries_and_reopen_is_audited(
    fund, accountant_city, admin_city
):
    period_close(fund=fund, year=2023, month=7, by=accountant_city)
    with pytest.raises(ValidationError, match="2023年7月已结账"):
        entry_propose(
            fund=fund,
            kind="income",
            booked_on=date(2023, 7, 3),
            account=Subject.FISCAL,
            counter="400201",
            amount=Decimal("1"),
            memo="x",
            by=accountant_city,
        )
    with pytest.raises(ValidationError):
        period_reopen(fund=fund, year=2023, month=7, by=accountant_city, reason="更正")
    with pytest.raises(ValidationError):
        period_reopen(fund=fund, year=2023, month=7, by=admin_city, reason="")
    period = period_reopen(fund=fund, year=2023, month=7, by=admin_city, reason="补记利息")
    assert period.status == "open"
    last = period.history.first()
    assert (last.history_user, last.reopen_reason) == (admin_city, "补记利息")


def test_snapshot_at_close_gives_the_same_balance(fund, accountant_city, post_income):
    post_income("1000", booked_on=date(2023, 6, 3))
    post_income("50", booked_on=date(2023, 7, 3))
    before = cumulative_sums(fund, date(2023, 7, 31))
    period_close(fund=fund, year=2023, month=6, by=accountant_city)
    assert cumulative_sums(fund, date(2023, 7, 31)) == before


def test_posting_into_an_open_month_before_a_closed_one_drops_stale_snapshots(
    fund, accountant_city, post_income
):
    period_close(fund=fund, year=2023, month=7, by=accountant_city)
    post_income("40", booked_on=date(2023, 6, 30))
    assert account_balance(fund, Subject.FISCAL, date(2023, 8, 31)) == Decimal("40.00")


def test_a_reversal_cannot_be_reversed(fund, accountant_city, accountant_checker, post_income):
    voucher = post_income("10")
    reversal = transaction_reverse(
        voucher=voucher, by=accountant_city, memo="错账", booked_on=date(2023, 7, 9)
    )
    reversal = entry_approve(voucher=reversal, by=accountant_checker)
    with pytest.raises(ValidationError, match="冲销凭证不能再冲销"):
        transaction_reverse(voucher=reversal, by=accountant_city, memo="x")


def test_posted_voucher_cannot_be_edited_or_deleted(post_income):
    voucher = post_income("10")
    voucher.memo = "改"
    with pytest.raises(ValidationError):
        voucher.save()
    with pytest.raises(ValidationError):
        voucher.delete()


# --- PostgreSQL guards and concurrency -------------------------------------------------


@pytest.mark.postgres
def test_database_refuses_unbalanced_legs_on_postgresql(fund):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL trigger")
    voucher = Transaction(fund=fund, booked_on=date(2023, 7, 1), kind="income", memo="x")
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        Transaction.objects.bulk_create([voucher])
        Leg.objects.bulk_create(
            [
                Leg(
                    transaction=voucher,
                    fund=fund,
                    booked_on=voucher.booked_on,
                    subject_id="1003",
                    amount=5,
                )
            ]
        )
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.postgres
def test_database_refuses_leg_updates_on_postgresql(post_income):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL trigger")
    voucher = post_income("10")
    with pytest.raises((IntegrityError, InternalError)), transaction.atomic():
        Leg.objects.filter(transaction=voucher).update(amount=0)


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL row locks")
# serialized_rollback: the flush after a transactional test would also drop the chart of
# subjects and the funds of migration 0002 that later tests use.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_payments_leave_the_balance_exact(django_user_model):
    fund = Fund.objects.get(area_id="150300")
    barrier = threading.Barrier(4)
    errors = []

    def pay(n):
        try:
            barrier.wait()
            for i in range(5):
                with transaction.atomic():
                    benefit_post(
                        key=f"claims.bill:{n}-{i}",
                        area_code="150302",
                        kind="inpatient",
                        amount=Decimal("100.01"),
                        booked_on=date(2023, 7, 10),
                        memo="并发",
                        by=None,
                    )
                    # the retry of the same payment from another thread
                    benefit_post(
                        key=f"claims.bill:{(n + 1) % 4}-{i}",
                        area_code="150302",
                        kind="inpatient",
                        amount=Decimal("100.01"),
                        booked_on=date(2023, 7, 10),
                        memo="并发",
                        by=None,
                    )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert Transaction.objects.count() == 20
    assert account_balance(fund, Subject.EXPENSE_ACCOUNT, date(2023, 7, 31)) == Decimal("-2000.20")
    assert Period.objects.filter(fund=fund, year=2023, month=7).count() == 1


def test_a_month_with_pending_entries_cannot_be_closed(fund, accountant_city):
    entry_propose(
        fund=fund,
        kind="income",
        booked_on=date(2023, 7, 3),
        account=Subject.FISCAL,
        counter="400201",
        amount=Decimal("1"),
        memo="x",
        by=accountant_city,
    )
    with pytest.raises(ValidationError, match="待复核"):
        period_close(fund=fund, year=2023, month=7, by=accountant_city)


def test_snapshot_of_a_month_is_used_for_its_last_day(fund, accountant_city, post_income):
    post_income("1000", booked_on=date(2023, 6, 30))
    post_income("7", booked_on=date(2023, 7, 1))
    period_close(fund=fund, year=2023, month=6, by=accountant_city)
    assert account_balance(fund, Subject.FISCAL, date(2023, 6, 30)) == Decimal("1000.00")
    assert account_balance(fund, Subject.FISCAL, date(2023, 6, 29)) == 0
    assert account_balance(fund, Subject.FISCAL, date(2023, 7, 1)) == Decimal("1007.00")
