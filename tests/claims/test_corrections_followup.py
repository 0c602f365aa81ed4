"""A later change to a proposal already acted on (DOMAIN §11): a new proposal for the rest."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from claims_helpers import approved_application, example_a, late_grant

from beneficiaries import services as beneficiaries
from claims import corrections, recovery, services, topup
from claims.models import Proposal
from core.choices import Category
from monitoring.models import Alert

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _november_2023():
    with time_machine.travel(date(2023, 11, 20), tick=False):
        yield


def _live(person):
    return list(
        Proposal.objects.filter(person=person)
        .exclude(alert__status=Alert.Status.SUPERSEDED)
        .order_by("version")
    )


def test_a_change_after_a_recovery_case_proposes_the_rest_and_names_the_case(
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
    with django_capture_on_commit_callbacks(execute=True):
        beneficiaries.identity_terminate(
            identity=person.identities.get(),
            end=date(2023, 2, 10),
            reason="民政终止",
            by=caseworker_haibowan,
        )
    earlier = Proposal.objects.get()
    case = recovery.recovery_open(proposal=earlier, by=caseworker_haibowan)
    assert case.amount == D("3500.00")
    # Civil affairs then recognise the person as 低保 from March: the stay is covered again,
    # at 7,500. The case takes back 3,500, so 7,500 is still to pay.
    late_grant(
        person,
        Category.SUBSISTENCE,
        start=date(2023, 3, 1),
        region=haibowan,
        by=caseworker_haibowan,
        capture=django_capture_on_commit_callbacks,
    )
    earlier.refresh_from_db()
    assert earlier.alert.status == Alert.Status.IN_PROGRESS  # acted on: not superseded
    later = Proposal.objects.exclude(pk=earlier.pk).get()
    assert (later.record, later.version) == (earlier.record, 2)
    assert (later.direction, later.paid, later.due, later.difference) == (
        Proposal.Direction.TOP_UP,
        D("0.00"),
        D("7500.00"),
        D("7500.00"),
    )
    note = later.alert.notes.get().text
    assert earlier.alert.subject in note and f"#{case.pk}" in note
    assert later.alert.evidence["follows"] == earlier.alert.subject
    assert corrections.reassess_person_year(person=person, year=2023) == []  # no duplicate


def test_a_change_after_a_paid_top_up_recovers_what_it_paid_too_much(
    near_subsistence_person,
    city_hospital,
    caseworker_haibowan,
    supervisor_city,
    accountant_city,
    haibowan,
    django_capture_on_commit_callbacks,
):
    person = near_subsistence_person
    approved_application(
        person, caseworker_haibowan, supervisor_city, bills=[example_a(city_hospital)]
    )
    granted = late_grant(
        person,
        Category.SUBSISTENCE,
        start=date(2023, 1, 1),
        region=haibowan,
        by=caseworker_haibowan,
        capture=django_capture_on_commit_callbacks,
    )
    earlier = Proposal.objects.get()
    application = topup.proposal_to_application(proposal=earlier, by=caseworker_haibowan)
    services.application_submit(application=application, by=caseworker_haibowan)
    services.application_approve(application=application, by=supervisor_city)
    services.application_pay(
        application=application, reference="T1", paid_on=date(2023, 11, 20), by=accountant_city
    )
    # The 低保 recognition in fact ended in February: the March stay was 低保边缘 after all.
    with django_capture_on_commit_callbacks(execute=True):
        beneficiaries.identity_terminate(
            identity=granted, end=date(2023, 2, 10), reason="认定有误", by=caseworker_haibowan
        )
    later = Proposal.objects.exclude(pk=earlier.pk).get()
    # Paid 3,500 + 4,000; due 3,500 again: recover the 4,000 top-up.
    assert (later.direction, later.paid, later.due, later.difference) == (
        Proposal.Direction.RECOVERY,
        D("7500.00"),
        D("3500.00"),
        D("-4000.00"),
    )
    assert f"#{application.pk}" in later.alert.notes.get().text
    assert [p.pk for p in _live(person)] == [earlier.pk, later.pk]


def test_a_change_while_the_supplementary_bill_is_under_way_is_noted_not_proposed(
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
        Category.SUBSISTENCE,
        start=date(2023, 1, 1),
        region=haibowan,
        by=caseworker_haibowan,
        capture=django_capture_on_commit_callbacks,
    )
    earlier = Proposal.objects.get()
    application = topup.proposal_to_application(proposal=earlier, by=caseworker_haibowan)
    with django_capture_on_commit_callbacks(execute=True):
        beneficiaries.identity_terminate(
            identity=granted, end=date(2023, 2, 10), reason="认定有误", by=caseworker_haibowan
        )
    # Its approval re-assesses the stay under the identities then: no second proposal, a note.
    assert list(Proposal.objects.all()) == [earlier]
    assert f"#{application.pk}" in earlier.alert.notes.last().text
    assert corrections.reassess_person_year(person=person, year=2023) == []
    assert earlier.alert.notes.filter(text__contains="重新测算").count() == 1
