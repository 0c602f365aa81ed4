"""Paying a clearing of many payees posts every voucher in set-based writes (DOMAIN §10:
500 lines within 2 s): a bounded number of queries, whatever the number of payees, and the
same vouchers, legs and history as one posting at a time."""

from datetime import date, datetime
from decimal import Decimal

import pytest
import time_machine
from clearing_helpers import settlement
from django.db.models import Sum

from core import idnumber
from core.models import Region
from core.roles import Role, grant_role
from funds.clearing import clearing_approve, clearing_compute, clearing_pay
from funds.models import Leg, Subject, Transaction

pytestmark = pytest.mark.django_db

PAYEES = 30


@pytest.fixture(autouse=True)
def _today():
    with time_machine.travel(datetime(2023, 9, 15, 10, 0, tzinfo=idnumber.CHINA_TZ), tick=False):
        yield


@pytest.fixture
def approved(accountant_city, supervisor_city):
    for n in range(PAYEES):
        code = f"H150302{n:05d}"
        settlement(maf_pay="100.00", code=code)
        settlement(maf_pay="-30.00" if n % 3 else "20.00", code=code, visit="general_outpatient")
    clearing = clearing_compute(area_code="150300", period="2023-07", by=accountant_city).clearing
    return clearing_approve(clearing=clearing, by=supervisor_city)


@pytest.fixture
def payer(django_user_model):
    user = django_user_model.objects.create_user(
        username="acc_payer", password="x", region=Region.objects.get(code="150300")
    )
    grant_role(user, Role.ACCOUNTANT)
    return django_user_model.objects.get(pk=user.pk)


def test_paying_many_payees_takes_a_bounded_number_of_queries(
    approved, payer, django_assert_max_num_queries
):
    # One posting at a time took ~8 queries per voucher (480 here).
    with django_assert_max_num_queries(40):
        clearing_pay(clearing=approved, by=payer, paid_on=date(2023, 9, 1), reference="T1")
    vouchers = Transaction.objects.filter(key__startswith="clearing:150300:2023-07:")
    assert vouchers.count() == 2 * PAYEES
    assert set(vouchers.values_list("status", flat=True)) == {Transaction.Status.POSTED}
    assert set(vouchers.values_list("reference", flat=True)) == {"T1"}
    history = Transaction.history.filter(id__in=vouchers.values("id"), history_type="+")
    assert history.count() == 2 * PAYEES and {h.history_user for h in history} == {payer}
    legs = Leg.objects.filter(transaction__in=vouchers)
    assert legs.count() == 4 * PAYEES and legs.aggregate(s=Sum("amount"))["s"] == 0
    inpatient = legs.filter(subject_id=Subject.INPATIENT).aggregate(s=Sum("amount"))["s"]
    outpatient = legs.filter(subject_id=Subject.OUTPATIENT).aggregate(s=Sum("amount"))["s"]
    assert inpatient == Decimal("100.00") * PAYEES
    assert outpatient == Decimal("20.00") * 10 - Decimal("30.00") * 20
    # A retry posts nothing again.
    clearing_pay(clearing=approved, by=payer, paid_on=date(2023, 9, 1))
    assert vouchers.count() == 2 * PAYEES
