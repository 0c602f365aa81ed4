"""The fund report as an Excel workbook (openpyxl) and a printable A4 PDF (WeasyPrint).

Both render the same `FundReport` the screen shows, so the three never disagree.
"""

import io

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.exports import safe_row
from core.pdf import render_pdf
from core.regions import agency_name
from funds.selectors import FundReport

MONEY_FORMAT = "#,##0.00"


class _Sheet:
    """A worksheet with the report's two row styles: bold boxed headers, boxed money lines."""

    def __init__(self, ws):
        from openpyxl.styles import Border, Font, PatternFill, Side

        thin = Side(style="thin", color="999999")
        self.ws = ws
        self.bold = Font(bold=True)
        self.head_fill = PatternFill("solid", fgColor="DDE7F3")
        self.box = Border(left=thin, right=thin, top=thin, bottom=thin)

    def header(self, values) -> None:
        self.ws.append(safe_row(values))
        for cell in self.ws[self.ws.max_row]:
            cell.font = self.bold
            cell.fill = self.head_fill
            cell.border = self.box

    def line(self, values, indent=0, strong=False) -> None:
        from openpyxl.styles import Alignment

        ws = self.ws
        ws.append(safe_row(values))
        for i, cell in enumerate(ws[ws.max_row]):
            cell.border = self.box
            if i >= 2 and cell.value is not None:
                cell.number_format = MONEY_FORMAT
            if strong:
                cell.font = self.bold
        ws.cell(ws.max_row, 2).alignment = Alignment(indent=indent)


def report_xlsx(report: FundReport) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    _income_expense_sheet(_Sheet(wb.active), report)
    _benefit_sheet(_Sheet(wb.create_sheet(_("待遇支出结构"))), report)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _subject_lines(sheet: _Sheet, lines, total_label: str, totals) -> None:
    for r in lines:
        sheet.line(
            [r.subject.code, r.subject.name, r.amount, r.ytd, r.budget, r.ratio],
            indent=2 * r.depth,
            strong=r.depth == 0,
        )
    sheet.line(
        ["", total_label, totals.amount, totals.ytd, totals.budget, totals.ratio], strong=True
    )


def _income_expense_sheet(sheet: _Sheet, report: FundReport) -> None:
    """收支表: income and expense by subject with budget and execution, then the accounts."""
    from openpyxl.styles import Font

    ws = sheet.ws
    ws.title = _("收支表")
    title = _("%(fund)s收支情况表（%(period)s）") % {
        "fund": report.fund.name,
        "period": report.title,
    }
    ws.append(safe_row([title]))
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([_("期间：%(a)s 至 %(b)s；单位：元") % {"a": report.start, "b": report.end}])
    ws.append([])
    sheet.header(
        [_("科目编码"), _("收入科目"), _("本期金额"), _("本年累计"), _("年度预算"), _("执行率%")]
    )
    _subject_lines(sheet, report.income, _("收入合计"), report.income_totals)
    ws.append([])
    sheet.header(
        [_("科目编码"), _("支出科目"), _("本期金额"), _("本年累计"), _("年度预算"), _("执行率%")]
    )
    _subject_lines(sheet, report.expense, _("支出合计"), report.expense_totals)
    sheet.line(["", _("本期收支结余"), report.surplus, report.surplus_ytd, None, None], strong=True)
    ws.append([])
    sheet.header(
        [_("科目编码"), _("银行账户"), _("期初余额"), _("本期收入"), _("本期支出"), _("期末余额")],
    )
    for a in report.accounts:
        sheet.line([a.subject.code, a.subject.name, a.opening, a.debit, a.credit, a.closing])
    sheet.line(
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


def _benefit_sheet(sheet: _Sheet, report: FundReport) -> None:
    """待遇支出结构: benefit expense by category, one-stop beside manual, per visit type."""
    ws2 = sheet.ws
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
        cell.font = sheet.bold
        cell.fill = sheet.head_fill
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


def report_pdf(report: FundReport, *, by) -> bytes:
    html = render_to_string(
        "funds/report_pdf.html",
        {
            "report": report,
            "agency": agency_name(report.fund.area),
            "printed_at": timezone.localtime(),
            "printed_by": by,
        },
    )
    return render_pdf(html)
