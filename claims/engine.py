"""The assessment engine: identity coverage (DOMAIN §3) and the assessment of a bill (§4).

Pure Python, to be read beside DOMAIN.md §4: dataclasses in, dataclasses out; no Django, no
database, no I/O. The `assess` command, the approval service and the replay of one-stop
settlements all call it, so the rules live here and nowhere else.

Money is ``Decimal`` and every computed amount is rounded half-up to the fen by
``core.money.to_cents()`` (``money()``'s rounding, without its input checks: the inputs were
checked by ``validate_bill`` and the policy's validation) at the step where it is computed; a
float never enters. Coverage (§3) and
the highest-ranked choice are ``core.coverage``'s; the engine applies them to its ``Bill``.

Each ``Assessment`` keeps its steps (a message template and its parameters) so a caseworker, a
supervisor and the PDF can see how the figure was reached. The templates are Chinese msgids
marked with ``gettext_noop`` (Django's makemessages extracts them); ``render_steps`` formats and
translates them on demand, never during the assessment itself.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from claims.engine_text import (  # noqa: F401 (CATEGORY_LABELS, Step: the engine's API)
    CATEGORY_LABELS,
    MSG_ADMITTED_AFTER_DISCHARGED,
    MSG_FUTURE_DATE,
    MSG_INVALID_BILL,
    MSG_NEGATIVE,
    MSG_PAID_OVER_RANGE,
    MSG_RANGE_OVER_TOTAL,
    MSG_REQUIRED_DATE,
    MSG_UNKNOWN_VISIT_TYPE,
    STEP_BASIC,
    STEP_CAP,
    STEP_CATEGORY,
    STEP_DEDUCTIBLE,
    STEP_ENDED_DURING_STAY,
    STEP_EXPIRED,
    STEP_HIGHEST_OF,
    STEP_NO_CAP,
    STEP_NO_IDENTITIES,
    STEP_NO_RULE,
    STEP_NO_TILTED,
    STEP_NOT_YET,
    STEP_SELF_PAY,
    STEP_SETTLEMENT,
    STEP_SETTLEMENT_TOTAL,
    STEP_SETTLEMENT_UNCOVERED,
    STEP_TILTED,
    STEP_TILTED_DEDUCTIBLE,
    STEP_TOTAL,
    WHAT_DISCHARGED,
    WHAT_SERVICE_DATE,
    Step,
    format_message,
    gettext_noop,
    render_steps,
    untranslated,
)
from core.coverage import coverage_end, covers_day, covers_stay, highest_ranked
from core.money import to_cents

__all__ = [
    "CATEGORIES",
    "VISIT_TYPES",
    "Assessment",
    "Bill",
    "CategoryRule",
    "Identity",
    "InvalidBill",
    "Policy",
    "Step",
    "YearToDate",
    "assess_bill",
    "assess_bills",
    "covering_category",
    "coverage_end",
    "identity_covers",
    "render_steps",
    "validate_bill",
]


# --- Vocabulary (DOMAIN §1) ---------------------------------------------------------------

INPATIENT = "inpatient"
CHRONIC_OUTPATIENT = "chronic_outpatient"
GENERAL_OUTPATIENT = "general_outpatient"
# W 三(三), P §13: all three are covered and share the annual cap.
VISIT_TYPES = (INPATIENT, CHRONIC_OUTPATIENT, GENERAL_OUTPATIENT)

# W 三(二)(三), P §17: the default rank for 就高不就低, highest first.
CATEGORIES = (
    "destitute",
    "subsistence",
    "poverty_risk",
    "near_subsistence",
    "illness_impoverished",
    "other_special",
)

# Why a bill is not covered (§4 step 2), in the order they are checked.
NO_IDENTITY = "no_identity"
NOT_DESIGNATED = "not_designated"
NO_REFERRAL = "no_referral"
REASONS = (NO_IDENTITY, NOT_DESIGNATED, NO_REFERRAL)

AMOUNT_FIELDS = ("total_cost", "policy_range_cost", "basic_insurance_paid", "critical_illness_paid")
ZERO = Decimal("0.00")


# --- Inputs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CategoryRule:
    deductible: Decimal  # 起付标准, annual and cumulative (W 三(三))
    ratio: Decimal  # 救助比例, 0–1


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """The parameters of §2 that the assessment needs (one coordination area and year)."""

    annual_cap: Decimal | None  # 年度救助限额, shared by all visit types; None: no cap
    categories: Mapping[str, CategoryRule]
    tilted_deductible: Decimal  # 倾斜救助起付标准 (W 三(四)), annual and cumulative
    tilted_ratio: Decimal  # 倾斜救助比例; tilted assistance has no cap
    rank: tuple[str, ...] = CATEGORIES


@dataclass(frozen=True, slots=True)
class Identity:
    category: str
    start: date  # 认定/生效日期
    end: date | None = None  # 终止日期


@dataclass(frozen=True, slots=True, kw_only=True)
class Bill:
    """A bill (manual reimbursement) or, with ``paid_assistance``, a one-stop settlement.

    Inpatient bills carry ``admitted`` and ``discharged``, outpatient bills ``service_date``.
    """

    id: str
    visit_type: str
    admitted: date | None = None
    discharged: date | None = None
    service_date: date | None = None
    designated: bool  # 定点医药机构
    in_coordination_area: bool  # inside the city (统筹地区)
    in_region: bool  # inside Inner Mongolia
    referred: bool  # 规范转诊 / 异地就医备案
    total_cost: Decimal
    policy_range_cost: Decimal
    basic_insurance_paid: Decimal
    critical_illness_paid: Decimal
    # What the hospital counter actually paid (maf_pay) when this is a one-stop settlement.
    paid_assistance: Decimal | None = None

    @property
    def end_date(self) -> date:
        """The date the bill belongs to: discharge, or the outpatient service date."""
        return self.discharged if self.visit_type == INPATIENT else self.service_date

    @property
    def year(self) -> int:
        return self.end_date.year


@dataclass(frozen=True, slots=True)
class YearToDate:
    """A person's year-to-date state for one year (§4)."""

    deductible_used: Decimal
    assistance_paid: Decimal  # counts toward the annual cap: one-stop and manual together
    tilted_deductible_used: Decimal

    @classmethod
    def zero(cls) -> "YearToDate":
        return cls(ZERO, ZERO, ZERO)


# --- Results --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assessment:
    bill_id: str
    covered: bool
    reason: str | None  # one of REASONS when not covered
    category: str | None  # the category applied, None when not covered
    self_pay: Decimal  # 政策范围内个人自付
    deductible_applied: Decimal
    assistance: Decimal  # basic assistance (for a settlement: maf_pay)
    tilted_deductible_applied: Decimal
    tilted_assistance: Decimal
    total: Decimal
    steps: tuple[Step, ...]

    def step_lines(self, translate: Callable[[str], str] = untranslated) -> list[str]:
        return render_steps(self, translate)


class InvalidBill(ValueError):
    """A bill that fails §4 step 1: an input error with a message, never a zero."""

    def __init__(
        self,
        bill_id: str,
        field: str,
        message: str,
        params: Mapping[str, Any] | None = None,
        related: tuple[str, ...] = (),
    ):
        self.bill_id = bill_id
        self.field = field  # the field to show the message on
        self.related = related  # other fields the rule compares it with
        self.message = message  # a msgid (Chinese)
        self.params = params or {}
        super().__init__(self.render())

    def render(self, translate: Callable[[str], str] = untranslated) -> str:
        """The message alone, translated and formatted (for a form field)."""
        return format_message(self.message, self.params, translate)

    def describe(self, translate: Callable[[str], str] = untranslated) -> str:
        """The message naming the bill and the field(s), for the command line."""
        fields = ", ".join((self.field, *self.related))
        return translate(MSG_INVALID_BILL) % {
            "bill": self.bill_id,
            "fields": fields,
            "message": self.render(translate),
        }


UNCOVERED = {
    NO_IDENTITY: gettext_noop("不予救助：没有覆盖本次就医的救助身份。"),
    NOT_DESIGNATED: gettext_noop("不予救助：非定点医药机构的费用。"),
    NO_REFERRAL: gettext_noop("不予救助：统筹地区外就医，未办理转诊或异地就医备案。"),
}


# --- §3 Identity coverage -------------------------------------------------------------------


def identity_covers(identity: Identity, bill: Bill) -> bool:
    """DOMAIN §3: whether ``identity`` covers ``bill`` (the rule is core.coverage's)."""
    if bill.visit_type == INPATIENT:
        return covers_stay(identity, bill.admitted, bill.discharged)
    return covers_day(identity, bill.service_date)


def covering_category(
    policy: Policy, identities: Iterable[Identity], bill: Bill
) -> tuple[str | None, list[str]]:
    """The category that applies to ``bill`` and every category that covers it.

    就高不就低 (W 三(二)(三), P §17): the highest-ranked covering category applies, once.
    A category with no rule in the policy gives no assistance, so it is never chosen: a person
    who also holds a lower category that has a rule gets that one (holding one more identity
    must never cost a person their assistance), and a person whose only covering categories
    have no rule is not covered (``no_identity``). Treating such a bill as covered with a zero
    ratio would not give "no assistance": it would still earn tilted assistance.
    """
    covering: list[str] = []
    for identity in identities:
        if identity_covers(identity, bill) and identity.category not in covering:
            covering.append(identity.category)
    rules = policy.categories
    with_rule = [category for category in covering if category in rules]
    if len(with_rule) < 2:  # the usual case: one covering category (or none) with a rule
        return (with_rule[0] if with_rule else None), covering
    return highest_ranked(with_rule, policy.rank), covering


def _why_not_covered(identity: Identity, bill: Bill) -> Step:
    """Why ``identity`` does not cover ``bill``: one explanation line (§3)."""
    if bill.visit_type == INPATIENT:
        what, day = WHAT_DISCHARGED, bill.discharged
    else:
        what, day = WHAT_SERVICE_DATE, bill.service_date
    params = {"category": identity.category, "what": what, "date": day}
    if identity.start > day:
        return Step(STEP_NOT_YET, {**params, "start": identity.start})
    end = identity.end
    if bill.visit_type == INPATIENT and bill.admitted <= end <= bill.discharged:
        return Step(
            STEP_ENDED_DURING_STAY,
            {**params, "end": end, "admitted": bill.admitted, "discharged": bill.discharged},
        )
    return Step(STEP_EXPIRED, {**params, "end": end, "coverage_end": coverage_end(end)})


# --- §4 step 1: validation ------------------------------------------------------------------


def validate_bill(bill: Bill, today: date) -> None:
    """Raise InvalidBill for the first rule of §4 step 1 (or of the bill's shape) it breaks."""
    bill_id = bill.id
    if bill.visit_type not in VISIT_TYPES:
        raise InvalidBill(bill_id, "visit_type", MSG_UNKNOWN_VISIT_TYPE, {"value": bill.visit_type})
    date_fields = ("admitted", "discharged") if bill.visit_type == INPATIENT else ("service_date",)
    for name in date_fields:
        if getattr(bill, name) is None:
            raise InvalidBill(bill_id, name, MSG_REQUIRED_DATE)

    amount_fields = (
        AMOUNT_FIELDS if bill.paid_assistance is None else (*AMOUNT_FIELDS, "paid_assistance")
    )
    for name in amount_fields:
        value = getattr(bill, name)
        if value < 0:
            raise InvalidBill(bill_id, name, MSG_NEGATIVE, {"value": value})
    if bill.policy_range_cost > bill.total_cost:
        raise InvalidBill(
            bill_id,
            "policy_range_cost",
            MSG_RANGE_OVER_TOTAL,
            {"policy_range_cost": bill.policy_range_cost, "total_cost": bill.total_cost},
            related=("total_cost",),
        )
    paid = bill.basic_insurance_paid + bill.critical_illness_paid
    if paid > bill.policy_range_cost:
        raise InvalidBill(
            bill_id,
            "basic_insurance_paid",
            MSG_PAID_OVER_RANGE,
            {"paid": paid, "policy_range_cost": bill.policy_range_cost},
            related=("critical_illness_paid", "policy_range_cost"),
        )

    if bill.visit_type == INPATIENT and bill.admitted > bill.discharged:
        raise InvalidBill(
            bill_id,
            "admitted",
            MSG_ADMITTED_AFTER_DISCHARGED,
            {"admitted": bill.admitted, "discharged": bill.discharged},
            related=("discharged",),
        )
    for name in date_fields:
        value = getattr(bill, name)
        if value > today:
            raise InvalidBill(bill_id, name, MSG_FUTURE_DATE, {"value": value, "today": today})


# --- §4 steps 2–8: assessment ---------------------------------------------------------------


def assess_bill(
    policy: Policy, identities: Sequence[Identity], state: YearToDate, bill: Bill
) -> tuple[Assessment, YearToDate]:
    """Assess one valid bill (§4 steps 2–8) against the state of its year.

    Returns the assessment and the state after it. ``bill`` must have passed validate_bill.

    A one-stop settlement (``paid_assistance`` set) is replayed, not assessed: it is a fact, so
    only the identity part of coverage is checked; its deductibles are consumed exactly as for a
    bill, and the assistance that counts (toward the cap and in the result) is what the hospital
    counter paid (maf_pay, which already includes any tilted assistance).
    """
    category, covering = covering_category(policy, identities, bill)
    reason = _uncovered_reason(bill, category)
    self_pay, self_pay_step = _self_pay(bill)
    if reason is not None:
        return _not_covered(
            policy, identities, state, bill, reason, covering, self_pay, self_pay_step
        )

    # Step 4: category (chosen above, 就高不就低).
    steps = [Step(STEP_CATEGORY, {"category": category})]
    if len(covering) > 1:
        steps.append(Step(STEP_HIGHEST_OF, {"categories": tuple(covering), "category": category}))
    steps.append(self_pay_step)
    rule = policy.categories[category]
    deductible_applied = _deductible(rule, state, self_pay, steps)
    assistance = _basic_assistance(policy, rule, state, self_pay, deductible_applied, steps)
    tilted_applied, tilted = _tilted_assistance(policy, state, bill, self_pay, assistance, steps)
    assistance, tilted, total = _total(bill, assistance, tilted, steps)
    result = Assessment(
        bill_id=bill.id,
        covered=True,
        reason=None,
        category=category,
        self_pay=self_pay,
        deductible_applied=deductible_applied,
        assistance=assistance,
        tilted_deductible_applied=tilted_applied,
        tilted_assistance=tilted,
        total=total,
        steps=tuple(steps),
    )
    after = YearToDate(
        state.deductible_used + deductible_applied,
        state.assistance_paid + assistance,
        state.tilted_deductible_used + tilted_applied,
    )
    return result, after


def _uncovered_reason(bill: Bill, category: str | None) -> str | None:
    """Step 2: coverage, checked in order; the first that fails is the reason (None: covered).

    A settlement is a fact: only the identity part applies to it.
    """
    if category is None:
        return NO_IDENTITY
    if bill.paid_assistance is not None:
        return None
    if not bill.designated:
        return NOT_DESIGNATED
    if not bill.in_coordination_area and not bill.referred:
        # R(十五), N(十三): outside the city only with referral or out-of-area registration.
        return NO_REFERRAL
    return None


def _self_pay(bill: Bill) -> tuple[Decimal, Step]:
    """Step 3: self-pay within the policy range, and its explanation line."""
    self_pay = to_cents(
        bill.policy_range_cost - bill.basic_insurance_paid - bill.critical_illness_paid
    )
    return self_pay, Step(
        STEP_SELF_PAY,
        {
            "policy_range_cost": bill.policy_range_cost,
            "basic": bill.basic_insurance_paid,
            "critical": bill.critical_illness_paid,
            "self_pay": self_pay,
        },
    )


def _deductible(rule: CategoryRule, state: YearToDate, self_pay: Decimal, steps) -> Decimal:
    """Step 5: deductible, cumulative over the year (W 三(三): 年度内起付标准累计计算)."""
    remaining = max(ZERO, to_cents(rule.deductible - state.deductible_used))
    applied = min(self_pay, remaining)
    steps.append(
        Step(
            STEP_DEDUCTIBLE,
            {"deductible": rule.deductible, "used": state.deductible_used, "applied": applied},
        )
    )
    return applied


def _basic_assistance(policy, rule, state, self_pay, deductible_applied, steps) -> Decimal:
    """Step 6: basic assistance, within the annual cap shared by every visit type (W 三(三))."""
    assistance = to_cents((self_pay - deductible_applied) * rule.ratio)
    steps.append(
        Step(
            STEP_BASIC,
            {
                "self_pay": self_pay,
                "applied": deductible_applied,
                "ratio": rule.ratio,
                "amount": assistance,
            },
        )
    )
    if policy.annual_cap is None:
        steps.append(Step(STEP_NO_CAP, {"assistance": assistance}))
        return assistance
    left = max(ZERO, to_cents(policy.annual_cap - state.assistance_paid))
    assistance = min(assistance, left)
    steps.append(
        Step(
            STEP_CAP,
            {
                "cap": policy.annual_cap,
                "paid": state.assistance_paid,
                "left": left,
                "assistance": assistance,
            },
        )
    )
    return assistance


def _tilted_assistance(policy, state, bill, self_pay, assistance, steps) -> tuple[Decimal, Decimal]:
    """Step 7: tilted assistance (deductible applied, amount), for inpatients inside Inner
    Mongolia only (W 三(四)); it has no cap."""
    if bill.visit_type != INPATIENT or not bill.in_region:
        steps.append(Step(STEP_NO_TILTED, {}))
        return ZERO, ZERO
    burden = self_pay - assistance
    remaining = max(ZERO, to_cents(policy.tilted_deductible - state.tilted_deductible_used))
    applied = min(burden, remaining)
    tilted = to_cents((burden - applied) * policy.tilted_ratio)
    steps.append(
        Step(
            STEP_TILTED_DEDUCTIBLE,
            {
                "self_pay": self_pay,
                "assistance": assistance,
                "burden": burden,
                "deductible": policy.tilted_deductible,
                "used": state.tilted_deductible_used,
                "applied": applied,
            },
        )
    )
    steps.append(
        Step(
            STEP_TILTED,
            {"burden": burden, "applied": applied, "ratio": policy.tilted_ratio, "amount": tilted},
        )
    )
    return applied, tilted


def _total(bill: Bill, assistance, tilted, steps) -> tuple[Decimal, Decimal, Decimal]:
    """Step 8: (assistance, tilted, total). A settlement's is what the counter paid (maf_pay,
    tilted part included)."""
    if bill.paid_assistance is None:
        total = assistance + tilted
        steps.append(Step(STEP_TOTAL, {"assistance": assistance, "tilted": tilted, "total": total}))
        return assistance, tilted, total
    steps.append(
        Step(STEP_SETTLEMENT, {"paid": bill.paid_assistance, "computed": assistance + tilted})
    )
    paid = bill.paid_assistance
    steps.append(Step(STEP_SETTLEMENT_TOTAL, {"total": paid}))
    return paid, ZERO, paid


def _not_covered(policy, identities, state, bill, reason, covering, self_pay, self_pay_step):
    """An uncovered bill: every amount zero except self-pay, and the state is unchanged.

    The exception is an uncovered one-stop settlement: what the counter paid was paid, and it
    counts toward the cap.
    """
    steps = []
    if reason == NO_IDENTITY:
        if not identities:
            steps.append(Step(STEP_NO_IDENTITIES, {}))
        for identity in identities:
            if identity.category in covering:
                steps.append(Step(STEP_NO_RULE, {"category": identity.category}))
            else:
                steps.append(_why_not_covered(identity, bill))
    steps.append(Step(UNCOVERED[reason], {}))
    steps.append(self_pay_step)
    paid = ZERO
    if bill.paid_assistance is not None:
        paid = bill.paid_assistance
        steps.append(Step(STEP_SETTLEMENT_UNCOVERED, {"paid": paid}))
        state = YearToDate(
            state.deductible_used, state.assistance_paid + paid, state.tilted_deductible_used
        )
    result = Assessment(
        bill_id=bill.id,
        covered=False,
        reason=reason,
        category=None,
        self_pay=self_pay,
        deductible_applied=ZERO,
        assistance=paid,
        tilted_deductible_applied=ZERO,
        tilted_assistance=ZERO,
        total=paid,
        steps=tuple(steps),
    )
    return result, state


def assess_bills(
    policy: Policy,
    identities: Sequence[Identity],
    state: YearToDate,
    bills: Sequence[Bill],
    today: date,
    *,
    validated: bool = False,
) -> tuple[list[Assessment], YearToDate]:
    """Validate every bill, then assess them as one person's timeline.

    Bills are assessed in date order (discharge or service date, then the given order: §4
    "Bills of one person are assessed in order"), each with the state its predecessor left.
    ``state`` is the state of the first bill's year; a new year starts from zero (W 三(三): the
    deductible and the cap are annual), so no bill depends on a bill of another year.
    Returns the assessments in the given order and the state after the last bill. Raises
    InvalidBill for the first invalid bill, before anything is assessed (`validated`: they
    passed already, e.g. the same timeline under a second policy, §12).
    """
    for bill in () if validated else bills:
        validate_bill(bill, today)
    results: list[Assessment | None] = [None] * len(bills)
    year = None
    for index in sorted(range(len(bills)), key=lambda i: bills[i].end_date):
        bill = bills[index]
        if bill.year != year:
            if year is not None:
                state = YearToDate.zero()
            year = bill.year
        results[index], state = assess_bill(policy, identities, state, bill)
    return results, state
