"""The budget page is saved by one service, in one transaction (`funds.periods.budget_save`)."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from funds.models import Budget
from funds.periods import budget_save, budget_set

pytestmark = pytest.mark.django_db


def test_amounts_with_thousands_separators_are_saved(fund, accountant_city):
    budget_save(
        fund=fund,
        year=2023,
        amounts={"500101": "6,500,000", "500102": " 12.5 "},
        by=accountant_city,
    )
    saved = dict(fund.budgets.filter(year=2023).values_list("subject_id", "amount"))
    assert saved == {"500101": Decimal("6500000.00"), "500102": Decimal("12.50")}


def test_blank_sets_nothing_new_and_clears_an_existing_budget_to_zero(fund, accountant_city):
    budget_set(fund=fund, year=2023, subject="500101", amount=Decimal("100"), by=accountant_city)
    budget_save(fund=fund, year=2023, amounts={"500101": "", "500102": ""}, by=accountant_city)
    saved = dict(fund.budgets.filter(year=2023).values_list("subject_id", "amount"))
    assert saved == {"500101": Decimal("0.00")}


def test_one_bad_amount_changes_no_budget(fund, accountant_city):
    budget_set(fund=fund, year=2023, subject="500101", amount=Decimal("100"), by=accountant_city)
    with pytest.raises(ValidationError, match="预算金额格式错误"):
        budget_save(
            fund=fund,
            year=2023,
            amounts={"500101": "200", "500102": "300", "500103": "三百"},
            by=accountant_city,
        )
    saved = dict(Budget.objects.filter(fund=fund, year=2023).values_list("subject_id", "amount"))
    assert saved == {"500101": Decimal("100.00")}


def test_a_negative_amount_changes_no_budget(fund, accountant_city):
    with pytest.raises(ValidationError):
        budget_save(
            fund=fund, year=2023, amounts={"500101": "5", "500102": "-1"}, by=accountant_city
        )
    assert not Budget.objects.exists()


def test_the_service_checks_role_and_area_itself(fund, caseworker_haibowan, regional_viewer):
    for by in (caseworker_haibowan, regional_viewer):
        with pytest.raises(PermissionDenied):
            budget_save(fund=fund, year=2023, amounts={"500101": ""}, by=by)
