"""Demo corrections (DOMAIN §11), called by claims.demo.seed; idempotent.

- A late identity end: demo person 12 (example A, paid 3,500 for a stay ending 2023-06-28) in
  fact lost the 低保边缘 identity in May → a recovery proposal, opened and approved as a case so
  its 追回通知书 can be printed.
- A late recognition: a person whose March 2023 visit was assessed with no identity (nothing
  paid) is recognised as 低保 from January → a top-up proposal, turned into a draft
  supplementary application (补发).
"""

from datetime import date
from decimal import Decimal

from beneficiaries.demo import demo_people
from beneficiaries.models import Person
from beneficiaries.services import identity_grant, identity_terminate, person_register
from claims import bills, corrections, recovery, services, topup
from claims.models import Application, Institution, Proposal, RecoveryCase
from core import idnumber
from core.choices import Category
from core.models import Region

MARKER = "[demo:reassess-topup]"
LATE_ID = idnumber.make("150302", date(1968, 4, 12), 990)


def _late_end(users) -> int:
    number = list(demo_people())[12][1]
    person = Person.objects.filter(id_number=number).first()
    if person is None or Proposal.objects.filter(person=person).exists():
        return 0
    end = date(2023, 5, 15)
    for identity in person.identities.filter(start__lte=end, end__isnull=True):
        identity_terminate(identity=identity, end=end, reason="民政部门补录终止决定", by=None)
    made = corrections.reassess_person_year(person=person, year=2023)
    for proposal in made:
        if proposal.direction == Proposal.Direction.RECOVERY:
            case = recovery.recovery_open(proposal=proposal, by=users["caseworker"])
            recovery.recovery_approve(case=case, by=users["supervisor"])
    return len(made)


def _late_grant(users) -> int:
    if Application.objects.filter(note__startswith=MARKER).exists():
        return 0
    region = Region.objects.get(code="150302")
    person = Person.objects.filter(id_number=LATE_ID).first() or person_register(
        id_number=LATE_ID, name="高秀兰", region=region, by=None
    )
    caseworker, supervisor = users["caseworker"], users["supervisor"]
    application = services.application_create(
        person=person, by=caseworker, received_on=date(2023, 4, 6), note=f"{MARKER} 演示数据"
    )
    bills.bill_add(
        application=application,
        by=caseworker,
        institution=Institution.objects.get(code="H15030200001"),
        visit_type="inpatient",
        admitted=date(2023, 3, 20),
        discharged=date(2023, 3, 29),
        invoice_number="DEMO-0101",
        total_cost=Decimal("26000"),
        policy_range_cost=Decimal("24000"),
        basic_insurance_paid=Decimal("14000"),
        critical_illness_paid=Decimal("1000"),
    )
    services.application_submit(application=application, by=caseworker)
    services.application_approve(application=application, by=supervisor, comment="暂无救助身份")
    # Civil affairs' decision arrives in May, effective from January.
    identity_grant(
        person=person,
        category=Category.SUBSISTENCE,
        start=date(2023, 1, 1),
        region=region,
        document="海民低保〔2023〕17号",
        by=None,
    )
    made = corrections.reassess_person_year(person=person, year=2023)
    for proposal in made:
        if proposal.direction == Proposal.Direction.TOP_UP and not topup.topup_refusal(proposal):
            topup.proposal_to_application(proposal=proposal, by=caseworker)
    return len(made)


def seed(*, users) -> dict[str, int]:
    corrections.discard_pending()  # the demo's base identities are history, not late changes
    made = _late_end(users) + _late_grant(users)
    return {
        "claims_reassessment_proposals_created": made,
        "claims_recovery_cases": RecoveryCase.objects.count(),
    }
