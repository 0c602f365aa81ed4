"""`python manage.py assess FILE` — DOMAIN §4 "The assess command (contract)", exactly.

The policy test bench (测算): JSON in, the engine's assessments out as JSON. No database: the
policy comes with the input. Invalid input (bad JSON, a missing field, a bad amount or date, a
bill failing §4 step 1) exits with status 2 and a message on stderr naming the bill (or the
part of the input) and the field; nothing is written to stdout.
"""

import json
import sys
from datetime import date
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from claims.engine import (
    CATEGORIES,
    Bill,
    CategoryRule,
    Identity,
    InvalidBill,
    Policy,
    YearToDate,
    assess_bills,
)
from core.dates import shanghai_today
from core.money import money
from core.tabular import parse_iso_date

AMOUNT_LIMIT = Decimal("1000000000000")  # DecimalField(max_digits=14, decimal_places=2)
BILL_FLAGS = ("designated", "in_coordination_area", "in_region", "referred")
BILL_AMOUNTS = ("total_cost", "policy_range_cost", "basic_insurance_paid", "critical_illness_paid")
MISSING = object()


class InputError(Exception):
    def __init__(self, where: str, field: str, message: str):
        super().__init__(
            _("%(where)s 的 %(field)s：%(message)s")
            % {"where": where, "field": field, "message": message}
        )


class Command(BaseCommand):
    help = "Assess bills with the engine (DOMAIN §4): JSON from FILE (- for stdin) to stdout."
    requires_system_checks = []  # a test bench: no database, no project checks

    def add_arguments(self, parser):
        parser.add_argument("file", help="JSON input; - reads stdin")

    def handle(self, *args, file, **options):
        try:
            document = _load(file)
            policy, identities, state, bills = _parse(document)
            results, state = assess_bills(policy, identities, state, bills, shanghai_today())
        except InputError as exc:
            raise CommandError(str(exc), returncode=2) from None
        except InvalidBill as exc:
            raise CommandError(exc.describe(_), returncode=2) from None
        output = {
            "bills": [
                _result(raw["id"], result)
                for raw, result in zip(document["bills"], results, strict=True)
            ],
            "year_to_date": {
                "deductible_used": _money_text(state.deductible_used),
                "assistance_paid": _money_text(state.assistance_paid),
                "tilted_deductible_used": _money_text(state.tilted_deductible_used),
            },
        }
        self.stdout.write(json.dumps(output, ensure_ascii=False, indent=2))


def _money_text(amount: Decimal) -> str:
    return str(money(amount))


def _result(bill_id, result) -> dict:
    return {
        "id": bill_id,
        "covered": result.covered,
        "reason": result.reason,
        "category": result.category,
        "self_pay": _money_text(result.self_pay),
        "deductible_applied": _money_text(result.deductible_applied),
        "assistance": _money_text(result.assistance),
        "tilted_deductible_applied": _money_text(result.tilted_deductible_applied),
        "tilted_assistance": _money_text(result.tilted_assistance),
        "total": _money_text(result.total),
        "steps": result.step_lines(_),
    }


# --- Reading ------------------------------------------------------------------------------


def _load(file: str):
    try:
        if file == "-":
            stream = getattr(sys.stdin, "buffer", None)
            text = stream.read().decode("utf-8-sig") if stream else sys.stdin.read()
        else:
            with open(file, encoding="utf-8-sig") as handle:
                text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(file, _("文件"), str(exc)) from None
    try:
        # Amounts keep every digit: JSON numbers become Decimal, never float.
        document = json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except ValueError as exc:
        message = _("不是有效的 JSON（%(error)s）。") % {"error": exc}
        raise InputError(_("输入"), "JSON", message) from None
    if not isinstance(document, dict):
        raise InputError(_("输入"), "JSON", _("应为一个 JSON 对象。"))
    return document


def _reject_constant(name):
    raise ValueError(_("不接受 %(name)s") % {"name": name})


def _parse(document: dict):
    policy = _policy(_get(document, "policy", _("输入"), kind=dict))
    identities = [
        _identity(item, f"identities[{n}]")
        for n, item in enumerate(_get(document, "identities", _("输入"), kind=list))
    ]
    state = YearToDate.zero()
    raw_state = document.get("year_to_date")
    if raw_state is not None:
        if not isinstance(raw_state, dict):
            raise InputError(_("输入"), "year_to_date", _("应为 JSON 对象。"))
        state = YearToDate(
            *(
                _amount(_get(raw_state, name, "year_to_date"), "year_to_date", name, negative=False)
                for name in ("deductible_used", "assistance_paid", "tilted_deductible_used")
            )
        )
    bills = [_bill(item, n) for n, item in enumerate(_get(document, "bills", _("输入"), kind=list))]
    return policy, identities, state, bills


def _policy(raw: dict) -> Policy:
    where = "policy"
    categories = {}
    for category, rule in _get(raw, "categories", where, kind=dict).items():
        field = f"categories.{category}"
        _known_category(category, where, field)
        if not isinstance(rule, dict):
            raise InputError(where, field, _("应为 JSON 对象。"))
        categories[category] = CategoryRule(
            deductible=_amount(
                _get(rule, "deductible", where), where, f"{field}.deductible", negative=False
            ),
            ratio=_ratio(_get(rule, "ratio", where), where, f"{field}.ratio"),
        )
    rank = raw.get("rank") or list(CATEGORIES)
    if not isinstance(rank, list):
        raise InputError(where, "rank", _("应为类别列表。"))
    for category in rank:
        _known_category(category, where, "rank")
    if len(set(rank)) != len(rank):
        raise InputError(where, "rank", _("类别重复。"))
    # Categories the rank leaves out come last, in the default order (W 三(二)(三)).
    rank = (*rank, *(c for c in CATEGORIES if c not in rank))
    cap = _get(raw, "annual_cap", where)
    tilted = _get(raw, "tilted", where, kind=dict)
    return Policy(
        annual_cap=None if cap is None else _amount(cap, where, "annual_cap", negative=False),
        categories=categories,
        tilted_deductible=_amount(
            _get(tilted, "deductible", where), where, "tilted.deductible", negative=False
        ),
        tilted_ratio=_ratio(_get(tilted, "ratio", where), where, "tilted.ratio"),
        rank=rank,
    )


def _identity(raw, where: str) -> Identity:
    if not isinstance(raw, dict):
        raise InputError(where, "-", _("应为 JSON 对象。"))
    category = _get(raw, "category", where)
    _known_category(category, where, "category")
    start = _date(_get(raw, "start", where), where, "start")
    end = _date(raw.get("end"), where, "end", optional=True)
    if end is not None and end < start:
        raise InputError(where, "end", _("终止日期不能早于认定日期。"))
    return Identity(category, start, end)


def _bill(raw, number: int) -> Bill:
    if not isinstance(raw, dict):
        raise InputError(_("第 %(n)s 张账单") % {"n": number + 1}, "-", _("应为 JSON 对象。"))
    bill_id = raw.get("id")
    if isinstance(bill_id, bool) or not isinstance(bill_id, str | int) or bill_id == "":
        raise InputError(_("第 %(n)s 张账单") % {"n": number + 1}, "id", _("缺少账单编号。"))
    where = _("账单 %(bill)s") % {"bill": bill_id}
    visit_type = _get(raw, "visit_type", where)
    if not isinstance(visit_type, str):
        raise InputError(where, "visit_type", _("应为文本。"))
    paid = raw.get("paid_assistance")
    return Bill(
        id=str(bill_id),
        visit_type=visit_type,
        admitted=_date(raw.get("admitted"), where, "admitted", optional=True),
        discharged=_date(raw.get("discharged"), where, "discharged", optional=True),
        service_date=_date(raw.get("service_date"), where, "service_date", optional=True),
        **{name: _flag(_get(raw, name, where), where, name) for name in BILL_FLAGS},
        # Negative amounts pass here: the engine refuses them with its §4 step-1 message.
        **{name: _amount(_get(raw, name, where), where, name) for name in BILL_AMOUNTS},
        paid_assistance=None if paid is None else _amount(paid, where, "paid_assistance"),
    )


# --- Fields ---------------------------------------------------------------------------------


def _get(raw: dict, name: str, where: str, kind: type | None = None):
    value = raw.get(name, MISSING)
    if value is MISSING:
        raise InputError(where, name, _("缺少此项。"))
    if kind is not None and not isinstance(value, kind):
        expected = _("JSON 对象") if kind is dict else _("JSON 列表")
        raise InputError(where, name, _("应为%(kind)s。") % {"kind": expected})
    return value


def _known_category(category, where: str, field: str) -> None:
    if category not in CATEGORIES:
        raise InputError(where, field, _("未知的救助对象类别“%(value)s”。") % {"value": category})


def _decimal(value, where: str, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise InputError(where, field, _("不是有效的数值：%(value)s。") % {"value": value})
    try:
        number = Decimal(value.strip() if isinstance(value, str) else value)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise InputError(where, field, _("不是有效的数值：%(value)s。") % {"value": value})
    return number


def _amount(value, where: str, field: str, negative: bool = True) -> Decimal:
    amount = _decimal(value, where, field)
    if abs(amount) >= AMOUNT_LIMIT:
        raise InputError(where, field, _("金额过大：%(value)s。") % {"value": value})
    if amount != amount.quantize(Decimal("0.01")):
        raise InputError(where, field, _("金额最多两位小数：%(value)s。") % {"value": value})
    if not negative and amount < 0:
        raise InputError(where, field, _("金额不能为负数：%(value)s。") % {"value": value})
    return amount


def _ratio(value, where: str, field: str) -> Decimal:
    ratio = _decimal(value, where, field)
    if not 0 <= ratio <= 1:
        raise InputError(
            where, field, _("比例应在 0 到 1 之间（即 0%%–100%%）：%(value)s。") % {"value": value}
        )
    return ratio


def _date(value, where: str, field: str, optional: bool = False) -> date | None:
    if value is None and optional:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return parse_iso_date(value)
    except ValueError:
        raise InputError(
            where, field, _("不是有效的日期（YYYY-MM-DD）：%(value)s。") % {"value": value}
        ) from None


def _flag(value, where: str, field: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(where, field, _("应为 true 或 false：%(value)s。") % {"value": value})
    return value
