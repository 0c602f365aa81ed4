"""Policy simulation (测算, DOMAIN §12): what a draft policy would cost, against the one in force.

The year's one-stop settlements and approved manual bills of an area's persons are re-run
through the engine twice — under the policy in force and under the draft — and both sides are
computed by the engine (never ``maf_pay``), so the difference is the policy's effect alone.

Built to be spread over workers (10M settlements, 2M persons):
(a) the persons are cut into ranges of ID numbers (`person_ranges`: every
    SIMULATION_RANGE_PERSONS-th ID number of the year's settlements, one index-only scan);
(b) ``simulate_chunk`` simulates the persons of one range: their years come streamed as engine
    inputs from a fixed number of queries (claims.simulation_records, none per person), each
    timeline is validated once and assessed under both policies, and the chunk returns a
    ``Partial`` of sums and counts;
(c) ``merge_partials`` adds partials up (Decimal sums, integer counts).
``simulation_persons`` is the definition of who is simulated (the reads list the same persons).
It reads only: nothing is written but the result (by the caller).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from claims import adapters, engine
from claims.simulation_records import decided_bills, person_years
from core.choices import Category, VisitType
from core.models import Policy, Region
from core.money import money
from monitoring.selectors import settled_certno_boundaries, settled_certnos_in_area

ZERO = Decimal("0.00")
SIDES = ("in_force", "draft")
Range = tuple[str | None, str | None]


class SimulationError(ValueError):
    """Inputs a simulation cannot run with (unknown area, no policy in force, bad records)."""


# --- Inputs ---------------------------------------------------------------------------------


def coordination_area(area_code: str) -> Region:
    """The coordination area (盟市, R(四)) with that code, or SimulationError."""
    area = Region.objects.filter(code=area_code, level=Region.Level.CITY).first()
    if area is None:
        raise SimulationError(
            _("%(code)s 不是统筹地区（盟市）的行政区划代码。") % {"code": area_code}
        )
    return area


def policy_for_year(area_code: str, year: int) -> Policy:
    """The policy in force for `year`: of those whose period overlaps the year, the latest.

    Policies of one area never overlap (§2), so this is the one in force on the last day of the
    year that has one; a year no policy reaches is an error, not a zero.
    """
    policy = (
        Policy.objects.filter(area_id=area_code, valid_from__lte=date(year, 12, 31))
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=date(year, 1, 1)))
        .order_by("-valid_from")
        .prefetch_related("categories")
        .first()
    )
    if policy is None:
        raise SimulationError(
            _("%(area)s %(year)s 年没有生效的救助政策，无法测算。")
            % {"area": area_code, "year": year}
        )
    return policy


def simulation_persons(
    area: Region, year: int, lo: str | None = None, hi: str | None = None
) -> list[str]:
    """Who is simulated: ID numbers of the area's persons with settlements or manual bills in
    `year`, sorted; with `lo`/`hi`, only those in [lo, hi). The reads of a run
    (`simulation_records.person_years`) yield exactly these persons, without listing them.

    A person of the area: one whose registered region is in the area's subtree; a person known
    only from settlements belongs to the region of the settlement (`insu_admdvs`, §7).
    """
    prefix = area.prefix
    settled = settled_certnos_in_area(year, prefix)
    manual = (
        decided_bills(year)
        .filter(application__person__region__code__startswith=prefix)
        .values_list("application__person__id_number", flat=True)
        .distinct()
    )
    if lo is not None:
        settled = settled.filter(certno__gte=lo)
        manual = manual.filter(application__person__id_number__gte=lo)
    if hi is not None:
        settled = settled.filter(certno__lt=hi)
        manual = manual.filter(application__person__id_number__lt=hi)
    return sorted(set(settled) | set(manual))


def range_persons() -> int:
    """Persons per range (a chunk task of a recorded run; a step of the synchronous run)."""
    return max(1, int(settings.SIMULATION_RANGE_PERSONS))


def person_ranges(year: int, size: int | None = None) -> list[Range]:
    """Half-open ID-number ranges [lo, hi) covering every person (the ends are open), cut at
    every `size`-th ID number with settlements in `year`. Any cuts give the same result: they
    only spread the work (persons of other areas and with manual bills only fall in some range
    and are sorted out by the reads)."""
    cuts = settled_certno_boundaries(year, size or range_persons())
    return list(zip([None, *cuts], [*cuts, None], strict=True))


# --- Partial results ------------------------------------------------------------------------


@dataclass
class SideTotals:
    """The sums of one side (policy in force, or draft) over some persons."""

    assistance: Decimal = ZERO
    tilted: Decimal = ZERO
    total: Decimal = ZERO
    persons_assisted: int = 0
    persons_at_cap: int = 0
    # Category applied → Σ bill totals; a key exists once a bill had that category (even 0.00).
    by_category: dict[str, Decimal] = field(default_factory=dict)
    # The bill's visit type → Σ bill totals (every replayed bill counts, covered or not).
    by_visit_type: dict[str, Decimal] = field(default_factory=dict)

    def add(self, other: SideTotals) -> None:
        self.assistance += other.assistance
        self.tilted += other.tilted
        self.total += other.total
        self.persons_assisted += other.persons_assisted
        self.persons_at_cap += other.persons_at_cap
        for category, amount in other.by_category.items():
            self.by_category[category] = self.by_category.get(category, ZERO) + amount
        for visit_type, amount in other.by_visit_type.items():
            self.by_visit_type[visit_type] = self.by_visit_type.get(visit_type, ZERO) + amount

    def as_dict(self) -> dict:
        return {
            "assistance": str(self.assistance),
            "tilted": str(self.tilted),
            "total": str(self.total),
            "persons_assisted": self.persons_assisted,
            "persons_at_cap": self.persons_at_cap,
            "by_category": {k: str(v) for k, v in self.by_category.items()},
            "by_visit_type": {k: str(v) for k, v in self.by_visit_type.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> SideTotals:
        return cls(
            assistance=Decimal(data["assistance"]),
            tilted=Decimal(data["tilted"]),
            total=Decimal(data["total"]),
            persons_assisted=int(data["persons_assisted"]),
            persons_at_cap=int(data["persons_at_cap"]),
            by_category={k: Decimal(v) for k, v in data["by_category"].items()},
            by_visit_type={k: Decimal(v) for k, v in data.get("by_visit_type", {}).items()},
        )


@dataclass
class Partial:
    """What one chunk contributes: counts and both sides' sums (JSON-able for Celery)."""

    persons: int = 0
    bills: int = 0
    in_force: SideTotals = field(default_factory=SideTotals)
    draft: SideTotals = field(default_factory=SideTotals)

    def as_dict(self) -> dict:
        return {
            "persons": self.persons,
            "bills": self.bills,
            "in_force": self.in_force.as_dict(),
            "draft": self.draft.as_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> Partial:
        return cls(
            persons=int(data["persons"]),
            bills=int(data["bills"]),
            in_force=SideTotals.from_dict(data["in_force"]),
            draft=SideTotals.from_dict(data["draft"]),
        )


def merge_partials(partials: Iterable[Partial]) -> Partial:
    """(c) The sum of chunk results."""
    merged = Partial()
    for partial in partials:
        merged.persons += partial.persons
        merged.bills += partial.bills
        merged.in_force.add(partial.in_force)
        merged.draft.add(partial.draft)
    return merged


# --- One chunk ------------------------------------------------------------------------------


def person_timeline(
    settlement_rows: Sequence, manual_bills: Sequence, *, institutions: dict, area_code: str
) -> list[engine.Bill]:
    """One person's year as engine bills, in replay order (§12).

    Settlements are netted with their reversals (a fully reversed one is dropped) and converted
    as in the replay of §4 (designated; referred when outside the area), then stripped of
    maf_pay so the engine computes their assistance. A settlement whose ID a manual bill carries
    is that bill's visit and is counted once, as the bill. Order: discharge/service date, then
    settlements by settlement time and ID, then manual bills of that day in entry order.
    """
    linked = {bill.setl_id for bill in manual_bills if bill.setl_id}
    times = {row.setl_id: row.setl_time for row in settlement_rows if not row.refd_setl_flag}
    timeline = []
    for item in adapters.net_settlements(settlement_rows):
        if item["setl_id"] in linked:
            continue
        bill = adapters.settlement_bill(item, institutions=institutions, area_code=area_code)
        bill = dataclasses.replace(bill, paid_assistance=None)
        timeline.append(((item["enddate"], 0, times[item["setl_id"]], item["setl_id"]), bill))
    for manual in manual_bills:
        bill = adapters.engine_bill(manual, area_code=area_code)
        timeline.append(((manual.end_date, 1, manual.pk), bill))
    timeline.sort(key=lambda entry: entry[0])
    return [bill for _key, bill in timeline]


def _side_of_person(
    policy: engine.Policy,
    identities: list[engine.Identity],
    bills: list[engine.Bill],
    today: date,
    totals: SideTotals,
    *,
    validated: bool,
) -> None:
    """Replay one person's year under `policy` from a zero state, adding it to `totals`
    (`validated`: the bills passed the engine's validation already, under the other policy)."""
    try:
        results, state = engine.assess_bills(
            policy, identities, engine.YearToDate.zero(), bills, today, validated=validated
        )
    except engine.InvalidBill as exc:
        raise SimulationError(
            _("记录 %(record)s 数据有误，无法测算：%(message)s")
            % {"record": exc.bill_id, "message": exc.render(_)}
        ) from exc
    by_visit_type, by_category = totals.by_visit_type, totals.by_category
    assistance = tilted = person_total = ZERO
    for bill, result in zip(bills, results, strict=True):
        total = result.total
        by_visit_type[bill.visit_type] = by_visit_type.get(bill.visit_type, ZERO) + total
        assistance += result.assistance
        tilted += result.tilted_assistance
        person_total += total
        if result.category is not None:
            by_category[result.category] = by_category.get(result.category, ZERO) + total
    totals.assistance += assistance
    totals.tilted += tilted
    totals.total += person_total
    if person_total > 0:
        totals.persons_assisted += 1
    if policy.annual_cap is not None and state.assistance_paid >= policy.annual_cap:
        totals.persons_at_cap += 1


def simulate_chunk(
    *,
    area_code: str,
    year: int,
    lo: str | None,
    hi: str | None,
    policies: Mapping[str, engine.Policy],
    today: date,
) -> Partial:
    """(b) Simulate the area's persons with ID number in [lo, hi) under both policies
    (`SIDES` keys). Each timeline is validated once, by the first side."""
    area = coordination_area(area_code)
    partial = Partial()
    first, *others = (policies[side] for side in SIDES)
    first_totals, *other_totals = (getattr(partial, side) for side in SIDES)
    for _certno, bills, held in person_years(area, year, lo, hi):
        if not bills:
            continue  # e.g. every settlement fully reversed
        partial.persons += 1
        partial.bills += len(bills)
        _side_of_person(first, held, bills, today, first_totals, validated=False)
        for policy, totals in zip(others, other_totals, strict=True):
            _side_of_person(policy, held, bills, today, totals, validated=True)
    return partial


# --- The whole run --------------------------------------------------------------------------


def simulation_run(
    *,
    area_code: str,
    year: int,
    draft: engine.Policy,
    today: date,
    on_chunk: Callable[[int, int], None] | None = None,
    breakdown: bool = False,
) -> dict:
    """Simulate `year` of the area under the policy in force and `draft`; the §12 result.

    The persons are done range by range (`person_ranges`), as the workers of a recorded run do
    them, so memory holds one range at a time. `on_chunk(done, total)` is called before the
    first range and after each one (progress). `breakdown`: the result also has
    `by_visit_type` (the page's run; the command's JSON is the §12 contract exactly).
    Raises SimulationError for an unknown area or a year without a policy in force.
    """
    area = coordination_area(area_code)
    policies = {
        "in_force": adapters.engine_policy(policy_for_year(area.code, year)),
        "draft": draft,
    }
    ranges = person_ranges(year)
    merged = Partial()
    for done, (lo, hi) in enumerate(ranges):
        if on_chunk is not None:
            on_chunk(done, len(ranges))
        partial = simulate_chunk(
            area_code=area.code, year=year, lo=lo, hi=hi, policies=policies, today=today
        )
        merged = merge_partials((merged, partial))
    if on_chunk is not None:
        on_chunk(len(ranges), len(ranges))
    return simulation_result(area.code, year, merged, breakdown=breakdown)


def policy_document(policy: Policy) -> dict:
    """A policy of the database in the `assess` policy shape (§4): the draft to start from."""
    rules = policy.category_rules()
    return {
        "annual_cap": None if policy.annual_cap is None else _text(policy.annual_cap),
        "categories": {
            category: {"deductible": _text(rule.deductible), "ratio": str(rule.ratio)}
            for category, rule in rules.items()
        },
        "rank": list(policy.rank()),
        "tilted": {
            "deductible": _text(policy.tilted_deductible),
            "ratio": str(policy.tilted_ratio),
        },
    }


def _side_by_side(in_force: dict, draft: dict, order) -> dict:
    return {
        key: {"in_force": _text(in_force.get(key, ZERO)), "draft": _text(draft.get(key, ZERO))}
        for key in order
        if key in in_force or key in draft
    }


def simulation_result(area_code: str, year: int, merged: Partial, breakdown: bool = False) -> dict:
    """The §12 JSON, keys in contract order; by_category in the order of the Category enum
    (and, with `breakdown`, by_visit_type after it in the order of the VisitType enum)."""

    def side(totals: SideTotals) -> dict:
        return {
            "assistance": _text(totals.assistance),
            "tilted": _text(totals.tilted),
            "total": _text(totals.total),
            "persons_assisted": totals.persons_assisted,
            "persons_at_cap": totals.persons_at_cap,
        }

    by_category = _side_by_side(
        merged.in_force.by_category, merged.draft.by_category, Category.values
    )
    result = {
        "area": area_code,
        "year": year,
        "persons": merged.persons,
        "bills": merged.bills,
        "in_force": side(merged.in_force),
        "draft": side(merged.draft),
        "difference": _text(merged.draft.total - merged.in_force.total),
        "by_category": by_category,
    }
    if breakdown:
        result["by_visit_type"] = _side_by_side(
            merged.in_force.by_visit_type, merged.draft.by_visit_type, VisitType.values
        )
    return result


def result_rows(result: dict) -> tuple[list[tuple], list[tuple]]:
    """A §12 result side by side for the page: (key, in force, draft, difference, is money)
    rows of the totals, and (category, in force, draft, difference) rows of by_category."""
    totals = []
    for key in ("assistance", "tilted", "total", "persons_assisted", "persons_at_cap"):
        in_force, draft = result["in_force"][key], result["draft"][key]
        if isinstance(in_force, str):
            totals.append((key, in_force, draft, _text(Decimal(draft) - Decimal(in_force)), True))
        else:
            totals.append((key, in_force, draft, draft - in_force, False))
    return totals, breakdown_rows(result, "by_category")


def breakdown_rows(result: dict, key: str) -> list[tuple]:
    """(group, in force, draft, difference) rows of `by_category` or `by_visit_type` (empty
    for a run recorded before the visit-type breakdown existed)."""
    return [
        (
            group,
            row["in_force"],
            row["draft"],
            _text(Decimal(row["draft"]) - Decimal(row["in_force"])),
        )
        for group, row in result.get(key, {}).items()
    ]


def _text(amount: Decimal) -> str:
    return str(money(amount))
