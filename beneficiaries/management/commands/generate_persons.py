"""Generate many valid persons quickly (benchmarks, load tests): `generate_persons --count N`.

On PostgreSQL the rows go through COPY into a temporary table and then one INSERT … ON CONFLICT
DO NOTHING, so a re-run or a clash with existing ID numbers is harmless; elsewhere bulk_create
in chunks. Every 20th person gets an identity and most get this year's enrollment, so the
category, status and enrollment filters have data.
No history rows are written: this is synthetic data, not casework.
"""

import random
import time
from datetime import date, timedelta

from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.utils import timezone

from beneficiaries.models import Identity, Person
from core import idnumber
from core.choices import Category
from core.dates import shanghai_today

SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘蔡蒋余包白乌苏"
)
GIVEN = "建国秀兰志强桂英海燕玉梅春花文斌丽娟永红金山宝音其其格巴特尔乌云娜仁卫东淑珍德胜明华军伟芳敏静磊洋勇艳杰涛超霞平刚"
DISTRICTS = ["150302", "150303", "150304"]
FIRST_BIRTH = date(1935, 1, 1)
DAYS = 30000  # birth dates span ~82 years
STEP = 7919  # prime, coprime with DAYS: spreads consecutive numbers over the span
CHUNK = 20000


def synthetic_person(i: int, rng: random.Random) -> tuple:
    """Row i: a unique valid ID number (birth day and sequence code derive from i)."""
    day, seq = divmod(i, 1000)
    birth = FIRST_BIRTH + timedelta(days=(day * STEP) % DAYS)
    region = DISTRICTS[i % 3]
    number = idnumber.make(region, birth, seq)
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice([1, 2, 2])))
    phone = f"13{rng.randrange(10**9):09d}"
    sex = "M" if int(number[16]) % 2 else "F"
    residence = "rural" if i % 4 == 3 else "urban"
    return number, name, sex, birth, phone, region, residence


class Command(BaseCommand):
    help = "Generate N synthetic persons with valid ID numbers (for benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, required=True)
        parser.add_argument("--offset", type=int, default=0, help="first synthetic number")
        parser.add_argument("--seed", type=int, default=2023)

    def handle(self, *args, count, offset, seed, **options):
        if count + offset > DAYS * 1000:
            raise SystemExit(f"at most {DAYS * 1000} synthetic persons")
        rng = random.Random(seed)
        started = time.monotonic()
        before = Person.objects.count()
        rows = (synthetic_person(i, rng) for i in range(offset, offset + count))
        if connection.vendor == "postgresql":
            self._copy(rows)
        else:
            self._bulk(rows)
        created = Person.objects.count() - before
        self.stdout.write(
            f"persons created: {created} (of {count}) in {time.monotonic() - started:.1f} s"
        )

    def _copy(self, rows):
        now = timezone.now()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMP TABLE gen_person (id_number varchar(18), name varchar(50), "
                "sex varchar(1), birth_date date, phone varchar(30), region_id varchar(6), "
                "residence varchar(10)) ON COMMIT DROP"
            )
            with cursor.cursor.copy(
                "COPY gen_person (id_number, name, sex, birth_date, phone, region_id, residence) "
                "FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row(row)
            cursor.execute(
                "INSERT INTO beneficiaries_person (id_number, name, sex, birth_date, phone, "
                "region_id, residence, relation, created_at, updated_at) "
                "SELECT id_number, name, sex, birth_date, phone, region_id, residence, '', "
                "%s, %s FROM gen_person ORDER BY id_number "
                "ON CONFLICT (id_number) DO NOTHING",
                [now, now],
            )
            categories = list(Category.values)
            cursor.execute(
                "INSERT INTO beneficiaries_identity (person_id, category, start, department, "
                "document, region_id, end_reason, created_at) "
                "SELECT p.id, (%s::text[])[1 + p.id %% 6], date '2022-01-01' + (p.id %% 700)::int, "
                "'civil_affairs', '', p.region_id, '', %s "
                "FROM beneficiaries_person p JOIN gen_person g ON g.id_number = p.id_number "
                "WHERE p.id %% 20 = 0 AND NOT EXISTS "
                "(SELECT 1 FROM beneficiaries_identity i WHERE i.person_id = p.id)",
                [categories, now],
            )
            # This year's enrollments: 80% resident, 10% employee, 10% none (漏保).
            year = shanghai_today().year
            cursor.execute(
                "INSERT INTO beneficiaries_enrollment (person_id, year, scheme, area_id, "
                "paid_how, paid_date, benefit_start, note, created_at) "
                "SELECT p.id, %s, CASE WHEN p.id %% 10 = 1 THEN 'employee' ELSE 'resident' END, "
                "p.region_id, 'self', %s, %s, '', %s "
                "FROM beneficiaries_person p JOIN gen_person g ON g.id_number = p.id_number "
                "WHERE p.id %% 10 <> 0 AND NOT EXISTS "
                "(SELECT 1 FROM beneficiaries_enrollment e WHERE e.person_id = p.id "
                "AND e.year = %s)",
                [year, date(year - 1, 11, 1), date(year, 1, 1), now, year],
            )
            cursor.execute("DROP TABLE gen_person")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE beneficiaries_person")
            cursor.execute("ANALYZE beneficiaries_identity")
            cursor.execute("ANALYZE beneficiaries_enrollment")

    def _bulk(self, rows):
        existing = set(Person.objects.values_list("id_number", flat=True))
        batch = []
        for number, name, sex, birth, phone, region, residence in rows:
            if number in existing:
                continue
            batch.append(
                Person(
                    id_number=number,
                    name=name,
                    sex=sex,
                    birth_date=birth,
                    phone=phone,
                    region_id=region,
                    residence=residence,
                )
            )
            if len(batch) >= CHUNK:
                self._flush(batch)
                batch = []
        if batch:
            self._flush(batch)

    @staticmethod
    def _flush(batch):
        with transaction.atomic():
            persons = Person.objects.bulk_create(batch)
            identities = [
                Identity(
                    person=p,
                    category=Category.values[p.pk % 6],
                    start=date(2022, 1, 1) + timedelta(days=p.pk % 700),
                    region_id=p.region_id,
                )
                for p in persons
                if p.pk and p.pk % 20 == 0
            ]
            Identity.objects.bulk_create(identities)
