"""A finished simulation run for reading (测算结果, DOMAIN §12): the side-by-side rows, a
server-rendered SVG chart (no script, no inline style: CSP) and the Excel workbook.

Everything here reads `SimulationRun.result` (what the task stored); nothing is recomputed.
"""

import io
import json
from decimal import Decimal

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from claims.models import SimulationRun
from claims.simulation import breakdown_rows, result_rows
from core.choices import Category, VisitType
from core.exports import safe_cell, safe_row
from core.money import format_money

IN_FORCE, DRAFT = "#2f6fb0", "#d9822b"
WIDTH, LABEL, RIGHT, ROW, BAR, TOP = 760, 150, 90, 34, 12, 28
MONEY_FORMAT = "#,##0.00"


def total_labels() -> dict[str, str]:
    return {
        "assistance": _("基本救助"),
        "tilted": _("倾斜救助"),
        "total": _("救助合计"),
        "persons_assisted": _("获救助人数"),
        "persons_at_cap": _("达到年度限额人数"),
    }


def report(run: SimulationRun) -> dict:
    """The rows of a run's result, labelled: totals, by category, by visit type."""
    if not run.result:
        return {"totals": [], "categories": [], "visit_types": []}
    totals, categories = result_rows(run.result)
    labels = total_labels()
    category_labels, visit_labels = dict(Category.choices), dict(VisitType.choices)
    return {
        "totals": [(labels[key], *rest) for key, *rest in totals],
        "categories": [(category_labels.get(c, c), *rest) for c, *rest in categories],
        "visit_types": [
            (visit_labels.get(v, v), *rest)
            for v, *rest in breakdown_rows(run.result, "by_visit_type")
        ],
    }


def comparison_chart(rows: list[tuple]) -> SafeString:
    """Horizontal bars, in force vs draft, one pair per row (label, in force, draft, …)."""
    values = [(label, Decimal(a), Decimal(b)) for label, a, b, *_rest in rows]
    top = max([max(a, b) for _label, a, b in values] + [Decimal(0)]) or Decimal(1)
    plot = WIDTH - LABEL - RIGHT
    height = TOP + ROW * len(values) + 8
    parts = []
    for i, (label, in_force, draft) in enumerate(values):
        y = TOP + i * ROW
        parts.append(
            format_html(
                '<text x="{}" y="{}" text-anchor="end" font-size="12" fill="#212529">{}</text>',
                LABEL - 8,
                y + BAR + 4,
                label,
            )
        )
        for j, (amount, color, side) in enumerate(
            ((in_force, IN_FORCE, _("现行政策")), (draft, DRAFT, _("测算政策")))
        ):
            width = max(float(amount / top) * plot, 0) if amount > 0 else 0
            parts.append(
                format_html(
                    '<rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
                    "<title>{} {}：{}</title></rect>"
                    '<text x="{}" y="{}" font-size="10" fill="#495057">{}</text>',
                    LABEL,
                    y + j * BAR,
                    f"{width:.1f}",
                    BAR - 1,
                    color,
                    label,
                    side,
                    format_money(amount),
                    f"{LABEL + width + 4:.1f}",
                    y + j * BAR + BAR - 2,
                    format_money(amount),
                )
            )
    legend = format_html_join(
        "",
        '<rect x="{}" y="6" width="10" height="10" fill="{}"/>'
        '<text x="{}" y="15" font-size="11" fill="#495057">{}</text>',
        [
            (LABEL, IN_FORCE, LABEL + 14, _("现行政策")),
            (LABEL + 90, DRAFT, LABEL + 104, _("测算政策")),
        ],
    )
    return format_html(
        '<svg viewBox="0 0 {} {}" width="100%" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg" class="sim-chart">{}{}</svg>',
        WIDTH,
        height,
        _("现行政策与测算政策救助金额对比"),
        legend,
        SafeString("".join(parts)),
    )


def chart_rows(rows: dict) -> list[tuple]:
    """The chart's rows: the three money totals, then each visit type and each category."""
    money_totals = [row for row in rows["totals"] if row[-1]]
    return money_totals + rows["visit_types"] + rows["categories"]


def _sheet(ws, title: str, head: str, rows: list[tuple], bold, money: bool = True) -> None:
    ws.title = title
    ws.append(safe_row([head, _("现行政策"), _("测算政策"), _("差额")]))
    for cell in ws[ws.max_row]:
        cell.font = bold
    for label, in_force, draft, difference, *rest in rows:
        is_money = rest[0] if rest else money
        values = [in_force, draft, difference]
        ws.append([safe_cell(str(label))] + [Decimal(v) if is_money else v for v in values])
        if is_money:
            for cell in ws[ws.max_row][1:]:
                cell.number_format = MONEY_FORMAT
    ws.column_dimensions["A"].width = 22
    for column in "BCD":
        ws.column_dimensions[column].width = 16


def run_xlsx(run: SimulationRun) -> bytes:
    """The run as a workbook: who/when/which draft, totals, by category, by visit type,
    and the draft policy itself. Every text cell through `safe_cell` (DOMAIN §8)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    bold = Font(bold=True)
    rows = report(run)
    wb = Workbook()
    ws = wb.active
    ws.title = _("测算信息")
    who = run.created_by.name or run.created_by.username
    for key, value in (
        (_("测算编号"), run.pk),
        (_("统筹地区"), f"{run.area_id} {run.area.name}"),
        (_("测算年度"), run.year),
        (_("发起人"), who),
        (_("发起时间"), run.created_at.strftime("%Y-%m-%d %H:%M")),
        (_("说明"), run.note),
        (_("状态"), run.get_status_display()),
        (_("测算人数"), run.result.get("persons", "")),
        (_("结算及票据笔数"), run.result.get("bills", "")),
        (_("测算政策（JSON）"), json.dumps(run.draft, ensure_ascii=False)),
    ):
        ws.append([safe_cell(str(key)), safe_cell(value if isinstance(value, int) else str(value))])
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 60
    _sheet(wb.create_sheet(), _("汇总"), _("项目"), rows["totals"], bold)
    _sheet(wb.create_sheet(), _("按救助类别"), _("救助类别"), rows["categories"], bold)
    _sheet(wb.create_sheet(), _("按就诊类型"), _("就诊类型"), rows["visit_types"], bold)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
