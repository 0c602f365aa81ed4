"""The columns of the fund pages' lists: sort keys and export cells (core.listing)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from core.listing import Column


def _legs(voucher) -> str:
    return "; ".join(f"{leg.subject.full_name} {leg.amount:.2f}" for leg in voucher.legs.all())


VOUCHER_COLUMNS = [
    Column("id", "#", ("id",), lambda v: v.pk),
    Column("booked", _l("记账日期"), ("booked_on",), lambda v: v.booked_on),
    Column("reference", _l("凭证号"), ("reference",), lambda v: v.reference),
    Column("kind", _l("业务类型"), ("kind",), lambda v: v.get_kind_display()),
    Column("memo", _l("摘要"), ("memo",), lambda v: v.memo),
    Column("legs", _l("分录（借＋ 贷－）"), (), _legs),
    Column("amount", _l("金额"), (), lambda v: v.amount),
    Column("status", _l("状态"), ("status",), lambda v: v.get_status_display()),
    Column("by", _l("制单 / 复核"), ("created_by__name",), lambda v: _makers(v)),
]


def _makers(voucher) -> str:
    made = str(voucher.created_by or _("系统"))
    return f"{made} / {voucher.approved_by}" if voucher.approved_by else made


CLEARING_COLUMNS = [
    Column("period", _l("清算月份"), ("year", "month"), lambda c: c.period),
    Column("status", _l("状态"), ("status",), lambda c: c.get_status_display()),
    Column("settlements", _l("结算笔数"), ("settlements",), lambda c: c.settlements),
    Column("payees", _l("收款方数"), ("payees",), lambda c: c.payees),
    Column("total", _l("清算金额合计"), ("total",), lambda c: c.total),
    Column("cross_area", _l("其中异地就医清算"), ("cross_area",), lambda c: c.cross_area),
    Column(
        "computed_by",
        _l("制单人"),
        ("computed_by__name",),
        lambda c: str(c.computed_by or _("命令行")),
    ),
    Column("approved_by", _l("审核人"), ("approved_by__name",), lambda c: str(c.approved_by or "")),
    Column("paid_by", _l("支付登记人"), ("paid_by__name",), lambda c: str(c.paid_by or "")),
]
