"""`python manage.py bench_engine` — throughput of the assessment engine (target ≥ 20,000 bills/s).

Generates random bills (seeded, so runs compare) for random persons under a few policies, and
times, in the same run:

- the baseline: building the Bill objects from plain values (what any caller pays anyway);
- the engine: ``assess_bills`` per person (validation and assessment, steps kept unrendered);
- rendering the steps of every result to text, which only a page or PDF showing one bill does.

No database.
"""

import random
import time
from datetime import date, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand

from claims.engine import (
    CATEGORIES,
    VISIT_TYPES,
    Bill,
    CategoryRule,
    Identity,
    Policy,
    YearToDate,
    assess_bills,
)

TARGET = 20_000  # bills per second
TODAY = date(2025, 1, 1)
FIRST_DAY = date(2023, 1, 1)


def _yuan(rng: random.Random, high: int) -> Decimal:
    return Decimal(rng.randrange(high * 100)).scaleb(-2)


def _policies(rng: random.Random) -> list[Policy]:
    policies = []
    for _ in range(4):
        rules = {
            "destitute": CategoryRule(Decimal("0"), Decimal("1.00")),
            "subsistence": CategoryRule(Decimal("0"), Decimal("0.75")),
            "poverty_risk": CategoryRule(Decimal("0"), Decimal("0.70")),
            "near_subsistence": CategoryRule(_yuan(rng, 6000), Decimal("0.70")),
            "illness_impoverished": CategoryRule(_yuan(rng, 14000), Decimal("0.70")),
        }
        cap = rng.choice([Decimal("80000.00"), Decimal("50000.00"), None])
        policies.append(
            Policy(
                annual_cap=cap,
                categories=rules,
                tilted_deductible=Decimal("7000.00"),
                tilted_ratio=Decimal("0.60"),
            )
        )
    return policies


def _identities(rng: random.Random) -> list[Identity]:
    held = []
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        start = FIRST_DAY + timedelta(days=rng.randrange(-400, 600))
        end = None if rng.random() < 0.7 else start + timedelta(days=rng.randrange(700))
        held.append(Identity(rng.choice(CATEGORIES), start, end))
    return held


def _bill_values(rng: random.Random, number: int) -> dict:
    """Plain values of one valid bill, as a parser would produce them."""
    visit_type = rng.choice(VISIT_TYPES)
    day = FIRST_DAY + timedelta(days=rng.randrange(730))
    self_pay, basic, critical = _yuan(rng, 30000), _yuan(rng, 50000), _yuan(rng, 10000)
    values = {
        "id": str(number),
        "visit_type": visit_type,
        "designated": rng.random() < 0.95,
        "in_coordination_area": rng.random() < 0.85,
        "in_region": rng.random() < 0.95,
        "referred": rng.random() < 0.5,
        "policy_range_cost": self_pay + basic + critical,
        "total_cost": self_pay + basic + critical + _yuan(rng, 3000),
        "basic_insurance_paid": basic,
        "critical_illness_paid": critical,
    }
    if visit_type == "inpatient":
        values["admitted"] = day - timedelta(days=rng.randrange(30))
        values["discharged"] = day
    else:
        values["service_date"] = day
    if rng.random() < 0.1:  # a one-stop settlement replayed
        values["paid_assistance"] = _yuan(rng, 5000)
    return values


class Command(BaseCommand):
    help = "Benchmark the assessment engine on random bills (no database)."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--bills", type=int, default=100_000)
        parser.add_argument("--seed", type=int, default=2023)
        parser.add_argument("--repeat", type=int, default=3, help="best of N runs")

    def handle(self, *args, bills, seed, repeat, **options):
        rng = random.Random(seed)
        policies = _policies(rng)
        people = []  # (policy, identities, state, plain bill values)
        made = 0
        while made < bills:
            count = min(rng.randint(1, 20), bills - made)
            values = [_bill_values(rng, made + n) for n in range(count)]
            people.append((rng.choice(policies), _identities(rng), YearToDate.zero(), values))
            made += count

        construct = assess = render = float("inf")
        for _ in range(max(1, repeat)):
            started = time.perf_counter()
            built = [[Bill(**v) for v in values] for *_, values in people]
            construct = min(construct, time.perf_counter() - started)

            started = time.perf_counter()
            results = [
                assess_bills(policy, held, state, person_bills, TODAY)[0]
                for (policy, held, state, _), person_bills in zip(people, built, strict=True)
            ]
            assess = min(assess, time.perf_counter() - started)

            started = time.perf_counter()
            for person_results in results:
                for result in person_results:
                    result.step_lines()
            render = min(render, time.perf_counter() - started)

        covered = sum(r.covered for person_results in results for r in person_results)
        rate = bills / assess
        self.stdout.write(
            f"{bills:,} bills of {len(people):,} persons ({covered / bills:.0%} covered), "
            f"best of {max(1, repeat)}"
        )
        self.stdout.write(
            f"baseline  build Bill objects      {construct:7.3f} s  {bills / construct:>10,.0f}/s"
        )
        self.stdout.write(
            f"engine    validate + assess       {assess:7.3f} s  {rate:>10,.0f} bills/s"
            f"  ({assess / construct:.1f}× the baseline)"
        )
        self.stdout.write(
            f"render    steps to text (lazy)    {render:7.3f} s  {bills / render:>10,.0f}/s"
        )
        verdict = "met" if rate >= TARGET else "NOT met"
        self.stdout.write(f"target ≥ {TARGET:,} bills/s: {verdict}")
