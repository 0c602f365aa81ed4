"""Demo institutions and applications in every state (used by `seed_demo`); idempotent.

Most dates are relative to today so the processing-time figures stay meaningful: one draft and
one submitted application are past the 20-working-day limit. The near-subsistence person of
海勃湾区 walks through DOMAIN §4 examples A (paid in July 2023: 3,500.00, so the fund's demo
month 2023-07 carries a benefit posting) and B (July 2023 bill awaiting approval: 3,220.00 once
A's deductible is used). Paid applications post to the fund through `application_pay`, like
any payment.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal as D

from django.db import transaction
from django.utils import timezone

from beneficiaries.demo import demo_people
from beneficiaries.models import Person
from claims import bills, services
from claims.models import Application, Institution, Transition
from core.choices import VisitType
from core.dates import shanghai_today

INSTITUTIONS = [
    # code (fixmedins_code), name, level, admdvs, designated
    ("H15030200001", "乌海市人民医院", 3, "150302", True),
    ("H15030200002", "乌海市海勃湾区人民医院", 2, "150302", True),
    ("H15030200003", "乌海市第二人民医院", 2, "150302", True),
    ("H15030300001", "乌海市海南区人民医院", 2, "150303", True),
    ("H15030400001", "乌海市乌达区人民医院", 2, "150304", True),
    ("H15010200001", "内蒙古医科大学附属医院", 3, "150102", True),
    ("H11010200001", "北京协和医院", 3, "110102", True),
    ("P15030200101", "海勃湾区康民诊所", 1, "150302", False),
]

C = Application.Channel
K = Application.Kind
INPATIENT = VisitType.INPATIENT
CHRONIC = VisitType.CHRONIC_OUTPATIENT
GENERAL = VisitType.GENERAL_OUTPATIENT


def _bill(code, visit, days_ago, invoice, total, policy, basic, critical, *, stay=10, **extra):
    return {
        "institution": code,
        "visit_type": visit,
        "days_ago": days_ago,
        "stay": stay,
        "invoice_number": invoice,
        "total_cost": D(total),
        "policy_range_cost": D(policy),
        "basic_insurance_paid": D(basic),
        "critical_illness_paid": D(critical),
        **extra,
    }


# key, demo person index, preparer, received days ago, channel, kind, target status, bills
PLAN = [
    (
        "example-a",
        12,
        "caseworker",
        date(2023, 7, 3),
        C.COUNTER,
        K.REIMBURSEMENT,
        "paid",
        [
            _bill(
                "H15030200001",
                INPATIENT,
                date(2023, 6, 28),
                "DEMO-0001",
                "32000",
                "30000",
                "18000",
                "2000",
            )
        ],
    ),
    (
        "example-b",
        12,
        "caseworker",
        date(2023, 7, 20),
        C.COUNTER,
        K.REIMBURSEMENT,
        "submitted",
        [
            _bill(
                "H15030300001",
                INPATIENT,
                date(2023, 7, 15),
                "DEMO-0002",
                "11000",
                "10000",
                "5000",
                "1000",
            )
        ],
    ),
    (
        "destitute-chronic",
        0,
        "caseworker",
        12,
        C.ENTRUSTED,
        K.REIMBURSEMENT,
        "approved",
        [
            _bill("H15030200003", CHRONIC, 20, "DEMO-0003", "3200", "3000", "1800", "0"),
            _bill("H15030200002", GENERAL, 15, "DEMO-0004", "460", "420", "210", "0"),
        ],
    ),
    (
        "poverty-risk-draft",
        3,
        "caseworker",
        2,
        C.COUNTER,
        K.ON_APPLICATION,
        "draft",
        [_bill("H15030200002", GENERAL, 6, "DEMO-0005", "980", "900", "450", "0")],
    ),
    (
        "clinic-rejected",
        18,
        "caseworker",
        16,
        C.COUNTER,
        K.REIMBURSEMENT,
        "rejected",
        [_bill("P15030200101", GENERAL, 20, "DEMO-0006", "620", "600", "0", "0")],
    ),
    (
        "hohhot-overdue",
        21,
        "caseworker",
        40,
        C.ENTRUSTED,
        K.REIMBURSEMENT,
        "submitted",
        [
            _bill(
                "H15010200001",
                INPATIENT,
                48,
                "DEMO-0007",
                "58000",
                "52000",
                "30000",
                "6000",
                stay=14,
                referred=True,
            )
        ],
    ),
    (
        "beijing-draft-overdue",
        6,
        "caseworker",
        35,
        C.OTHER,
        K.ON_APPLICATION,
        "draft",
        [_bill("H11010200001", INPATIENT, 42, "DEMO-0008", "86000", "70000", "42000", "8000")],
    ),
    (
        "wuda-submitted",
        2,
        "caseworker_wuda",
        3,
        C.COUNTER,
        K.REIMBURSEMENT,
        "submitted",
        [_bill("H15030400001", INPATIENT, 9, "DEMO-0009", "15000", "14000", "8000", "1200")],
    ),
]

DOCUMENTS = ["id_card", "invoices", "expense_list", "discharge_summary", "bank_account"]


def seed_institutions() -> int:
    for code, name, level, admdvs, designated in INSTITUTIONS:
        # get_or_create, not update_or_create: a re-run must not add history rows.
        Institution.objects.get_or_create(
            code=code,
            defaults={"name": name, "level": level, "admdvs": admdvs, "designated": designated},
        )
    return len(INSTITUTIONS)


def _on(day: date, when: "int | date") -> date:
    """A plan date: days before `day`, or a fixed date."""
    return when if isinstance(when, date) else day - timedelta(days=when)


def _renumber(application, year: int) -> None:
    """The form number of the year it was approved in (WH-2023-…), not of the seeding day;
    the number it took this year is handed back when it was the last one."""
    from claims.models import FormSequence

    old = application.form_number
    _prefix, old_year, old_seq = old.rsplit("-", 2)
    if int(old_year) == year:
        return
    with transaction.atomic():
        number = services._next_form_number(application, year)
        Application.objects.filter(pk=application.pk).update(form_number=number)
        FormSequence.objects.filter(
            area=application.area, year=int(old_year), last=int(old_seq)
        ).update(last=int(old_seq) - 1)


def _backdate(application) -> None:
    """Demo only: an application of an earlier year was submitted and decided back then
    (recorded after the fact), so its timestamps and transition log say so."""
    submitted = datetime.combine(
        application.received_on + timedelta(days=1),
        time(9, 30),
        tzinfo=timezone.get_current_timezone(),
    )
    decided = submitted + timedelta(days=7)
    Application.objects.filter(pk=application.pk).update(
        submitted_at=submitted, decided_at=decided if application.decided_at else None
    )
    if application.form_number and application.decided_at:
        _renumber(application, decided.year)
    for transition in application.transitions.order_by("id"):
        stamp = decided if transition.to_status in {"approved", "rejected"} else submitted
        Transition.objects.filter(pk=transition.pk).update(at=stamp)
    application.refresh_from_db()


def seed(*, users) -> dict[str, int]:
    seed_institutions()
    people = list(demo_people())
    institutions = {i.code: i for i in Institution.objects.all()}
    day = shanghai_today()
    created = 0
    for key, index, preparer, received, channel, kind, target, bill_specs in PLAN:
        marker = f"[demo:{key}]"
        if Application.objects.filter(note__startswith=marker).exists():
            continue
        person = Person.objects.filter(id_number=people[index][1]).first()
        if person is None:
            continue
        by = users[preparer]
        application = services.application_create(
            person=person,
            by=by,
            received_on=_on(day, received),
            channel=channel,
            kind=kind,
            documents=DOCUMENTS,
            bank_name="中国农业银行乌海分行",
            bank_account=f"6228 4801 {index:04d} 2023",
            note=f"{marker} 演示数据",
        )
        for spec in bill_specs:
            spec = dict(spec)
            end = _on(day, spec.pop("days_ago"))
            stay = spec.pop("stay")
            spec["institution"] = institutions[spec["institution"]]
            if spec["visit_type"] == INPATIENT:
                spec["admitted"], spec["discharged"] = end - timedelta(days=stay), end
            else:
                spec["service_date"] = end
            bills.bill_add(application=application, by=by, **spec)
        created += 1
        if target == "draft":
            continue
        services.application_submit(application=application, by=by)
        if target == "submitted":
            if application.received_on.year < day.year:
                _backdate(application)
            continue
        supervisor = users["supervisor"]
        if target == "rejected":
            services.application_reject(
                application=application,
                by=supervisor,
                comment="非定点医药机构的费用，不予救助（R(十五)）。",
            )
            continue
        application = services.application_approve(
            application=application, by=supervisor, comment="材料齐全，同意救助。"
        )
        if application.received_on.year < day.year:
            _backdate(application)
        if target == "paid":
            paid_on = min(day, application.received_on + timedelta(days=15))
            services.application_pay(
                application=application,
                reference=f"NYH{paid_on:%Y%m%d}{application.pk:04d}",
                paid_on=paid_on,
                by=users["accountant"],  # the fund accountant records payments (§8)
            )
    from claims import demo_corrections

    return {
        "claims_institutions": Institution.objects.count(),
        "claims_applications_created": created,
        **demo_corrections.seed(users=users),  # DOMAIN §11: one recovery, one top-up
    }
