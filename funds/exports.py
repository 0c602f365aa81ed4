"""The fund report as an Excel workbook (openpyxl) and a printable A4 PDF (WeasyPrint).

Both render the same `FundReport` the screen shows, so the three never disagree.
"""

import io

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exports import safe_row
from core.pdf import render_pdf
from funds.selectors import FundReport

MONEY_FORMAT = "#,##0.00"


def report_xlsx(report: FundReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Side

    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE7F3")
    thin = Side(style="thin", color="999999")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)

    wb = Workbook()
    ws = wb.active
    ws.title = _("收支表")
    title = _("%(fund)s收支情况表（%(period)s）") % {
        "fund": report.fund.name,
        "period": report.title,
    }

    def header(row, values):
        ws.append(safe_row(values))
        for cell in ws[ws.max_row]:
            cell.font = bold
            cell.fill = head_fill
            cell.border = box
        return row

    def line(values, indent=0, strong=False):
        ws.append(safe_row(values))
        for i, cell in enumerate(ws[ws.max_row]):
            cell.border = box
            if i >= 2 and cell.value is not None:
                cell.number_format = MONEY_FORMAT
            if strong:
                cell.font = bold
        ws.cell(ws.max_row, 2).alignment = Alignment(indent=indent)

    ws.append(safe_row([title]))
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([_("期间：%(a)s 至 %(b)s；单位：元") % {"a": report.start, "b": report.end}])
    ws.append([])
    header(
        0, [_("科目编码"), _("收入科目"), _("本期金额"), _("本年累计"), _("年度预算"), _("执行率%")]
    )
    for r in report.income:
        line(
            [r.subject.code, r.subject.name, r.amount, r.ytd, r.budget, r.ratio],
            indent=2 * r.depth,
            strong=r.depth == 0,
        )
    t = report.income_totals
    line(["", _("收入合计"), t.amount, t.ytd, t.budget, t.ratio], strong=True)
    ws.append([])
    header(
        0, [_("科目编码"), _("支出科目"), _("本期金额"), _("本年累计"), _("年度预算"), _("执行率%")]
    )
    for r in report.expense:
        line(
            [r.subject.code, r.subject.name, r.amount, r.ytd, r.budget, r.ratio],
            indent=2 * r.depth,
            strong=r.depth == 0,
        )
    t = report.expense_totals
    line(["", _("支出合计"), t.amount, t.ytd, t.budget, t.ratio], strong=True)
    line(["", _("本期收支结余"), report.surplus, report.surplus_ytd, None, None], strong=True)
    ws.append([])
    header(
        0,
        [_("科目编码"), _("银行账户"), _("期初余额"), _("本期收入"), _("本期支出"), _("期末余额")],
    )
    for a in report.accounts:
        line([a.subject.code, a.subject.name, a.opening, a.debit, a.credit, a.closing])
    line(
        [
            "",
            _("合计"),
            report.opening_total,
            report.debit_total,
            report.credit_total,
            report.closing_total,
        ],
        strong=True,
    )
    for col, width in zip("ABCDEF", (12, 26, 18, 18, 18, 18), strict=True):
        ws.column_dimensions[col].width = width

    ws2 = wb.create_sheet(_("待遇支出结构"))
    visits = [label for _c, label in report.benefit_visit_columns]
    onestop, manual = _("一站式结算"), _("手工报销")
    ws2.append(
        safe_row(
            [_("救助对象类别")]
            + [f"{onestop}·{v}" for v in visits]
            + [f"{manual}·{v}" for v in visits]
            + [_("资助参保"), _("合计")]
        )
    )
    for cell in ws2[1]:
        cell.font = bold
        cell.fill = head_fill
    for b in report.benefits:
        ws2.append(safe_row([b["label"], *b["onestop"], *b["manual"], b["subsidy"], b["total"]]))
    ws2.append(
        [
            _("合计"),
            *report.benefit_onestop_totals,
            *report.benefit_manual_totals,
            report.benefit_subsidy_total,
            report.benefit_total,
        ]
    )
    for row in ws2.iter_rows(min_row=2, min_col=2):
        for cell in row:
            cell.number_format = MONEY_FORMAT
    ws2.column_dimensions["A"].width = 24
    for col in "BCDEFGHI":
        ws2.column_dimensions[col].width = 18

    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def report_pdf(report: FundReport, *, by) -> bytes:
    html = render_to_string(
        "funds/report_pdf.html",
        {
            "report": report,
            "agency": settings.AGENCY_NAME,
            "printed_at": timezone.localtime(),
            "printed_by": by,
        },
    )
    return render_pdf(html)
