"""Enrollment subsidy (DOMAIN §5; W 三(二), P §9–11, §16): every rule, once per person and year."""

import io
import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from openpyxl import load_workbook

from beneficiaries.models import Enrollment, Subsidy, SubsidyBatch
from beneficiaries.services import enrollment_record, identity_grant
from beneficiaries.subsidies import (
    Reason,
    subsidy_batch_confirm,
    subsidy_batch_create,
    subsidy_batch_export,
    subsidy_proposals,
)
from core.choices import Category, Department
from core.models import AuditEvent
from tests.factories import PersonFactory

YEAR = 2023
FULL = Decimal("380.00")  # Wuhai 2023 contribution standard (C 一)
FIXED = Decimal("171.00")  # the seeded fixed subsidy, 45% of 380


def grant(person, category, start=date(2022, 9, 1), end=None, department=None):
    if department is None:
        department = (
            Department.RURAL_REVITALIZATION
            if category == Category.POVERTY_RISK
            else Department.CIVIL_AFFAIRS
        )
    return identity_grant(
        person=person,
        category=category,
        start=start,
        end=end,
        region=person.region,
        department=department,
        by=None,
    )


def enrol(person, scheme=Enrollment.Scheme.RESIDENT, paid=date(2022, 11, 1), benefit=None):
    return enrollment_record(
        person=person,
        year=YEAR,
        scheme=scheme,
        area=person.region,
        paid_date=paid,
        benefit_start=benefit or date(YEAR, 1, 1),
        by=None,
    )


def proposals(area, as_of=date(2023, 6, 30)):
    return {p.person.pk: p for p in subsidy_proposals(area=area, year=YEAR, as_of=as_of)}


@pytest.fixture
def person(haibowan):
    return PersonFactory(region=haibowan)


@pytest.mark.django_db
class TestRules:
    def test_destitute_get_the_full_standard(self, person, haibowan):
        grant(person, Category.DESTITUTE)
        enrol(person)
        p = proposals(haibowan)[person.pk]
        assert p.granted and p.amount == FULL and p.rule == Subsidy.Rule.FULL

    @pytest.mark.parametrize("category", [Category.SUBSISTENCE, Category.POVERTY_RISK])
    def test_subsistence_and_poverty_risk_get_the_fixed_amount(self, person, haibowan, category):
        grant(person, category)
        enrol(person)
        p = proposals(haibowan)[person.pk]
        assert p.granted and p.amount == FIXED and p.rule == Subsidy.Rule.FIXED

    @pytest.mark.parametrize(
        "category",
        [Category.NEAR_SUBSISTENCE, Category.ILLNESS_IMPOVERISHED, Category.OTHER_SPECIAL],
    )
    def test_other_categories_get_nothing(self, person, haibowan, category):
        grant(person, category)
        enrol(person)
        assert person.pk not in proposals(haibowan)

    def test_highest_ranked_identity_applies_once(self, person, haibowan):
        grant(person, Category.SUBSISTENCE)
        grant(person, Category.POVERTY_RISK)
        grant(person, Category.DESTITUTE, start=date(2022, 10, 1))
        enrol(person)
        result = subsidy_proposals(area=haibowan, year=YEAR, as_of=date(2023, 6, 30))
        assert len(result) == 1
        assert result[0].category == Category.DESTITUTE and result[0].amount == FULL

    def test_employee_insurance_enrollees_get_nothing(self, person, haibowan):
        grant(person, Category.DESTITUTE)
        enrol(person, scheme=Enrollment.Scheme.EMPLOYEE)
        p = proposals(haibowan)[person.pk]
        assert not p.granted and p.reason == Reason.EMPLOYEE and p.amount == 0

    def test_recognised_before_paying_gets_it(self, person, haibowan):
        grant(person, Category.SUBSISTENCE, start=date(2022, 9, 1))
        enrol(person, paid=date(2022, 11, 1))
        p = proposals(haibowan)[person.pk]
        assert p.granted and p.reason == Reason.RECOGNISED_BEFORE_PAYING

    def test_self_paid_before_recognition_and_before_the_benefit_period_gets_it(
        self, person, haibowan
    ):
        # P §10(一): paid for 2023 in November 2022, recognised in December 2022.
        grant(person, Category.SUBSISTENCE, start=date(2022, 12, 10))
        enrol(person, paid=date(2022, 11, 1))
        p = proposals(haibowan)[person.pk]
        assert p.granted and p.reason == Reason.PAID_BEFORE_BENEFIT_PERIOD

    def test_self_paid_and_already_in_the_benefit_period_gets_nothing(self, person, haibowan):
        # P §10(二): paid for 2023, recognised in February 2023 (benefit period from 1 January).
        grant(person, Category.SUBSISTENCE, start=date(2023, 2, 1))
        enrol(person, paid=date(2022, 11, 1))
        p = proposals(haibowan)[person.pk]
        assert not p.granted and p.reason == Reason.IN_BENEFIT_PERIOD

    def test_not_enrolled_new_beneficiary_gets_it_at_any_time(self, person, haibowan):
        # P §16: no waiting period; the subsidy pays the enrollment now.
        grant(person, Category.DESTITUTE, start=date(2023, 5, 20))
        p = proposals(haibowan)[person.pk]
        assert p.granted and p.reason == Reason.NOT_ENROLLED and p.amount == FULL

    def test_lower_identity_in_time_applies_when_the_higher_came_too_late(self, person, haibowan):
        grant(person, Category.SUBSISTENCE, start=date(2022, 9, 1))
        grant(person, Category.DESTITUTE, start=date(2023, 3, 1))
        enrol(person, paid=date(2022, 11, 1))
        p = proposals(haibowan)[person.pk]
        assert p.granted and p.category == Category.SUBSISTENCE and p.amount == FIXED

    def test_identity_ended_before_the_year_does_not_count(self, person, haibowan):
        grant(person, Category.DESTITUTE, start=date(2021, 1, 1), end=date(2022, 12, 31))
        assert person.pk not in proposals(haibowan)

    def test_identity_recognised_after_as_of_does_not_count_yet(self, person, haibowan):
        grant(person, Category.DESTITUTE, start=date(2023, 8, 1))
        assert person.pk not in proposals(haibowan, as_of=date(2023, 6, 30))

    def test_persons_of_other_regions_are_not_in_the_batch(self, haibowan, wuda):
        other = PersonFactory(region=wuda)
        grant(other, Category.DESTITUTE)
        assert other.pk not in proposals(haibowan)


@pytest.mark.django_db
class TestConfirm:
    def test_confirm_creates_subsidies_and_posts_each_to_the_fund(
        self, person, haibowan, supervisor_city
    ):
        from funds.models import Transaction

        grant(person, Category.DESTITUTE)
        batch = subsidy_batch_create(area=haibowan, year=YEAR, as_of=date(2023, 6, 30), by=None)
        batch = subsidy_batch_confirm(batch=batch, by=supervisor_city)
        subsidy = Subsidy.objects.get()
        assert (subsidy.person, subsidy.amount, subsidy.area_id) == (person, FULL, "150300")
        assert (batch.status, batch.count, batch.total) == ("confirmed", 1, FULL)
        assert Transaction.objects.filter(key=f"beneficiaries.subsidy:{subsidy.pk}").exists()

    def test_confirming_the_same_batch_twice_is_refused(self, person, haibowan, supervisor_city):
        grant(person, Category.DESTITUTE)
        batch = subsidy_batch_create(area=haibowan, year=YEAR, as_of=date(2023, 6, 30), by=None)
        subsidy_batch_confirm(batch=batch, by=supervisor_city)
        with pytest.raises(ValidationError):
            subsidy_batch_confirm(batch=batch, by=supervisor_city)
        assert Subsidy.objects.count() == 1

    def test_a_second_batch_for_the_year_pays_nobody_twice(
        self, person, haibowan, wuhai, supervisor_city
    ):
        grant(person, Category.DESTITUTE)
        first = subsidy_batch_create(area=haibowan, year=YEAR, as_of=date(2023, 6, 30), by=None)
        subsidy_batch_confirm(batch=first, by=supervisor_city)
        newcomer = PersonFactory(region=haibowan)
        grant(newcomer, Category.SUBSISTENCE, start=date(2023, 7, 1))
        second = subsidy_batch_create(area=wuhai, year=YEAR, as_of=date(2023, 9, 30), by=None)
        p = proposals(wuhai, as_of=date(2023, 9, 30))
        assert p[person.pk].reason == Reason.ALREADY and not p[person.pk].granted
        second = subsidy_batch_confirm(batch=second, by=supervisor_city)
        assert second.count == 1
        assert Subsidy.objects.filter(person=person).count() == 1
        assert Subsidy.objects.filter(person=newcomer).count() == 1

    def test_database_refuses_a_second_subsidy_for_a_person_and_year(
        self, person, haibowan, supervisor_city
    ):
        from django.db import IntegrityError, transaction

        identity = grant(person, Category.DESTITUTE)
        batch = subsidy_batch_create(area=haibowan, year=YEAR, as_of=date(2023, 6, 30), by=None)
        subsidy_batch_confirm(batch=batch, by=supervisor_city)
        with pytest.raises(IntegrityError), transaction.atomic():
            Subsidy.objects.create(
                person=person,
                year=YEAR,
                category=identity.category,
                rule="full",
                amount=FULL,
                identity=identity,
                batch=batch,
                area_id="150300",
            )

    def test_export_lists_full_id_numbers_and_is_logged(self, person, haibowan, supervisor_city):
        grant(person, Category.DESTITUTE)
        batch = subsidy_batch_create(area=haibowan, year=YEAR, as_of=date(2023, 6, 30), by=None)
        with pytest.raises(ValidationError):
            subsidy_batch_export(batch=batch, by=supervisor_city)  # not confirmed yet
        batch = subsidy_batch_confirm(batch=batch, by=supervisor_city)
        content = subsidy_batch_export(batch=batch, by=supervisor_city)
        sheet = load_workbook(io.BytesIO(content)).active
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][:3] == ("序号", "姓名", "公民身份号码")
        assert rows[1][2] == person.id_number
        assert Decimal(str(rows[1][7])) == FULL
        event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT)
        assert event.user == supervisor_city and event.detail["rows"] == 1

    def test_no_policy_for_the_year_is_refused(self, haibowan):
        with pytest.raises(ValidationError):
            subsidy_batch_create(area=haibowan, year=2019, as_of=date(2019, 6, 30), by=None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_confirmations_pay_each_person_once(haibowan, wuhai, supervisor_city):
    if connection.vendor != "postgresql":
        pytest.skip("row locks: PostgreSQL only")
    people = [PersonFactory(region=haibowan) for _ in range(20)]
    for person in people:
        grant(person, Category.SUBSISTENCE)
    same = subsidy_batch_create(area=haibowan, year=YEAR, as_of=date(2023, 6, 30), by=None)
    other = subsidy_batch_create(area=wuhai, year=YEAR, as_of=date(2023, 6, 30), by=None)
    barrier = threading.Barrier(3)
    outcomes = []

    def confirm(batch):
        try:
            barrier.wait()
            subsidy_batch_confirm(batch=batch, by=supervisor_city)
            outcomes.append("ok")
        except ValidationError:
            outcomes.append("refused")
        finally:
            connection.close()

    # Two users confirm the same batch, and a third confirms another batch of the same year.
    threads = [threading.Thread(target=confirm, args=(b,)) for b in (same, same, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["ok", "ok", "refused"]
    assert Subsidy.objects.count() == 20
    assert Subsidy.objects.values("person").distinct().count() == 20
    total = sum(b.total for b in SubsidyBatch.objects.all())
    assert total == FIXED * 20
