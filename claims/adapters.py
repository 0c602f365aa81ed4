"""Models → the engine's dataclasses, in one place (claims/engine.py takes no Django objects).

- core.Policy → engine.Policy
- beneficiaries.Identity → engine.Identity
- claims.Bill → engine.Bill (a bill to assess, or an approved bill replayed with what it got)
- monitoring.Settlement rows → engine.Bill with ``paid_assistance`` = maf_pay (one-stop)
"""

from collections.abc import Iterable, Sequence
from decimal import Decimal

from claims import engine
from core.choices import VisitType

ZERO = Decimal("0.00")


def engine_policy(policy) -> engine.Policy:
    rules = policy.category_rules()
    return engine.Policy(
        annual_cap=policy.annual_cap,
        categories={
            category: engine.CategoryRule(deductible=rule.deductible, ratio=rule.ratio)
            for category, rule in rules.items()
        },
        tilted_deductible=policy.tilted_deductible,
        tilted_ratio=policy.tilted_ratio,
        rank=tuple(policy.rank()),
    )


def engine_identities(identities: Iterable) -> list[engine.Identity]:
    return [engine.Identity(i.category, i.start, i.end) for i in identities]


def engine_bill(bill, *, area_code: str, paid_assistance: Decimal | None = None) -> engine.Bill:
    """A claims.Bill as the engine sees it; the institution's flags come from the register."""
    institution = bill.institution
    inpatient = bill.visit_type == VisitType.INPATIENT
    return engine.Bill(
        id=str(bill.pk or "new"),
        visit_type=bill.visit_type,
        admitted=bill.admitted if inpatient else None,
        discharged=bill.discharged if inpatient else None,
        service_date=None if inpatient else bill.service_date,
        designated=institution.designated,
        in_coordination_area=institution.in_coordination_area(area_code),
        in_region=institution.in_region,
        referred=bill.referred,
        total_cost=bill.total_cost,
        policy_range_cost=bill.policy_range_cost,
        basic_insurance_paid=bill.basic_insurance_paid,
        critical_illness_paid=bill.critical_illness_paid,
        paid_assistance=paid_assistance,
    )


def replayed_bill(bill, *, area_code: str) -> engine.Bill:
    """An approved manual bill in the year-to-date replay.

    What counts toward the annual cap is its approved *basic* assistance (the tilted part has
    no cap, W 三(四)), so that is the assistance the replay takes as paid.
    """
    return engine_bill(bill, area_code=area_code, paid_assistance=bill.assistance)


# A settlement as values (the simulation reads rows as tuples, not model instances).
NET_COLUMNS = (
    "setl_id",
    "fixmedins_code",
    "visit_type",
    "begndate",
    "enddate",
    "medfee_sumamt",
    "inscp_scp_amt",
    "hifp_pay",
    "hifmi_pay",
    "maf_pay",
    "refd_setl_flag",
    "init_setl_id",
)
# Positions of the five amounts in a row of NET_COLUMNS and in a netted item.
_AMOUNTS = range(5, 10)
_NETTED_KEYS = (
    "setl_id",
    "fixmedins_code",
    "visit_type",
    "begndate",
    "enddate",
    "total_cost",
    "policy_range_cost",
    "basic_insurance_paid",
    "critical_illness_paid",
    "maf_pay",
)


def net_settlements(rows: Iterable) -> list[dict]:
    """One-stop settlements of a year with their reversals netted in (§9.2), as dicts
    (`net_settlement_values` on model rows)."""
    values = (tuple(getattr(row, column) for column in NET_COLUMNS) for row in rows)
    return [dict(zip(_NETTED_KEYS, item, strict=True)) for item in net_settlement_values(values)]


def net_settlement_values(rows: Iterable[Sequence]) -> list[list]:
    """One-stop settlements of a year with their reversals netted in (§9.2).

    `rows` are value rows in NET_COLUMNS order (more columns may follow); each netted item is
    [setl_id, fixmedins_code, visit_type, begndate, enddate, total_cost, policy_range_cost,
    basic_insurance_paid, critical_illness_paid, maf_pay], in the order of the originals.
    A reversal (refd_setl_flag, negative amounts) is added to the settlement it reverses; a
    settlement fully reversed disappears. A reversal whose original is not among `rows` (it
    belongs to another year) is left out: the engine takes no negative amounts.
    """
    originals: dict[str, list] = {}
    reversals = []
    for row in rows:
        if row[10]:
            reversals.append(row)
        else:
            originals[row[0]] = list(row[:10])
    for row in reversals:
        original = originals.get(row[11])
        if original is not None:
            for position in _AMOUNTS:
                original[position] += row[position]
    netted = []
    for item in originals.values():
        total, policy_range, basic, critical, maf_pay = item[5:10]
        if total <= 0 and policy_range <= 0 and basic <= 0 and critical <= 0 and maf_pay <= 0:
            continue  # fully reversed
        if total < 0 or policy_range < 0 or basic < 0 or critical < 0 or maf_pay < 0:
            total, policy_range, basic, critical, maf_pay = (
                amount if amount > ZERO else ZERO
                for amount in (total, policy_range, basic, critical, maf_pay)
            )
            item[5:10] = total, policy_range, basic, critical, maf_pay
        # Keep the §4 step-1 relations a partial reversal may have bent.
        paid = basic + critical
        if policy_range < paid:
            item[6] = policy_range = paid
        if total < policy_range:
            item[5] = policy_range
        netted.append(item)
    return netted


def settlement_bill(item: dict, *, institutions: dict, area_code: str) -> engine.Bill:
    """A netted one-stop settlement as a bill whose assistance is what the counter paid.

    An institution missing from the register is taken as designated and inside the region:
    the platform settled it, and whether tilted deductible was consumed can only be judged
    from the register.
    """
    institution = institutions.get(item["fixmedins_code"])
    values = [item[key] for key in _NETTED_KEYS]
    return netted_bill(values, institution_flags(institution, area_code), paid=True)


def institution_flags(institution, area_code: str) -> tuple[bool, bool]:
    """(in the coordination area, in the region) of a settlement's institution; one missing
    from the register counts as both (see `settlement_bill`)."""
    if institution is None:
        return True, True
    return institution.in_coordination_area(area_code), institution.in_region


def netted_bill(item: Sequence, flags: tuple[bool, bool], *, paid: bool) -> engine.Bill:
    """A netted item (`net_settlement_values`) as an engine bill: designated and, outside the
    area, referred (the counter settled it); `paid`: its assistance is maf_pay (the replay),
    else the engine computes it (the simulation, §12)."""
    setl_id, _code, visit_type, begndate, enddate = item[:5]
    inpatient = visit_type == VisitType.INPATIENT
    return engine.Bill(
        id=f"setl:{setl_id}",
        visit_type=visit_type,
        admitted=(begndate if begndate < enddate else enddate) if inpatient else None,
        discharged=enddate if inpatient else None,
        service_date=None if inpatient else enddate,
        designated=True,
        in_coordination_area=flags[0],
        in_region=flags[1],
        referred=True,
        total_cost=item[5],
        policy_range_cost=item[6],
        basic_insurance_paid=item[7],
        critical_illness_paid=item[8],
        paid_assistance=item[9] if paid else None,
    )
