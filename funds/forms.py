from django import forms
from django.utils.translation import gettext_lazy as _

from funds.models import Subject, Transaction

MANUAL_KINDS = [
    (Transaction.Kind.INCOME, _("收入（财政补贴、福彩公益金、上级补助等）")),
    (Transaction.Kind.TRANSFER, _("账户划转（财政专户 ⇄ 支出户）")),
    (Transaction.Kind.INTEREST, _("利息收入")),
    (Transaction.Kind.SWEEP, _("利息缴存财政专户（支出户 → 财政专户）")),
    (Transaction.Kind.EXPENSE, _("支出（上解上级、补助下级、其他支出）")),
]


def _subject_choices(*kinds):
    """Postable subjects of `kinds`, in the order the kinds are given."""
    qs = Subject.objects.filter(postable=True, kind__in=kinds).select_related("parent")
    ordered = sorted(qs, key=lambda s: (kinds.index(s.kind), s.code))
    return [(s.code, f"{s.code} {s.full_name}") for s in ordered]


class EntryForm(forms.Form):
    kind = forms.ChoiceField(label=_("业务类型"), choices=MANUAL_KINDS)
    booked_on = forms.DateField(label=_("记账日期"), widget=forms.DateInput(attrs={"type": "date"}))
    account = forms.ChoiceField(
        label=_("银行账户"),
        help_text=_("收入、利息记入该账户；支出从该账户付出；划转时为转入账户。"),
    )
    counter = forms.ChoiceField(label=_("对方科目"))
    amount = forms.DecimalField(label=_("金额（元）"), max_digits=14, decimal_places=2, min_value=0)
    reference = forms.CharField(label=_("凭证号"), max_length=40, required=False)
    memo = forms.CharField(label=_("摘要"), max_length=200)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = _subject_choices(Subject.Kind.ACCOUNT)
        self.fields["counter"].choices = _subject_choices(
            Subject.Kind.INCOME, Subject.Kind.EXPENSE, Subject.Kind.ACCOUNT
        )


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("退回原因"), max_length=200)


class ReverseForm(forms.Form):
    memo = forms.CharField(label=_("冲销原因"), max_length=200)
    booked_on = forms.DateField(label=_("冲销日期"), widget=forms.DateInput(attrs={"type": "date"}))


class ReopenForm(forms.Form):
    reason = forms.CharField(label=_("反结账原因"), max_length=200)


class StatementForm(forms.Form):
    period = forms.RegexField(
        label=_("对账期间"),
        regex=r"^\d{4}-(0[1-9]|1[0-2])$",
        widget=forms.TextInput(attrs={"type": "month"}),
        error_messages={"invalid": _("请填写 YYYY-MM 格式的月份。")},
    )
    file = forms.FileField(label=_("财政专户对账单（.xlsx 或 .csv）"))


class AdjustForm(forms.Form):
    counter = forms.ChoiceField(label=_("对方科目"))
    memo = forms.CharField(label=_("摘要"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["counter"].choices = _subject_choices(
            Subject.Kind.INCOME, Subject.Kind.EXPENSE, Subject.Kind.ACCOUNT
        )
