"""Forms check the shape of input; the services check the rules (and their errors land here)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from claims.models import Application, Bill, Institution
from claims.selectors import institutions
from core.dates import shanghai_today


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def _bootstrap(form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxSelectMultiple):
            continue
        if isinstance(widget, forms.CheckboxInput):
            widget.attrs.setdefault("class", "form-check-input")
        elif isinstance(widget, forms.Select):
            widget.attrs.setdefault("class", "form-select")
        else:
            widget.attrs.setdefault("class", "form-control")


class ApplicationForm(forms.Form):
    kind = forms.ChoiceField(label=_("申请类型"), choices=Application.Kind.choices)
    channel = forms.ChoiceField(label=_("受理渠道"), choices=Application.Channel.choices)
    received_on = forms.DateField(label=_("受理日期"), widget=DateInput())
    documents = forms.MultipleChoiceField(
        label=_("已收材料"),
        choices=Application.Document.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    bank_name = forms.CharField(label=_("开户银行"), max_length=100, required=False)
    bank_account = forms.CharField(label=_("银行账号"), max_length=40, required=False)
    note = forms.CharField(
        label=_("备注"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["received_on"].initial = shanghai_today()
        _bootstrap(self)


class StartForm(forms.Form):
    """Find the applicant by ID number (the person must be registered in the user's region)."""

    id_number = forms.CharField(label=_("申请人身份证号码"), max_length=20)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class InstitutionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        tags = [obj.get_level_display(), obj.admdvs]
        if not obj.designated:
            tags.append(str(_("非定点")))
        return f"{obj.name}（{'，'.join(tags)}）"


class BillForm(forms.ModelForm):
    institution = InstitutionChoiceField(
        label=_("医药机构"), queryset=Institution.objects.none(), empty_label=_("请选择")
    )

    class Meta:
        model = Bill
        fields = [
            "institution",
            "visit_type",
            "admitted",
            "discharged",
            "service_date",
            "invoice_number",
            "setl_id",
            "total_cost",
            "policy_range_cost",
            "basic_insurance_paid",
            "critical_illness_paid",
            "out_of_catalog_cost",
            "referred",
        ]
        widgets = {
            "admitted": DateInput(),
            "discharged": DateInput(),
            "service_date": DateInput(),
        }
        help_texts = {"referred": _("统筹地区外就医须办理转诊或异地就医备案。")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["institution"].queryset = institutions()
        for name in (
            "total_cost",
            "policy_range_cost",
            "basic_insurance_paid",
            "critical_illness_paid",
            "out_of_catalog_cost",
        ):
            self.fields[name].widget.attrs.update({"step": "0.01", "min": "0"})
        _bootstrap(self)

    def _post_clean(self):
        # The service validates the rules (engine §4 step 1, duplicates); the model's own
        # full_clean would run before `year` is derived.
        pass


class DecisionForm(forms.Form):
    comment = forms.CharField(
        label=_("审核意见"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    approver_name = forms.CharField(
        label=_("审批人（签批负责人）"),
        max_length=50,
        required=False,
        help_text=_("留空则在审批表上留签字栏。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label=_("撤回理由"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("撤回后申请回到草稿，可修改票据后重新提交。"),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)


class PaymentForm(forms.Form):
    reference = forms.CharField(label=_("转账凭证号"), max_length=60)
    paid_on = forms.DateField(label=_("支付日期"), widget=DateInput())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = shanghai_today()
        _bootstrap(self)


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("扫描件（PDF、JPEG、PNG）"))
    description = forms.CharField(
        label=_("说明"),
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("说明（如：住院发票）")}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap(self)
