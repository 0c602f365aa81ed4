"""The balance-reconciliation statement (余额调节表) a reconciliation is finished with.

When the fiscal special account's books and the finance department's statement still differ
by items one side has recorded and the other not yet (未达账项), the month is finished with a
statement that adjusts both balances by those items and shows they agree:

    book balance + credited by finance, not yet booked − debited by finance, not yet booked
  = statement balance + booked receipts not yet on the statement − booked payments not yet on it

It is a snapshot, written once when the reconciliation is finished (the items may be matched
in a later month; what was signed stays as it was). `funds.reconciliation.stored_report`
reads it back as the report the page and the PDF show.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class BalanceStatement(models.Model):
    class Side(models.TextChoices):
        BANK_CREDIT = "bank_credit", _("财政已收、本单位未记")
        BANK_DEBIT = "bank_debit", _("财政已付、本单位未记")
        BOOK_DEBIT = "book_debit", _("本单位已收、财政未记")
        BOOK_CREDIT = "book_credit", _("本单位已付、财政未记")

    reconciliation = models.OneToOneField(
        "funds.Reconciliation",  # by name: funds.models imports this module
        verbose_name=_("对账"),
        on_delete=models.PROTECT,
        related_name="balance_statement",
    )
    period_end = models.DateField(_("截止日期"))
    book_balance = models.DecimalField(_("账簿余额"), max_digits=14, decimal_places=2)
    statement_balance = models.DecimalField(_("对账单余额"), max_digits=14, decimal_places=2)
    adjusted_balance = models.DecimalField(_("调节后余额"), max_digits=14, decimal_places=2)
    # [{"side": Side, "date": "YYYY-MM-DD", "reference": …, "memo": …, "amount": "123.45"}]
    items = models.JSONField(_("未达账项"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("编制人"),
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("编制时间"), auto_now_add=True)

    class Meta:
        verbose_name = _("余额调节表")
        verbose_name_plural = _("余额调节表")

    def __str__(self):
        return f"{self.reconciliation} {self.adjusted_balance}"
