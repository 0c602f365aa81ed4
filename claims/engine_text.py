"""The words of the assessment engine: its msgids, the Step they fill, and their rendering.

Pure Python, like claims/engine.py (which imports this, never the other way round). The
templates are Chinese msgids marked with ``gettext_noop`` (Django's makemessages extracts them);
``render_steps`` formats and translates them on demand, never during the assessment itself.
"""

from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from core.money import format_money


def gettext_noop(message: str) -> str:
    """Marks a msgid for makemessages without translating it; ``render_steps`` translates."""
    return message


def untranslated(message: str) -> str:
    return message


CATEGORY_LABELS = {
    "destitute": gettext_noop("特困人员"),
    "subsistence": gettext_noop("低保对象"),
    "poverty_risk": gettext_noop("易返贫致贫人口"),
    "near_subsistence": gettext_noop("低保边缘家庭成员"),
    "illness_impoverished": gettext_noop("因病致贫重病患者"),
    "other_special": gettext_noop("其他特殊困难人员"),
}


class Step(NamedTuple):
    """One line of the explanation: a msgid and its parameters, formatted by render_steps."""

    template: str
    params: Mapping[str, Any]


# --- Messages (msgids) ----------------------------------------------------------------------

MSG_INVALID_BILL = gettext_noop("账单 %(bill)s 的 %(fields)s：%(message)s")
MSG_UNKNOWN_VISIT_TYPE = gettext_noop("未知的就医类别“%(value)s”。")
MSG_REQUIRED_DATE = gettext_noop("缺少日期（住院须填写入院和出院日期，门诊须填写就诊日期）。")
MSG_NEGATIVE = gettext_noop("金额不能为负数（%(value)s 元）。")
MSG_RANGE_OVER_TOTAL = gettext_noop(
    "政策范围内费用（%(policy_range_cost)s 元）不能大于医疗费总额（%(total_cost)s 元）。"
)
MSG_PAID_OVER_RANGE = gettext_noop(
    "基本医保支付与大病保险支付之和（%(paid)s 元）不能大于政策范围内费用"
    "（%(policy_range_cost)s 元）。"
)
MSG_ADMITTED_AFTER_DISCHARGED = gettext_noop(
    "入院日期 %(admitted)s 不能晚于出院日期 %(discharged)s。"
)
MSG_FUTURE_DATE = gettext_noop("日期 %(value)s 晚于今天（%(today)s）。")

STEP_CATEGORY = gettext_noop("适用救助类别：%(category)s。")
STEP_HIGHEST_OF = gettext_noop(
    "同时持有 %(categories)s 身份，按就高不就低取 %(category)s，只救助一次。"
)
STEP_SELF_PAY = gettext_noop(
    "政策范围内个人自付 = 政策范围内费用 %(policy_range_cost)s − 基本医保支付 %(basic)s"
    " − 大病保险支付 %(critical)s = %(self_pay)s 元"
)
STEP_DEDUCTIBLE = gettext_noop(
    "起付标准 %(deductible)s 元，已累计 %(used)s 元，本次扣除 %(applied)s 元"
)
STEP_BASIC = gettext_noop("基本救助 =（%(self_pay)s − %(applied)s）× %(ratio)s = %(amount)s 元")
STEP_CAP = gettext_noop(
    "年度救助限额 %(cap)s 元，本年已救助 %(paid)s 元，尚可救助 %(left)s 元，"
    "本次基本救助 %(assistance)s 元"
)
STEP_NO_CAP = gettext_noop("不设年度救助限额，本次基本救助 %(assistance)s 元")
STEP_NO_TILTED = gettext_noop("倾斜救助仅限区内住院，本次不适用")
STEP_TILTED_DEDUCTIBLE = gettext_noop(
    "倾斜救助：个人负担 = %(self_pay)s − %(assistance)s = %(burden)s 元；起付标准"
    " %(deductible)s 元，已累计 %(used)s 元，本次扣除 %(applied)s 元"
)
STEP_TILTED = gettext_noop(
    "倾斜救助 =（%(burden)s − %(applied)s）× %(ratio)s = %(amount)s 元（不设限额）"
)
STEP_SETTLEMENT = gettext_noop(
    "一站式结算：医疗救助按医院窗口实际支付 %(paid)s 元计（测算为 %(computed)s 元），"
    "起付标准按测算累计"
)
STEP_SETTLEMENT_TOTAL = gettext_noop("救助合计 = 医院窗口实际支付 %(total)s 元")
STEP_SETTLEMENT_UNCOVERED = gettext_noop(
    "一站式结算：医院窗口已支付医疗救助 %(paid)s 元，计入本年已救助金额"
)
STEP_TOTAL = gettext_noop("救助合计 = 基本救助 %(assistance)s + 倾斜救助 %(tilted)s = %(total)s 元")
STEP_NO_IDENTITIES = gettext_noop("没有救助身份记录。")
STEP_NO_RULE = gettext_noop("%(category)s 在本政策中没有救助标准，不予救助。")
STEP_NOT_YET = gettext_noop("%(category)s 身份自 %(start)s 起享受，晚于%(what)s %(date)s。")
STEP_ENDED_DURING_STAY = gettext_noop(
    "%(category)s 身份于 %(end)s 终止，在住院期间（%(admitted)s 至 %(discharged)s），"
    "不覆盖本次住院。"
)
STEP_EXPIRED = gettext_noop(
    "%(category)s 身份于 %(end)s 终止，享受至 %(coverage_end)s（次月起不再享受），"
    "%(what)s %(date)s 已超出。"
)
LIST_SEPARATOR = gettext_noop("、")  # between category names in a step; ", " in English
WHAT_DISCHARGED = gettext_noop("出院日期")
WHAT_SERVICE_DATE = gettext_noop("就诊日期")


# --- Rendering ------------------------------------------------------------------------------


def format_percent(ratio: Decimal) -> str:
    """0.7 → 70%, 0.625 → 62.5%."""
    percent = (ratio * 100).normalize()
    return f"{percent:f}%"


def _format_value(name: str, value: Any, translate: Callable[[str], str]) -> str:
    if name == "category":
        return translate(CATEGORY_LABELS.get(value, value))
    if name == "categories":
        separator = translate(LIST_SEPARATOR)
        return separator.join(translate(CATEGORY_LABELS.get(v, v)) for v in value)
    if name == "what":
        return translate(value)
    if isinstance(value, Decimal):
        return format_percent(value) if name.endswith("ratio") else format_money(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def format_message(
    template: str, params: Mapping[str, Any], translate: Callable[[str], str]
) -> str:
    values = {name: _format_value(name, value, translate) for name, value in params.items()}
    return translate(template) % values


def render_steps(assessment, translate: Callable[[str], str] = untranslated) -> list[str]:
    """The steps of ``assessment`` as readable lines, translated by ``translate`` (gettext)."""
    return [format_message(step.template, step.params, translate) for step in assessment.steps]


# Parameters whose words depend on the language; the others are numbers and dates, formatted
# the same in every language, so a stored record keeps them already formatted.
_WORDED_PARAMS = frozenset({"category", "categories", "what"})


def step_record(template: str, params: Mapping[str, Any]) -> dict:
    """One step as JSON to store: its msgid and parameters, words left as keys/msgids."""
    stored = {}
    for name, value in params.items():
        if name in _WORDED_PARAMS:
            stored[name] = list(value) if isinstance(value, tuple | list) else value
        else:
            stored[name] = _format_value(name, value, untranslated)
    return {"msgid": template, "params": stored}


def step_records(assessment) -> list[dict]:
    """The steps of ``assessment`` as stored records (see ``render_records``)."""
    return [step_record(step.template, step.params) for step in assessment.steps]


def render_records(records, translate: Callable[[str], str] = untranslated) -> list[str]:
    """Stored step records as readable lines in the language of ``translate``."""
    return [format_message(r["msgid"], r["params"], translate) for r in records]
