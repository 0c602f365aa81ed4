"""Acting on proposals (DOMAIN §11): supplementary applications (补发) and recovery cases (追回)."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from claims_helpers import approved_application, example_a, example_b, late_grant, new_application
from django.core.exceptions import PermissionDenied, ValidationError

from beneficiaries import services as beneficiaries
from claims import corrections, recovery, services, topup
from claims.models import Application, Proposal, RecoveryCase
from core.choices import Category
from core.roles import Role, grant_role
from funds.models import Leg, Period
from funds.services import fund_for_area
from monitoring.models import Alert

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _november_2023():
    with time_machine.travel(date(2023, 11, 20), tick=False):
        yield


@pytest.fixture
def overpaid(
    near_subsistence_person,
    city_hospital,
    caseworker_haibowan,
    supervisor_city,
    django_capture_on_commit_callbacks,
):
    """Example A paid 3,500 in March; the identity in fact ended in February."""
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
    return Proposal.objects.get(person=person)


def _balance(code):
    return sum(Leg.objects.filter(subject_id=code).values_list("amount", flat=True), D("0"))


def test_a_recovery_goes_proposed_approved_notified_repaid_with_its_postings(
    overpaid, caseworker_haibowan, supervisor_city, accountant_city
):
    case = recovery.recovery_open(proposal=overpaid, by=caseworker_haibowan)
    assert (case.amount, case.status) == (D("3500.00"), RecoveryCase.Status.PROPOSED)
    overpaid.alert.refresh_from_db()
    assert overpaid.alert.status == Alert.Status.IN_PROGRESS

    case = recovery.recovery_approve(case=case, by=supervisor_city)
    assert (_balance("1201"), _balance("1202")) == (D("3500.00"), D("-3500.00"))
    case = recovery.recovery_notify(case=case, by=supervisor_city)

    first = recovery.recovery_repay(
        case=case, amount=D("1000"), paid_on=date(2023, 11, 20), reference="R1", by=accountant_city
    )
    assert first.posting == "reversal"
    assert _balance("500101") == D("-1000.00")  # the year's inpatient expense, reversed
    with pytest.raises(ValidationError):
        recovery.recovery_repay(
            case=case,
            amount=D("2600"),
            paid_on=date(2023, 11, 20),
            reference="R2",
            by=accountant_city,
        )
    recovery.recovery_repay(
        case=case, amount=D("2500"), paid_on=date(2023, 11, 20), reference="R2", by=accountant_city
    )
    case.refresh_from_db()
    assert (case.status, case.outstanding) == (RecoveryCase.Status.REPAID, D("0.00"))
    assert (_balance("1201"), _balance("1202")) == (D("0.00"), D("0.00"))
    overpaid.alert.refresh_from_db()
    assert overpaid.alert.status == Alert.Status.RESOLVED
    # The recovered money counts: re-assessing the year proposes nothing more.
    assert corrections.reassess_person_year(person=case.person, year=2023) == []


def test_a_repayment_after_the_year_is_closed_posts_to_4009(
    overpaid, caseworker_haibowan, supervisor_city, accountant_city
):
    case = recovery.recovery_open(proposal=overpaid, by=caseworker_haibowan)
    case = recovery.recovery_approve(case=case, by=supervisor_city)
    fund = fund_for_area("150300")
    Period.objects.create(fund=fund, year=2023, month=12, status=Period.Status.CLOSED)
    with time_machine.travel(date(2024, 2, 5), tick=False):
        repayment = recovery.recovery_repay(
            case=case,
            amount=D("3500"),
            paid_on=date(2024, 2, 5),
            reference="R9",
            by=accountant_city,
        )
    assert (repayment.posting, repayment.voucher.booked_on) == ("income", date(2024, 2, 5))
    assert _balance("400901") == D("-3500.00")
    assert _balance("500101") == D("0.00")  # the closed year's expense is not touched


def test_a_repayment_next_year_while_december_is_open_reverses_that_years_expense(
    overpaid, caseworker_haibowan, supervisor_city, accountant_city
):
    case = recovery.recovery_approve(
        case=recovery.recovery_open(proposal=overpaid, by=caseworker_haibowan), by=supervisor_city
    )
    with time_machine.travel(date(2024, 1, 10), tick=False):
        repayment = recovery.recovery_repay(
            case=case,
            amount=D("3500"),
            paid_on=date(2024, 1, 10),
            reference="R3",
            by=accountant_city,
        )
    assert (repayment.posting, repayment.voucher.booked_on) == ("reversal", date(2023, 12, 31))


def test_another_districts_caseworker_cannot_open_the_case(overpaid, caseworker_wuda):
    with pytest.raises(PermissionDenied):
        recovery.recovery_open(proposal=overpaid, by=caseworker_wuda)


def test_a_regional_user_cannot_approve(overpaid, caseworker_haibowan, regional_viewer):
    case = recovery.recovery_open(proposal=overpaid, by=caseworker_haibowan)
    with pytest.raises(PermissionDenied):
        recovery.recovery_approve(case=case, by=regional_viewer)


def test_the_same_person_cannot_approve_their_own_case(overpaid, supervisor_city):
    grant_role(supervisor_city, Role.CASEWORKER)  # two roles, still one person
    supervisor_city = type(supervisor_city).objects.get(pk=supervisor_city.pk)
    case = recovery.recovery_open(proposal=overpaid, by=supervisor_city)
    with pytest.raises(ValidationError, match="本人经办"):
        recovery.recovery_approve(case=case, by=supervisor_city)


def test_the_approver_cannot_record_the_repayment(overpaid, caseworker_haibowan, supervisor_city):
    grant_role(supervisor_city, Role.ACCOUNTANT)
    supervisor_city = type(supervisor_city).objects.get(pk=supervisor_city.pk)
    case = recovery.recovery_approve(
        case=recovery.recovery_open(proposal=overpaid, by=caseworker_haibowan), by=supervisor_city
    )
    with pytest.raises(ValidationError, match="本人审批"):
        recovery.recovery_repay(
            case=case,
            amount=D("1"),
            paid_on=date(2023, 11, 20),
            reference="X",
            by=supervisor_city,
        )


def test_a_benefit_after_coverage_alert_links_to_its_recovery_case(overpaid, caseworker_haibowan):
    bill_alert = Alert.objects.create(
        kind=Alert.Kind.BENEFIT_AFTER_COVERAGE,
        year=2023,
        period="2023",
        certno=overpaid.person.id_number,
        subject=overpaid.record,
        name=overpaid.person.name,
        person=overpaid.person,
        region=overpaid.person.region,
    )
    case = recovery.recovery_open(proposal=overpaid, by=caseworker_haibowan)
    assert case.benefit_alert == bill_alert
    assert list(bill_alert.recovery_cases.all()) == [case]


def test_a_rejected_bill_now_covered_becomes_a_supplementary_application_paid_as_usual(
    near_subsistence_person,
    city_hospital,
    caseworker_haibowan,
    supervisor_city,
    accountant_city,
    haibowan,
    django_capture_on_commit_callbacks,
):
    person = near_subsistence_person
    rejected = new_application(person, caseworker_haibowan, bills=[example_b(city_hospital)])
    services.application_submit(application=rejected, by=caseworker_haibowan)
    services.application_reject(application=rejected, by=supervisor_city, comment="非救助对象")
    late_grant(
        person,
        Category.SUBSISTENCE,
        start=date(2023, 1, 1),
        region=haibowan,
        by=caseworker_haibowan,
        capture=django_capture_on_commit_callbacks,
    )
    proposal = Proposal.objects.get(person=person)
    application = topup.proposal_to_application(proposal=proposal, by=caseworker_haibowan)
    assert application.kind == Application.Kind.SUPPLEMENTARY
    assert application.bills.get().invoice_number == rejected.bills.get().invoice_number
    with pytest.raises(ValidationError):  # acted on once
        topup.proposal_to_application(proposal=proposal, by=caseworker_haibowan)

    services.application_submit(application=application, by=caseworker_haibowan)
    application = services.application_approve(application=application, by=supervisor_city)
    assert application.total == proposal.due == D("3000.00")
    services.application_pay(
        application=application, reference="T1", paid_on=date(2023, 11, 20), by=accountant_city
    )
    assert _balance("500101") == D("3000.00")
    assert corrections.reassess_person_year(person=person, year=2023) == []


def _topup_end_to_end(proposal, caseworker, supervisor, accountant):
    """Proposal → supplementary application → submit → approve → pay; the bill and the
    benefit expense it posted."""
    application = topup.proposal_to_application(proposal=proposal, by=caseworker)
    bill = application.bills.get()
    assert bill.topup_of == proposal.record
    services.application_submit(application=application, by=caseworker)
    application = services.application_approve(application=application, by=supervisor)
    before = _balance("500101")
    services.application_pay(
        application=application, reference="T9", paid_on=date(2023, 11, 20), by=accountant
    )
    bill.refresh_from_db()
    return application, bill, _balance("500101") - before


def _state(person):
    from claims import adapters, selectors

    rules = adapters.engine_policy(selectors.policy_in_force("150300", date(2023, 11, 20)))
    identities = adapters.engine_identities(person.identities.all())
    return selectors.year_to_date_for(person, 2023, rules, identities, area_code="150300")


def test_an_under_assessed_approved_bill_tops_up_exactly_the_difference(
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
    late_grant(
        person,
        Category.SUBSISTENCE,
        start=date(2023, 1, 1),
        region=haibowan,
        by=caseworker_haibowan,
        capture=django_capture_on_commit_callbacks,
    )
    proposal = Proposal.objects.get()
    assert (proposal.paid, proposal.due, proposal.difference) == (D("3500"), D("7500"), D("4000"))
    application, bill, posted = _topup_end_to_end(
        proposal, caseworker_haibowan, supervisor_city, accountant_city
    )
    assert application.total == bill.total == posted == D("4000.00")
    assert bill.paid_before == D("3500.00")
    assert bill.steps[-1] == "应付 7,500.00 元，已支付 3,500.00 元，本次补发 4,000.00 元。"
    # The visit counts once: 低保 75% of 10,000 toward the cap, the tilted deductible 2,500 —
    # not the original's and the copy's together.
    state = _state(person)
    assert (state.assistance_paid, state.tilted_deductible_used) == (D("7500.00"), D("2500.00"))
    assert corrections.reassess_person_year(person=person, year=2023) == []
    # A second bill of the year is assessed against that state (the cap's room, once).
    second = new_application(person, caseworker_haibowan, bills=[example_b(city_hospital)])
    assessed = services.application_submit(application=second, by=caseworker_haibowan)
    assert assessed.total == D("3000.00")  # 4,000 × 75%; burden 1,000 inside the tilted 4,500


def test_a_settlement_the_counter_paid_tops_up_exactly_the_proposals_difference(
    near_subsistence_person,
    city_hospital,
    caseworker_haibowan,
    supervisor_city,
    accountant_city,
    haibowan,
    django_capture_on_commit_callbacks,
):
    from claims_helpers import settlement

    person = near_subsistence_person
    settlement(
        person,
        "S-OWN",
        enddate=date(2023, 7, 3),
        policy="20000",
        basic="10000",
        critical="0",
        maf_pay="3400",
    )
    late_grant(
        person,
        Category.SUBSISTENCE,
        start=date(2023, 1, 1),
        region=haibowan,
        by=caseworker_haibowan,
        capture=django_capture_on_commit_callbacks,
    )
    proposal = Proposal.objects.get()
    assert (proposal.paid, proposal.difference) == (D("3400.00"), D("4000.00"))
    application, bill, posted = _topup_end_to_end(
        proposal, caseworker_haibowan, supervisor_city, accountant_city
    )
    assert application.total == bill.total == posted == D("4000.00")
    assert bill.setl_id == "" and bill.invoice_number == "结算S-OWN-补发"
    assert "已支付 3,400.00 元，本次补发 4,000.00 元" in bill.steps[-1]
    state = _state(person)
    assert state.assistance_paid == D("7400.00")  # the counter's 3,400 and the top-up, once
    assert corrections.reassess_person_year(person=person, year=2023) == []


def test_a_top_up_no_longer_due_at_approval_is_refused(
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
    application = topup.proposal_to_application(
        proposal=Proposal.objects.get(), by=caseworker_haibowan
    )
    services.application_submit(application=application, by=caseworker_haibowan)
    granted.delete()  # the recognition withdrawn before the approval
    with pytest.raises(ValidationError, match="无需补发"):
        services.application_approve(application=application, by=supervisor_city)
    assert Application.objects.get(pk=application.pk).status == Application.Status.SUBMITTED


def test_a_benefit_after_coverage_alert_raised_later_links_to_the_open_case(
    overpaid, caseworker_haibowan
):
    from monitoring.checks import check_run

    case = recovery.recovery_open(proposal=overpaid, by=caseworker_haibowan)
    assert case.benefit_alert is None
    check_run(name="benefit_after_coverage", period="2023")
    alert = Alert.objects.get(kind=Alert.Kind.BENEFIT_AFTER_COVERAGE, subject=overpaid.record)
    case.refresh_from_db()
    assert case.benefit_alert == alert
    assert alert.status == Alert.Status.IN_PROGRESS
    assert str(case.pk) in alert.notes.get().text
    check_run(name="benefit_after_coverage", period="2023")  # a re-run changes nothing
    assert alert.notes.count() == 1
    assert list(alert.recovery_cases.all()) == [case]
