from django import forms
from django.utils.translation import gettext_lazy as _

from core.models import Region, User
from monitoring.checks import InvalidPeriod, parse_period
from monitoring.models import Alert


class BootstrapMixin:
    """Bootstrap classes on every widget (small controls in filters)."""

    small = False

    def _style(self):
        size = "-sm" if self.small else ""
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", f"form-select form-select{size}")
            elif isinstance(widget, forms.ClearableFileInput | forms.FileInput):
                widget.attrs.setdefault("class", "form-control")
            else:
                widget.attrs.setdefault("class", f"form-control form-control{size}")


CHECK_CHOICES = [
    ("high_cost", _("高额费用预警（因病致贫/因病返贫）")),
    ("uninsured", _("漏保排查")),
    ("duplicate_enrollment", _("重复参保排查")),
    ("subsidy_without_identity", _("无身份资助参保排查")),
    ("benefit_after_coverage", _("身份终止后享受待遇排查")),
    ("missed_reimbursement", _("漏报销排查")),
    ("out_of_catalog", _("目录外费用占比排查")),
    ("roster_unconfirmed", _("名单未确认身份排查")),
]


class TransitionForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(label=_("新状态"), choices=Alert.Status.choices)
    reason = forms.CharField(
        label=_("说明"),
        required=False,
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("排除预警时必须填写原因。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class ReopenForm(BootstrapMixin, forms.Form):
    reason = forms.CharField(
        label=_("重新打开原因"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()
        self.fields["reason"].widget.attrs["id"] = "id_reopen_reason"


class AssignForm(BootstrapMixin, forms.Form):
    small = True
    assignee = forms.ModelChoiceField(
        label=_("指派给"),
        queryset=User.objects.none(),
        required=False,
        empty_label=_("（取消指派）"),
    )

    def __init__(self, *args, assignees=None, **kwargs):
        super().__init__(*args, **kwargs)
        if assignees is not None:
            self.fields["assignee"].queryset = assignees
        self._style()


class NoteForm(BootstrapMixin, forms.Form):
    text = forms.CharField(
        label=_("备注"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class UploadForm(BootstrapMixin, forms.Form):
    file = forms.FileField(
        label=_("结算明细文件"),
        help_text=_("国家医保信息平台导出的结算明细（CSV 或 xlsx，首行为字段代码）。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._style()


class RunCheckForm(BootstrapMixin, forms.Form):
    check = forms.ChoiceField(label=_("检查"), choices=CHECK_CHOICES)
    period = forms.CharField(
        label=_("期间"), max_length=7, help_text=_("YYYY（年度至今）或 YYYY-MM（截至该月末）")
    )
    area = forms.ModelChoiceField(
        label=_("区划"),
        queryset=Region.objects.none(),
        required=False,
        empty_label=_("本辖区全部"),
    )

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        if regions is not None:
            self.fields["area"].queryset = regions
        self._style()

    def clean_period(self):
        try:
            return parse_period(self.cleaned_data["period"]).text
        except InvalidPeriod as exc:
            raise forms.ValidationError(str(exc)) from exc
