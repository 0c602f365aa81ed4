"""The monthly cross-checks of DOMAIN §7: cases that must and must not alert, re-runs."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from factories import IdentityFactory, PersonFactory
from monitoring_helpers import certno, srow

from beneficiaries.models import Enrollment, RosterBatch, Subsidy, SubsidyBatch
from core.choices import Category, Department
from core.coverage import identity_covers as covers
from core.models import Region
from monitoring.checks import check_run
from monitoring.checks.cross import reversals_of
from monitoring.models import Alert

pytestmark = pytest.mark.django_db


def person(n, region="150302"):
    return PersonFactory(id_number=certno(n, region), region=Region.objects.get(code=region))


def run(name, period="2023", **kwargs):
    result = check_run(name=name, period=period, **kwargs)
    assert result.outcome == "success", result.error
    return result


def enrol(p, year=2023, scheme=Enrollment.Scheme.RESIDENT):
    return Enrollment.objects.create(person=p, year=year, scheme=scheme, area=p.region)


def alerts(kind):
    return list(Alert.objects.filter(kind=kind).order_by("certno", "subject"))


# --- uninsured -----------------------------------------------------------------------------


def test_a_beneficiary_with_no_enrollment_is_uninsured_with_a_subsidy_proposal():
    destitute, enrolled, no_identity = person(1), person(2), person(3)
    IdentityFactory(person=destitute, category=Category.DESTITUTE, start=date(2022, 1, 1))
    IdentityFactory(person=enrolled, category=Category.SUBSISTENCE, start=date(2022, 1, 1))
    enrol(enrolled)
    run("uninsured")
    (alert,) = alerts("uninsured")
    assert alert.person == destitute
    assert alert.amount == Decimal("380.00")  # destitute: the full contribution standard
    assert no_identity.id_number not in {a.certno for a in alerts("uninsured")}


def test_an_identity_ended_before_the_reference_month_is_not_active():
    p = person(1)
    IdentityFactory(person=p, category=Category.SUBSISTENCE, end=date(2023, 11, 30))
    run("uninsured")
    assert alerts("uninsured") == []


def test_an_uninsured_alert_closes_when_the_person_enrols_and_reruns_do_not_duplicate():
    p = person(1)
    IdentityFactory(person=p, category=Category.SUBSISTENCE, start=date(2022, 1, 1))
    run("uninsured")
    assert (run("uninsured").alerts_created, Alert.objects.count()) == (0, 1)
    enrol(p)
    closing = run("uninsured")
    assert closing.alerts_closed == 1
    assert Alert.objects.get().status == "closed"


# --- duplicate enrollment ----------------------------------------------------------------


def test_more_than_one_enrollment_in_a_year_is_a_duplicate():
    twice, once, other_years = person(1), person(2), person(3)
    enrol(twice)
    enrol(twice, scheme=Enrollment.Scheme.EMPLOYEE)
    enrol(once)
    enrol(other_years, 2022)
    enrol(other_years, 2023)
    run("duplicate_enrollment")
    (alert,) = alerts("duplicate_enrollment")
    assert alert.person == twice and len(alert.evidence["enrollments"]) == 2


# --- subsidy without identity ------------------------------------------------------------


def _subsidy(p, identity, year=2023):
    batch = SubsidyBatch.objects.create(
        area=Region.objects.get(code="150300"), year=year, as_of=date(year - 1, 12, 1)
    )
    return Subsidy.objects.create(
        person=p,
        year=year,
        category=identity.category,
        rule=Subsidy.Rule.FIXED,
        amount=Decimal("171.00"),
        identity=identity,
        batch=batch,
        area=batch.area,
    )


def test_a_subsidy_without_a_qualifying_identity_or_to_an_employee_enrollee_alerts():
    proper, lapsed, employee = person(1), person(2), person(3)
    ok = IdentityFactory(person=proper, category=Category.SUBSISTENCE, start=date(2022, 1, 1))
    gone = IdentityFactory(
        person=lapsed, category=Category.SUBSISTENCE, start=date(2020, 1, 1), end=date(2021, 5, 1)
    )
    held = IdentityFactory(person=employee, category=Category.POVERTY_RISK, start=date(2022, 1, 1))
    enrol(proper)
    enrol(employee, scheme=Enrollment.Scheme.EMPLOYEE)
    for p, i in ((proper, ok), (lapsed, gone), (employee, held)):
        _subsidy(p, i)
    run("subsidy_without_identity")
    found = {a.certno: a.message for a in alerts("subsidy_without_identity")}
    assert set(found) == {lapsed.id_number, employee.id_number}
    assert "职工医保" in found[employee.id_number]


# --- settlements: coverage, benefits after coverage, missed reimbursements ----------------


@pytest.mark.parametrize(
    ("start", "end", "visit", "admitted", "discharged", "covered"),
    [
        # DOMAIN §3 example E: ended 2023-05-10.
        (
            date(2023, 1, 1),
            date(2023, 5, 10),
            "inpatient",
            date(2023, 5, 8),
            date(2023, 5, 20),
            False,
        ),
        (date(2023, 1, 1), date(2023, 5, 10), "general_outpatient", None, date(2023, 5, 25), True),
        (date(2023, 1, 1), date(2023, 5, 10), "general_outpatient", None, date(2023, 6, 1), False),
        # Example F: gained during the stay.
        (date(2023, 3, 15), None, "inpatient", date(2023, 3, 10), date(2023, 3, 20), True),
        # Ended before admission, discharged inside the coverage month.
        (
            date(2023, 1, 1),
            date(2023, 5, 2),
            "inpatient",
            date(2023, 5, 5),
            date(2023, 5, 30),
            True,
        ),
    ],
)
def test_coverage_of_a_settlement_follows_domain_3(
    start, end, visit, admitted, discharged, covered
):
    identity = IdentityFactory.build(start=start, end=end)
    assert covers(identity, visit, admitted or discharged, discharged) is covered


def test_assistance_paid_after_coverage_end_is_an_overpayment(import_rows):
    p, covered = person(1), person(2)
    IdentityFactory(person=p, category=Category.SUBSISTENCE, end=date(2023, 4, 10))
    IdentityFactory(person=covered, category=Category.SUBSISTENCE)
    maf = {"maf_pay": "300.00", "hifp_pay": "200.00", "fund_pay_sumamt": "600.00"}
    import_rows(
        [
            srow("IN", p.id_number, enddate="2023-04-28", med_type="11", **maf),  # in coverage
            srow("AFTER", p.id_number, enddate="2023-05-03", med_type="11", **maf),
            srow("OK", covered.id_number, enddate="2023-05-03", med_type="11", **maf),
        ]
    )
    run("benefit_after_coverage")
    (alert,) = alerts("benefit_after_coverage")
    assert (alert.subject, alert.amount) == ("AFTER", Decimal("300.00"))
    assert "2023-04-30" in alert.message


def test_a_reversed_assistance_is_not_an_overpayment(import_rows):
    p = person(1)
    maf = {"maf_pay": "300.00", "hifp_pay": "200.00", "fund_pay_sumamt": "600.00"}
    negated = {k: f"-{v}" for k, v in maf.items()}
    import_rows(
        [srow("S1", p.id_number, **maf), srow("R1", p.id_number, reversal_of="S1", **negated)]
    )
    run("benefit_after_coverage")
    assert alerts("benefit_after_coverage") == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans of PostgreSQL")
def test_reversals_are_found_through_the_partial_index_of_reversal_rows(import_rows):
    """The monthly checks net each settlement with its reversals; on a table of tens of
    millions the lookup must not scan it (it is indexed for reversal rows only)."""
    p = person(1)
    maf = {"maf_pay": "300.00", "hifp_pay": "200.00", "fund_pay_sumamt": "600.00"}
    negated = {k: f"-{v}" for k, v in maf.items()}
    import_rows(
        [
            srow("S1", p.id_number, **maf),
            srow("S2", p.id_number),
            srow("R1", p.id_number, reversal_of="S1", **negated),
        ]
    )
    found = reversals_of(["S1", "S2"])
    assert [(r["init_setl_id"], r["maf_pay"]) for r in found] == [("S1", Decimal("-300.00"))]
    with connection.cursor() as cursor:
        # A tiny table would be scanned anyway: ask whether the index can serve the query.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        plan = found.explain()
    # The partial index (per year's partition on PostgreSQL: `…_y2023_init_setl_id_idx`).
    assert re.search(r"Index Scan using (settlement_reversal_target|\S+_init_setl_id_idx)", plan)
    assert "Seq Scan" not in plan


def test_a_beneficiarys_inpatient_settlement_without_assistance_is_a_missed_reimbursement(
    import_rows,
):
    p, outpatient, not_holder, assisted = person(1), person(2), person(3), person(4)
    for holder in (p, outpatient, assisted):
        IdentityFactory(person=holder, category=Category.NEAR_SUBSISTENCE)
    maf = {"maf_pay": "300.00", "hifp_pay": "200.00", "fund_pay_sumamt": "600.00"}
    import_rows(
        [
            srow("MISS", p.id_number, "2500", enddate="2023-06-12"),
            srow("OUT", outpatient.id_number, enddate="2023-06-12", med_type="11"),
            srow("NOID", not_holder.id_number, enddate="2023-06-12"),
            srow("PAID", assisted.id_number, enddate="2023-06-12", **maf),
            srow("MAY", p.id_number, enddate="2023-05-12"),
        ]
    )
    run("missed_reimbursement", "2023-06")
    (alert,) = alerts("missed_reimbursement")
    assert (alert.certno, alert.subject, alert.amount) == (p.id_number, "MISS", Decimal("2500.00"))
    assert alert.evidence["setl_ids"] == ["MISS"]


# --- out-of-catalog ratio -----------------------------------------------------------------


def test_an_institution_above_its_levels_out_of_catalog_limit_alerts(import_rows):
    from claims.models import Institution

    Institution.objects.create(code="H2", name="二级医院", level=2, admdvs="150302")
    Institution.objects.create(code="H3", name="三级医院", level=3, admdvs="150302")
    c = certno(1)
    # Level 2: 60 of 1000 = 6% > 5%. Level 3: 100 of 1000 = 10%, not above 10%.
    import_rows(
        [
            srow("A", c, fixmedins_code="H2", fulamt_ownpay_amt="60.00", enddate="2023-06-01"),
            srow("B", c, fixmedins_code="H3", fulamt_ownpay_amt="100.00", enddate="2023-06-02"),
            srow("C", c, fixmedins_code="H2", fulamt_ownpay_amt="60.00", enddate="2023-07-01"),
        ]
    )
    run("out_of_catalog", "2023-06")
    (alert,) = alerts("out_of_catalog")
    assert (alert.subject, alert.amount, alert.region_id) == (
        "H2:2023-06",
        Decimal("60.00"),
        "150302",
    )


# --- roster -------------------------------------------------------------------------------


def test_an_identity_missing_from_the_latest_roster_of_its_department_alerts():
    confirmed, missing, other_department = person(1), person(2), person(3)
    roster = RosterBatch.objects.create(
        department=Department.CIVIL_AFFAIRS,
        region=Region.objects.get(code="150302"),
        as_of=date(2023, 7, 1),
        file_name="r.csv",
        status=RosterBatch.Status.APPLIED,
    )
    IdentityFactory(person=confirmed, start=date(2022, 1, 1), last_roster=roster)
    IdentityFactory(person=missing, start=date(2022, 1, 1))
    IdentityFactory(
        person=other_department,
        start=date(2022, 1, 1),
        department=Department.RURAL_REVITALIZATION,
        category=Category.POVERTY_RISK,
    )
    run("roster_unconfirmed")
    (alert,) = alerts("roster_unconfirmed")
    assert alert.person == missing


def test_every_check_runs_on_an_empty_database_for_a_month():
    from monitoring.checks import check_names

    for name in check_names():
        assert run(name, "2023-06").alerts_created == 0


def test_a_settlement_claimed_by_a_manual_bill_is_not_a_missed_reimbursement(
    import_rows, caseworker_haibowan
):
    from test_high_cost import _manual_bill

    p = person(1)
    IdentityFactory(person=p, category=Category.NEAR_SUBSISTENCE)
    import_rows([srow("CLAIMED", p.id_number, "2500", enddate="2023-06-12")])
    _manual_bill(
        p,
        caseworker_haibowan,
        status="submitted",
        total_cost="3100",
        basic="600",
        assistance="0",
        setl_id="CLAIMED",
    )
    run("missed_reimbursement", "2023-06")
    assert alerts("missed_reimbursement") == []


def test_assistance_approved_on_a_bill_no_identity_covers_is_an_overpayment(caseworker_haibowan):
    from test_high_cost import _manual_bill

    lapsed, covered = person(1), person(2)
    IdentityFactory(person=lapsed, category=Category.SUBSISTENCE, end=date(2023, 6, 15))
    IdentityFactory(person=covered, category=Category.SUBSISTENCE)
    bill = _manual_bill(
        lapsed,
        caseworker_haibowan,
        status="paid",
        total_cost="5000",
        basic="2000",
        assistance="2250.00",
    )  # stay 2023-08-01 → 08-10, after coverage ended 2023-06-30
    _manual_bill(
        covered,
        caseworker_haibowan,
        status="paid",
        total_cost="5000",
        basic="2000",
        assistance="2250.00",
        n=2,
    )
    run("benefit_after_coverage")
    (alert,) = alerts("benefit_after_coverage")
    assert (alert.subject, alert.amount) == (f"bill:{bill.pk}", Decimal("2250.00"))
