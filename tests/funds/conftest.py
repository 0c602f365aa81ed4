from datetime import date
from decimal import Decimal

import pytest

from core.roles import Role
from funds.models import Fund, Subject
from funds.services import entry_approve, entry_propose


@pytest.fixture
def fund(wuhai):
    return Fund.objects.get(area=wuhai)


@pytest.fixture
def accountant_checker(db, django_user_model, wuhai):
    """A second 财务 of the city: the checker of accountant_city's entries."""
    from core.roles import grant_role

    user = django_user_model.objects.create_user(
        username="acc2_city", password="secret-pass-123", name="acc2_city", region=wuhai
    )
    grant_role(user, Role.ACCOUNTANT)
    return user


@pytest.fixture
def post_income(fund, accountant_city, accountant_checker):
    """Record and approve an income into the fiscal special account (central subsidy)."""

    def _post(amount, booked_on=date(2023, 7, 3), reference="", counter="400201", memo="中央补助"):
        voucher = entry_propose(
            fund=fund,
            kind="income",
            booked_on=booked_on,
            account=Subject.FISCAL,
            counter=counter,
            amount=Decimal(amount),
            memo=memo,
            reference=reference,
            by=accountant_city,
        )
        return entry_approve(voucher=voucher, by=accountant_checker)

    return _post
