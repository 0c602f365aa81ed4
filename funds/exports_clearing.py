"""The clearing statement (清算单) per payee as a PDF, and the clearing as an Excel workbook
(the lines, then the settlements behind each line). Both read what the pages read."""

import io

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from core.pdf import render_pdf
from core.regions import agency_name
from funds.clearing import PayeeGroup, clearing_payees, line_settlements
from funds.models import Clearing

MONEY_FORMAT = "#,##0.00"


def statement_pdf(clearing: Clearing, group: PayeeGroup, *, by) -> bytes:
    return statements_pdf(clearing, [group], by=by)


def statements_pdf(clearing: Clearing, groups: list[PayeeGroup], *, by) -> bytes:
    """The 清算单 of several payees as ONE document (a section per payee, each starting on a
    new page), rendered in one WeasyPrint call with core.pdf's shared FontConfiguration."""
    html = render_to_string(
        "funds/clearing_pdf.html",
        {
            "clearing": clearing,
            "groups": groups,
            "agency": agency_name(clearing.fund.area),
            "printed_at": timezone.localtime(),
            "printed_by": by,
        },
    )
    return render_pdf(html)


def _header(ws, values, bold, fill) -> None:
    ws.append(values)
    for cell in ws[ws.max_row]:
        cell.font = bold
        cell.fill = fill


def clearing_xlsx(clearing: Clearing) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    bold, fill = Font(bold=True), PatternFill("solid", fgColor="DDE7F3")
    wb = Workbook()
    ws = wb.active
    ws.title = _("清算明细")
    ws.append(
        [
            _("%(fund)s一站式结算清算单（%(period)s）")
            % {"fund": clearing.fund.name, "period": clearing.period}
        ]
    )
    ws["A1"].font = Font(bold=True, size=14)
    ws.append([_("状态：%(status)s；单位：元") % {"status": clearing.get_status_display()}])
    columns = [_("收款方"), _("机构编号"), _("机构名称"), _("结算笔数"), _("退费笔数")]
    columns += [_("医疗费总额"), _("住院救助"), _("门诊救助"), _("清算净额")]
    _header(ws, columns, bold, fill)
    groups = clearing_payees(clearing)
    for group in groups:
        for line in group.lines:
            ws.append(
                [
                    group.name,
                    line.institution_code,
                    line.institution_name,
                    line.settlements,
                    line.reversals,
                    line.medfee_sumamt,
                    line.inpatient,
                    line.outpatient,
                    line.net,
                ]
            )
    ws.append(
        [
            _("合计"),
            "",
            "",
            clearing.settlements,
            clearing.reversals,
            clearing.medfee_sumamt,
            clearing.inpatient,
            clearing.outpatient,
            clearing.total,
        ]
    )
    for row in ws.iter_rows(min_row=4, min_col=6):
        for cell in row:
            cell.number_format = MONEY_FORMAT
    for col, width in zip("ABCDEFGHI", (18, 16, 30, 10, 10, 16, 16, 16, 16), strict=True):
        ws.column_dimensions[col].width = width

    _settlement_sheet(wb.create_sheet(_("结算明细")), groups, bold, fill)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _settlement_sheet(detail, groups, bold, fill) -> None:
    """The settlements behind each line, streamed from the database in chunks."""
    _header(
        detail,
        [
            _("机构编号"),
            _("结算ID"),
            _("原结算ID"),
            _("结算时间"),
            _("医疗类别"),
            _("就诊类型"),
            _("姓名"),
            _("医疗费总额"),
            _("医疗救助基金支出"),
        ],
        bold,
        fill,
    )
    for group in groups:
        for line in group.lines:
            for s in line_settlements(line).iterator(chunk_size=2000):
                detail.append(
                    [
                        s.fixmedins_code,
                        s.setl_id,
                        s.init_setl_id,
                        timezone.localtime(s.setl_time).replace(tzinfo=None),
                        s.med_type,
                        s.get_visit_type_display(),
                        s.psn_name,
                        s.medfee_sumamt,
                        s.maf_pay,
                    ]
                )
