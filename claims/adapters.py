"""Models → the engine's dataclasses, in one place (claims/engine.py takes no Django objects).

- core.Policy → engine.Policy
- beneficiaries.Identity → engine.Identity
- claims.Bill → engine.Bill (a bill to assess, or an approved bill replayed with what it got)
- monitoring.Settlement rows → engine.Bill with ``paid_assistance`` = maf_pay (one-stop)
"""

from collections.abc import Iterable
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


def net_settlements(rows: Iterable) -> list[dict]:
    """One-stop settlements of a year with their reversals netted in (§9.2).

    A reversal (refd_setl_flag, negative amounts) is added to the settlement it reverses; a
    settlement fully reversed disappears. A reversal whose original is not among `rows` (it
    belongs to another year) is left out: the engine takes no negative amounts.
    """
    originals: dict[str, dict] = {}
    reversals = []
    for row in rows:
        if row.refd_setl_flag:
            reversals.append(row)
            continue
        originals[row.setl_id] = {
            "setl_id": row.setl_id,
            "fixmedins_code": row.fixmedins_code,
            "visit_type": row.visit_type,
            "begndate": row.begndate,
            "enddate": row.enddate,
            "total_cost": row.medfee_sumamt,
            "policy_range_cost": row.inscp_scp_amt,
            "basic_insurance_paid": row.hifp_pay,
            "critical_illness_paid": row.hifmi_pay,
            "maf_pay": row.maf_pay,
        }
    pairs = (
        ("total_cost", "medfee_sumamt"),
        ("policy_range_cost", "inscp_scp_amt"),
        ("basic_insurance_paid", "hifp_pay"),
        ("critical_illness_paid", "hifmi_pay"),
        ("maf_pay", "maf_pay"),
    )
    for row in reversals:
        original = originals.get(row.init_setl_id)
        if original is None:
            continue
        for key, column in pairs:
            original[key] += getattr(row, column)
    netted = []
    for item in originals.values():
        amounts = [item[key] for key, _column in pairs]
        if all(amount <= 0 for amount in amounts):
            continue  # fully reversed
        for key, _column in pairs:
            item[key] = max(ZERO, item[key])
        # Keep the §4 step-1 relations a partial reversal may have bent.
        paid = item["basic_insurance_paid"] + item["critical_illness_paid"]
        item["policy_range_cost"] = max(item["policy_range_cost"], paid)
        item["total_cost"] = max(item["total_cost"], item["policy_range_cost"])
        netted.append(item)
    return netted


def settlement_bill(item: dict, *, institutions: dict, area_code: str) -> engine.Bill:
    """A netted one-stop settlement as a bill whose assistance is what the counter paid.

    An institution missing from the register is taken as designated and inside the region:
    the platform settled it, and whether tilted deductible was consumed can only be judged
    from the register.
    """
    institution = institutions.get(item["fixmedins_code"])
    inpatient = item["visit_type"] == VisitType.INPATIENT
    return engine.Bill(
        id=f"setl:{item['setl_id']}",
        visit_type=item["visit_type"],
        admitted=min(item["begndate"], item["enddate"]) if inpatient else None,
        discharged=item["enddate"] if inpatient else None,
        service_date=None if inpatient else item["enddate"],
        designated=True,
        in_coordination_area=(institution.in_coordination_area(area_code) if institution else True),
        in_region=institution.in_region if institution else True,
        referred=True,
        total_cost=item["total_cost"],
        policy_range_cost=item["policy_range_cost"],
        basic_insurance_paid=item["basic_insurance_paid"],
        critical_illness_paid=item["critical_illness_paid"],
        paid_assistance=item["maf_pay"],
    )
