"""Months close in order: a month closes only after the one before it, except the fund's
first month; and they reopen in reverse order, so the closed months are one unbroken run."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from funds.models import Period, PeriodBalance, Subject
from funds.periods import period_close, period_reopen
from funds.services import entry_propose

pytestmark = pytest.mark.django_db


def _closed(fund):
    return list(
        Period.objects.filter(fund=fund, status=Period.Status.CLOSED)
        .order_by("year", "month")
        .values_list("year", "month")
    )


def test_a_month_does_not_close_before_the_one_before_it(fund, accountant_city, post_income):
    post_income("100", booked_on=date(2023, 6, 3))
    post_income("50", booked_on=date(2023, 7, 3))
    with pytest.raises(ValidationError, match="2023年6月尚未结账：请按月份顺序结账"):
        period_close(fund=fund, year=2023, month=7, by=accountant_city)
    assert _closed(fund) == []
    assert not PeriodBalance.objects.filter(fund=fund).exists()  # nothing half-written
    period_close(fund=fund, year=2023, month=6, by=accountant_city)
    period_close(fund=fund, year=2023, month=7, by=accountant_city)
    assert _closed(fund) == [(2023, 6), (2023, 7)]


def test_the_first_month_with_postings_needs_no_predecessor(fund, accountant_city, post_income):
    post_income("100", booked_on=date(2023, 3, 15))
    period_close(fund=fund, year=2023, month=3, by=accountant_city)
    assert _closed(fund) == [(2023, 3)]


def test_an_empty_month_after_the_first_must_be_closed_too(fund, accountant_city, post_income):
    post_income("100", booked_on=date(2023, 1, 15))
    post_income("100", booked_on=date(2023, 3, 15))
    period_close(fund=fund, year=2023, month=1, by=accountant_city)
    with pytest.raises(ValidationError, match="2023年2月尚未结账"):
        period_close(fund=fund, year=2023, month=3, by=accountant_city)
    period_close(fund=fund, year=2023, month=2, by=accountant_city)
    period_close(fund=fund, year=2023, month=3, by=accountant_city)


def test_the_order_runs_across_the_year_end(fund, accountant_city, post_income):
    post_income("100", booked_on=date(2022, 12, 15))
    with pytest.raises(ValidationError, match="2022年12月尚未结账"):
        period_close(fund=fund, year=2023, month=1, by=accountant_city)
    period_close(fund=fund, year=2022, month=12, by=accountant_city)
    period_close(fund=fund, year=2023, month=1, by=accountant_city)


def test_a_pending_entry_starts_the_books_too(fund, accountant_city):
    entry_propose(
        fund=fund,
        kind="income",
        booked_on=date(2023, 5, 3),
        account=Subject.FISCAL,
        counter="400201",
        amount=Decimal("1"),
        memo="待复核",
        by=accountant_city,
    )
    with pytest.raises(ValidationError, match="2023年5月尚未结账"):
        period_close(fund=fund, year=2023, month=6, by=accountant_city)


def test_a_month_before_any_entry_closes_and_then_starts_the_run(
    fund, accountant_city, post_income
):
    post_income("100", booked_on=date(2023, 3, 15))
    period_close(fund=fund, year=2023, month=1, by=accountant_city)  # before the first entry
    with pytest.raises(ValidationError, match="2023年2月尚未结账"):
        period_close(fund=fund, year=2023, month=3, by=accountant_city)


def test_months_reopen_latest_first(fund, accountant_city, admin_city, post_income):
    post_income("100", booked_on=date(2023, 6, 3))
    period_close(fund=fund, year=2023, month=6, by=accountant_city)
    period_close(fund=fund, year=2023, month=7, by=accountant_city)
    with pytest.raises(ValidationError, match="2023年7月已结账：请从最近结账的月份起"):
        period_reopen(fund=fund, year=2023, month=6, by=admin_city, reason="补记")
    assert _closed(fund) == [(2023, 6), (2023, 7)]
    period_reopen(fund=fund, year=2023, month=7, by=admin_city, reason="补记")
    period_reopen(fund=fund, year=2023, month=6, by=admin_city, reason="补记")
    assert _closed(fund) == []


def test_the_page_shows_the_order_refusal(client, accountant_city, fund, post_income):
    from django.urls import reverse

    post_income("100", booked_on=date(2023, 6, 3))
    client.force_login(accountant_city)
    response = client.post(reverse("funds:period_close", args=["150300", 2023, 7]), follow=True)
    assert "请按月份顺序结账" in response.content.decode()
    assert _closed(fund) == []
