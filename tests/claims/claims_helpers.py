"""Builders for the claims tests: bills of DOMAIN §4's examples, applications, settlements."""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone

from claims import services
from claims.bills import bill_add

D = Decimal


def inpatient(institution, invoice, *, admitted, discharged, policy, basic, critical, **extra):
    """Bill fields of an inpatient stay; total cost = policy-range cost + 2,000."""
    return {
        "institution": institution,
        "visit_type": "inpatient",
        "admitted": admitted,
        "discharged": discharged,
        "invoice_number": invoice,
        "total_cost": D(policy) + D("2000"),
        "policy_range_cost": D(policy),
        "basic_insurance_paid": D(basic),
        "critical_illness_paid": D(critical),
        **extra,
    }


def example_a(institution, invoice="INV-A"):
    """DOMAIN §4 example A: s = 10,000 → 3,500."""
    return inpatient(
        institution,
        invoice,
        admitted=date(2023, 3, 1),
        discharged=date(2023, 3, 10),
        policy="30000",
        basic="18000",
        critical="2000",
    )


def example_b(institution, invoice="INV-B"):
    """DOMAIN §4 example B (after A): s = 4,000 → 2,800 + 420 = 3,220."""
    return inpatient(
        institution,
        invoice,
        admitted=date(2023, 5, 1),
        discharged=date(2023, 5, 8),
        policy="10000",
        basic="5000",
        critical="1000",
    )


def new_application(person, by, *, received_on=date(2023, 6, 1), bills=()):
    application = services.application_create(person=person, by=by, received_on=received_on)
    for fields in bills:
        bill_add(application=application, by=by, **fields)
    return application


def approved_application(person, preparer, approver, *, bills):
    application = new_application(person, preparer, bills=bills)
    services.application_submit(application=application, by=preparer)
    return services.application_approve(application=application, by=approver)


def settlement(
    person,
    setl_id,
    *,
    enddate,
    policy,
    basic,
    critical,
    maf_pay,
    visit="inpatient",
    code="H15030200001",
    reversal_of="",
    **extra,
):
    """A one-stop settlement row as the monitoring import stores it."""
    from monitoring.models import Settlement

    policy, basic, critical, maf_pay = D(policy), D(basic), D(critical), D(maf_pay)
    total = policy + (D("1000") if policy > 0 else D("-1000"))
    fund = basic + critical + maf_pay
    return Settlement.objects.create(
        setl_id=setl_id,
        psn_name=person.name,
        certno=person.id_number,
        insutype="390",
        med_type="21" if visit == "inpatient" else "11",
        visit_type=visit,
        begndate=enddate,
        enddate=enddate,
        year=enddate.year,
        setl_time=timezone.make_aware(datetime.combine(enddate, datetime.min.time())),
        fixmedins_code=code,
        fixmedins_name="乌海市人民医院",
        insu_admdvs_id=person.region_id,
        medfee_sumamt=total,
        inscp_scp_amt=policy,
        fulamt_ownpay_amt=total - policy,
        hifp_pay=basic,
        hifmi_pay=critical,
        maf_pay=maf_pay,
        fund_pay_sumamt=fund,
        psn_part_amt=total - fund,
        refd_setl_flag=bool(reversal_of),
        init_setl_id=reversal_of,
        **extra,
    )


def late_grant(person, category, *, start, region, by, capture):
    """An identity granted after the year's bills were decided (DOMAIN §11), with the
    re-assessment it queues after commit run: `capture` is django_capture_on_commit_callbacks."""
    from beneficiaries import services as beneficiaries

    with capture(execute=True):
        return beneficiaries.identity_grant(
            person=person, category=category, start=start, region=region, by=by
        )
