"""Demo persons, identities and enrollments for Wuhai (used by `seed_demo`); idempotent.

The roster in `demo_data/` is the civil-affairs list of 海勃湾区 on 2023-07-01 relative to these
identities: importing it from the UI shows new, changed, unchanged and terminated identities.
Enrollments for 2023 leave a few persons uninsured, enrol one twice and one in employee
insurance, so the monthly cross-checks (DOMAIN §7) have something to find.
"""

import random
from datetime import date

from beneficiaries.models import Enrollment, Identity, Person
from beneficiaries.services import enrollment_record, identity_grant, person_register
from core import idnumber
from core.choices import Category, Department
from core.models import Region

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蔡蒋余"
GIVEN = "建国秀兰志强桂英海燕玉梅春花文斌丽娟永红金山宝音其其格巴特尔乌云娜仁卫东淑珍德胜"

# (category, department, start) for the first persons; the rest get none or random ones.
PLAN = [
    (Category.DESTITUTE, Department.CIVIL_AFFAIRS, date(2021, 3, 1)),
    (Category.SUBSISTENCE, Department.CIVIL_AFFAIRS, date(2022, 6, 15)),
    (Category.SUBSISTENCE, Department.CIVIL_AFFAIRS, date(2023, 2, 1)),
    (Category.POVERTY_RISK, Department.RURAL_REVITALIZATION, date(2022, 9, 1)),
    (Category.NEAR_SUBSISTENCE, Department.CIVIL_AFFAIRS, date(2022, 11, 20)),
    (Category.NEAR_SUBSISTENCE, Department.CIVIL_AFFAIRS, date(2023, 1, 5)),
    (Category.ILLNESS_IMPOVERISHED, Department.CIVIL_AFFAIRS, date(2023, 4, 10)),
    (Category.DESTITUTE, Department.CIVIL_AFFAIRS, date(2020, 1, 1)),
]

DISTRICTS = ["150302", "150303", "150304"]

DEMO_ROSTER_NAME = "roster_civil_affairs_150302_2023-07-01.csv"
DEMO_YEAR = 2023
# Demo person index -> how they are (not) enrolled for DEMO_YEAR.
UNINSURED = {5, 11, 20, 29}  # 漏保: no enrollment
DUPLICATE = 13  # 重复参保: enrolled twice
EMPLOYEE = 4  # 职工医保


def demo_people(count: int = 36):
    """Deterministic (name, id_number, region code, residence) tuples."""
    rng = random.Random(2023)
    for i in range(count):
        region = DISTRICTS[i % len(DISTRICTS)]
        birth = date(rng.randint(1940, 2010), rng.randint(1, 12), rng.randint(1, 28))
        name = rng.choice(SURNAMES) + "".join(
            GIVEN[j : j + 1] for j in rng.sample(range(len(GIVEN)), rng.choice([1, 2]))
        )
        number = idnumber.make(region, birth, 100 + i)
        yield name, number, region, "rural" if i % 4 == 3 else "urban"


def seed(*, users) -> dict[str, int]:
    # Seeding is a system path (`by=None`), like the `import_roster` command: the demo persons
    # live in several districts, which no one district caseworker may change.
    by = None
    regions = {r.code: r for r in Region.objects.filter(code__in=DISTRICTS)}
    for i, (name, number, region_code, residence) in enumerate(demo_people()):
        person = Person.objects.filter(id_number=number).first()
        if person is None:
            person = person_register(
                id_number=number,
                name=name,
                region=regions[region_code],
                residence=residence,
                phone=f"1390473{i:04d}",
                by=by,
            )
        if i < len(PLAN) * 3 and not person.identities.exists():
            category, department, start = PLAN[i % len(PLAN)]
            identity_grant(
                person=person,
                category=category,
                start=start,
                region=regions[region_code],
                department=department,
                document=f"乌民救〔{start.year}〕{100 + i}号",
                by=by,
            )
        _seed_enrollments(i, person, regions, by)
    return {
        "persons": Person.objects.filter(region_id__in=DISTRICTS).count(),
        "identities": Identity.objects.filter(person__region_id__in=DISTRICTS).count(),
        "enrollments": Enrollment.objects.filter(person__region_id__in=DISTRICTS).count(),
    }


def _seed_enrollments(i: int, person: Person, regions: dict, by) -> None:
    if i in UNINSURED or person.enrollments.exists():
        return
    resident = Enrollment.Scheme.RESIDENT
    scheme = Enrollment.Scheme.EMPLOYEE if i == EMPLOYEE else resident
    # Contributions for a year are collected in the autumn before it (缴费期).
    paid = date(DEMO_YEAR - 1, 10 + i % 3, 1 + i % 28)
    enrollment_record(
        person=person,
        year=DEMO_YEAR,
        scheme=scheme,
        area=regions[person.region_id],
        paid_how=Enrollment.PaidHow.SELF,
        paid_date=paid,
        benefit_start=date(DEMO_YEAR, 1, 1),
        by=by,
    )
    if i == DUPLICATE:
        other = next(code for code in DISTRICTS if code != person.region_id)
        enrollment_record(
            person=person,
            year=DEMO_YEAR,
            scheme=resident,
            area=regions[other],
            paid_how=Enrollment.PaidHow.SELF,
            paid_date=date(DEMO_YEAR - 1, 12, 20),
            benefit_start=date(DEMO_YEAR, 1, 1),
            note="重复参保（演示）",
            by=by,
        )
