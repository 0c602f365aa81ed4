"""Retroactive re-assessment (DOMAIN §11): identity changes propose top-ups and recoveries."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from claims_helpers import (
    approved_application,
    example_a,
    example_b,
    late_grant,
    new_application,
    settlement,
)

from beneficiaries import services as beneficiaries
from claims import corrections, services
from claims.models import Proposal, ReassessmentRun
from core.choices import Category
from monitoring.models import Alert

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _november_2023():
    with time_machine.travel(date(2023, 11, 20), tick=False):
        yield


def _proposals(person, **filters):
    return {
        p.record: p
        for p in Proposal.objects.filter(person=person, **filters)
        .exclude(alert__status=Alert.Status.SUPERSEDED)
        .select_related("alert")
    }


def _rejected_application(person, preparer, approver, bills):
    application = new_application(person, preparer, bills=bills)
    services.application_submit(application=application, by=preparer)
    return services.application_reject(application=application, by=approver, comment="材料不全")


def test_changed_years_of_a_moved_end_reach_from_the_earlier_end_to_the_later_coverage_end():
    before = ("subsistence", date(2021, 3, 1), None)
    after = ("subsistence", date(2021, 3, 1), date(2022, 12, 10))
    assert corrections.changed_years(before, after, date(2023, 11, 20)) == {2022, 2023}
    assert corrections.changed_years(before, before, date(2023, 11, 20)) == set()
    moved_start = ("subsistence", date(2023, 2, 1), None)
    assert corrections.changed_years(before, moved_start, date(2023, 11, 20)) == {
        2021,
        2022,
        2023,
    }


def test_a_backdated_grant_tops_up_a_rejected_bill_and_an_under_assessed_one(
    near_subsistence_person,
    city_hospital,
    caseworker_haibowan,
    supervisor_city,
    haibowan,
    django_capture_on_commit_callbacks,
):
    person = near_subsistence_person
    approved = approved_application(
        person, caseworker_haibowan, supervisor_city, bills=[example_a(city_hospital)]
    )
    rejected = _rejected_application(
        person, caseworker_haibowan, supervisor_city, [example_b(city_hospital)]
    )
    assert approved.total == D("3500.00")

    # Civil affairs recognised the person as 低保 from 2022 — decided late.
    late_grant(
        person,
        Category.SUBSISTENCE,
        start=date(2022, 6, 1),
        region=haibowan,
        by=caseworker_haibowan,
        capture=django_capture_on_commit_callbacks,
    )

    proposals = _proposals(person)
    under = proposals[f"bill:{approved.bills.get().pk}"]
    # 低保: no deductible, 75%: s 10,000 → 7,500; tilted 2,500 absorbed by its deductible.
    assert (under.direction, under.paid, under.due, under.difference) == (
        Proposal.Direction.TOP_UP,
        D("3500.00"),
        D("7500.00"),
        D("4000.00"),
    )
    again = proposals[f"bill:{rejected.bills.get().pk}"]
    # Rejected, now covered: s 4,000 × 75% = 3,000; burden 1,000 inside the tilted deductible.
    assert (again.direction, again.paid, again.due) == (
        Proposal.Direction.TOP_UP,
        D("0.00"),
        D("3000.00"),
    )
    assert under.alert.kind == Alert.Kind.REASSESSMENT
    assert under.alert.amount == D("4000.00")
    assert any("3,500.00" in line for line in under.shown_before_steps())
    assert any("7,500.00" in line for line in under.shown_after_steps())
    assert ReassessmentRun.objects.get().status == ReassessmentRun.Status.DONE


def test_an_early_end_recovers_from_manual_and_one_stop_assistance(
    near_subsistence_person,
    city_hospital,
    caseworker_haibowan,
    supervisor_city,
    django_capture_on_commit_callbacks,
):
    person = near_subsistence_person
    approved = approved_application(
        person, caseworker_haibowan, supervisor_city, bills=[example_a(city_hospital)]
    )
    settlement(
        person,
        "S-JULY",
        enddate=date(2023, 7, 3),
        policy="20000",
        basic="10000",
        critical="0",
        maf_pay="3500",
    )
    identity = person.identities.get()
    # The identity in fact ended in February: the March and July benefits were overpaid.
    with django_capture_on_commit_callbacks(execute=True):
        beneficiaries.identity_terminate(
            identity=identity, end=date(2023, 2, 10), reason="民政终止", by=caseworker_haibowan
        )
    proposals = _proposals(person)
    manual = proposals[f"bill:{approved.bills.get().pk}"]
    onestop = proposals["setl:S-JULY"]
    assert (manual.direction, manual.difference) == (
        Proposal.Direction.RECOVERY,
        -approved.total,
    )
    assert (onestop.direction, onestop.paid, onestop.due, onestop.difference) == (
        Proposal.Direction.RECOVERY,
        D("3500.00"),
        D("0.00"),
        D("-3500.00"),
    )


def test_re_running_creates_no_duplicates_and_a_changed_amount_supersedes(
    near_subsistence_person,
    city_hospital,
    caseworker_haibowan,
    supervisor_city,
    haibowan,
    django_capture_on_commit_callbacks,
):
    person = near_subsistence_person
    approved_application(
        person, caseworker_haibowan, supervisor_city, bills=[example_a(city_hospital)]
    )
    granted = late_grant(
        person,
        Category.DESTITUTE,
        start=date(2023, 1, 1),
        region=haibowan,
        by=caseworker_haibowan,
        capture=django_capture_on_commit_callbacks,
    )
    (first,) = _proposals(person).values()
    assert first.difference == D("6500.00")  # 特困 100%: 10,000 − 3,500

    assert corrections.reassess_person_year(person=person, year=2023) == []
    assert Proposal.objects.count() == 1

    # The 特困 recognition is corrected to start after the stay: now 低保边缘 applies again
    # for March… and nothing is due; the proposal is superseded without a successor.
    with django_capture_on_commit_callbacks(execute=True):
        beneficiaries.identity_change(
            identity=granted, start=date(2023, 4, 1), reason="认定日期更正", by=caseworker_haibowan
        )
    first.alert.refresh_from_db()
    assert first.alert.status == Alert.Status.SUPERSEDED
    assert _proposals(person) == {}

    # And back to a start in February, but as 低保 (75%): a new version with a new amount.
    late_grant(
        person,
        Category.SUBSISTENCE,
        start=date(2023, 2, 1),
        region=haibowan,
        by=caseworker_haibowan,
        capture=django_capture_on_commit_callbacks,
    )
    (second,) = _proposals(person).values()
    assert (second.version, second.difference) == (2, D("4000.00"))


def test_a_change_outside_any_year_with_records_proposes_nothing(
    near_subsistence_person, caseworker_haibowan, django_capture_on_commit_callbacks
):
    identity = near_subsistence_person.identities.get()
    with django_capture_on_commit_callbacks(execute=True):
        beneficiaries.identity_terminate(
            identity=identity, end=date(2023, 10, 31), reason="迁出", by=caseworker_haibowan
        )
    assert Proposal.objects.count() == 0
    assert Alert.objects.filter(kind=Alert.Kind.REASSESSMENT).count() == 0


def test_a_settlement_moves_by_what_the_change_did_not_by_the_counters_own_rounding(
    near_subsistence_person, caseworker_haibowan, haibowan, django_capture_on_commit_callbacks
):
    # The counter paid 3,400 where the engine says 3,500 for 低保边缘: not ours to correct.
    settlement(
        near_subsistence_person,
        "S-OWN",
        enddate=date(2023, 7, 3),
        policy="20000",
        basic="10000",
        critical="0",
        maf_pay="3400",
    )
    late_grant(
        near_subsistence_person,
        Category.SUBSISTENCE,
        start=date(2023, 1, 1),
        region=haibowan,
        by=caseworker_haibowan,
        capture=django_capture_on_commit_callbacks,
    )
    (proposal,) = _proposals(near_subsistence_person).values()
    # 低保 gives 7,500 instead of 3,500: the counter's 3,400 moves by 4,000.
    assert (proposal.paid, proposal.due, proposal.difference) == (
        D("3400.00"),
        D("7400.00"),
        D("4000.00"),
    )
    # A plain re-run (no before-change identities) leaves the proposal as it is.
    assert corrections.reassess_person_year(person=near_subsistence_person, year=2023) == []
    proposal.alert.refresh_from_db()
    assert proposal.alert.status == Alert.Status.OPEN


def test_a_grant_tops_up_an_unassisted_settlement_but_not_one_the_counter_already_paid(
    haibowan, caseworker_haibowan, django_capture_on_commit_callbacks
):
    from factories import PersonFactory

    person = PersonFactory(region=haibowan)
    for setl_id, maf in (("S-PAID", "2000"), ("S-NONE", "0")):
        settlement(
            person,
            setl_id,
            enddate=date(2023, 8, 1),
            policy="10000",
            basic="6000",
            critical="0",
            maf_pay=maf,
        )
    late_grant(
        person,
        Category.SUBSISTENCE,
        start=date(2023, 1, 1),
        region=haibowan,
        by=caseworker_haibowan,
        capture=django_capture_on_commit_callbacks,
    )
    proposals = _proposals(person)
    assert set(proposals) == {"setl:S-NONE"}
    assert proposals["setl:S-NONE"].due == D("3000.00")  # 4,000 × 75%
