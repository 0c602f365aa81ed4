"""Data for the chunked cross checks (monitoring.check_chunks): persons over two districts that
each per-person check alerts for, or not, and a change that closes, updates and adds alerts."""

from datetime import date
from decimal import Decimal

from factories import IdentityFactory, PersonFactory
from monitoring_helpers import certno, srow

from beneficiaries.models import Enrollment, Identity, RosterBatch, Subsidy, SubsidyBatch
from core.choices import Category, Department
from core.models import Region

PER_PERSON = [
    "uninsured",
    "duplicate_enrollment",
    "subsidy_without_identity",
    "benefit_after_coverage",
    "missed_reimbursement",
    "roster_unconfirmed",
]
PERSONS = 18
MAF = {"maf_pay": "300.00", "hifp_pay": "200.00", "fund_pay_sumamt": "600.00"}


def _person(n):
    region = "150302" if n % 2 else "150304"
    return PersonFactory(id_number=certno(n, region), region=Region.objects.get(code=region))


def _enrol(p, scheme=Enrollment.Scheme.RESIDENT):
    return Enrollment.objects.create(person=p, year=2023, scheme=scheme, area=p.region)


def _subsidy(p, identity):
    batch = SubsidyBatch.objects.create(
        area=Region.objects.get(code="150300"), year=2023, as_of=date(2022, 12, 1)
    )
    Subsidy.objects.create(
        person=p,
        year=2023,
        category=identity.category,
        rule=Subsidy.Rule.FIXED,
        amount=Decimal("171.00"),
        identity=identity,
        batch=batch,
        area=batch.area,
    )


def _identity(p, n):
    kind = n % 4
    if kind == 0:
        return IdentityFactory(person=p, category=Category.SUBSISTENCE, start=date(2022, 1, 1))
    if kind == 1:
        return IdentityFactory(person=p, category=Category.DESTITUTE, start=date(2022, 1, 1))
    if kind == 2:
        return IdentityFactory(person=p, category=Category.NEAR_SUBSISTENCE, start=date(2022, 1, 1))
    return IdentityFactory(  # ended: covered up to 2023-04-30
        person=p, category=Category.SUBSISTENCE, start=date(2020, 1, 1), end=date(2023, 4, 10)
    )


def build(import_rows, caseworker):
    """Sixteen persons with identities (two without), enrollments, subsidies, settlements, a
    roster of Haibowan and a manual bill; returns the persons by number."""
    from test_high_cost import _manual_bill

    roster = RosterBatch.objects.create(
        department=Department.CIVIL_AFFAIRS,
        region=Region.objects.get(code="150302"),
        as_of=date(2023, 7, 1),
        file_name="r.csv",
        status=RosterBatch.Status.APPLIED,
    )
    persons, rows = {}, []
    for n in range(1, PERSONS + 1):
        p = persons[n] = _person(n)
        if n <= 16:
            identity = _identity(p, n)
            if n < 8 and n % 2:
                Identity.objects.filter(pk=identity.pk).update(last_roster=roster)
            if n % 5 in (0, 1):
                _subsidy(p, identity)
        if n % 3 >= 1:
            _enrol(p)
        if n % 3 == 2:
            _enrol(p, Enrollment.Scheme.EMPLOYEE)  # twice: a duplicate
        region = p.region_id
        rows += [
            srow(f"M{n}", p.id_number, f"{1000 + n}.00", enddate="2023-06-12", insu_admdvs=region),
            srow(f"P{n}", p.id_number, enddate="2023-05-03", med_type="11", insu_admdvs=region, **MAF),
        ]  # fmt: skip
    rows.append(srow("X1", certno(99, "150303"), enddate="2023-05-03", insu_admdvs="150303", **MAF))
    import_rows(rows)
    _manual_bill(
        persons[3], caseworker, status="paid", total_cost="5000", basic="2000", assistance="2250"
    )
    return persons


def change(persons, import_rows):
    """What a month brings: alerts to close, to update and to add, in both districts."""
    _enrol(persons[6])  # uninsured no more (Wuda, then Haibowan)
    _enrol(persons[9])
    Enrollment.objects.filter(person=persons[5], scheme=Enrollment.Scheme.EMPLOYEE).delete()
    IdentityFactory(person=persons[18], category=Category.POVERTY_RISK, start=date(2022, 6, 1))
    Identity.objects.filter(person=persons[7]).update(end=date(2023, 5, 20))  # covers May
    Identity.objects.filter(person=persons[9]).update(last_roster=RosterBatch.objects.get())
    negated = {k: f"-{v}" for k, v in MAF.items()}
    import_rows(
        [
            srow("RP11", persons[11].id_number, enddate="2023-05-03", med_type="11",
                 reversal_of="P11", insu_admdvs="150302", **negated),
            srow("M2B", persons[2].id_number, "777.00", enddate="2023-06-20",
                 insu_admdvs="150304"),
            srow("M1B", persons[1].id_number, "888.00", enddate="2023-06-21",
                 insu_admdvs="150302"),
        ]
    )  # fmt: skip
