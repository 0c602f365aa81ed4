"""What the confirm dialogs of an application say will happen, with its figures (issue #19).

The buttons ask before they submit (static/js/portal.js `data-confirm`); the question is built
here, on the server, so it carries the amounts and counts the service is about to act on.
"""

from django.utils.translation import gettext as _

from claims.models import Application
from core.money import format_money


def application_confirmations(application: Application, bills: list, preview) -> dict[str, str]:
    """The questions of the detail page's buttons: submit, approve, reject, record payment."""
    name = application.person.name
    count = len(bills)
    estimate = preview.total if preview is not None else application.total
    figures = {"name": name, "n": count, "amount": format_money(estimate)}
    return {
        "submit": _(
            "提交 %(name)s 的救助申请：%(n)s 张票据，测算救助金额 %(amount)s 元。"
            "提交后由审核人审批，确定提交？"
        )
        % figures,
        "approve": _(
            "审批通过 %(name)s 的救助申请：%(n)s 张票据，救助金额 %(amount)s 元，"
            "并生成审批表编号。确定审批通过？"
        )
        % figures,
        "reject": _("对 %(name)s 的申请（%(n)s 张票据）作出不予救助决定，确定？") % figures,
        "pay": _(
            "登记已向 %(name)s 支付 %(amount)s 元（%(bank)s %(account)s），"
            "并按票据记入医疗救助基金支出。确定？"
        )
        % {
            **figures,
            "amount": format_money(application.total),
            "bank": application.bank_name or _("未填开户银行"),
            "account": application.bank_account,
        },
    }
