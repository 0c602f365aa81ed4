"""Demo persons and identities for Wuhai (used by `seed_demo`); idempotent by ID number."""

import random
from datetime import date

from beneficiaries.models import Identity, Person
from beneficiaries.services import identity_grant, person_register
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
    by = users["caseworker"]
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
        if person.identities.exists():
            continue
        if i < len(PLAN) * 3:
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
    return {
        "persons": Person.objects.filter(region_id__in=DISTRICTS).count(),
        "identities": Identity.objects.filter(person__region_id__in=DISTRICTS).count(),
    }
