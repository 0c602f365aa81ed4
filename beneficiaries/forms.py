"""Input shape only; business rules are the services' (they raise ValidationError)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from beneficiaries.models import Enrollment, Person
from beneficiaries.selectors import visible_regions
from core import tabular
from core.choices import Category, Department
from core.dates import shanghai_today
from core.models import Region
from core.scoping import can_write


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class BootstrapForm(forms.Form):
    """Bootstrap classes on every widget, so templates render fields in a plain loop."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs.setdefault("class", css)

    def _post_clean(self):
        super()._post_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = widget.attrs.get("class", "") + " is-invalid"


def writable_regions(user, *, levels=(Region.Level.COUNTY,)):
    """Regions the user may record case data in (regional users: none)."""
    return [r for r in visible_regions(user, levels=levels) if can_write(user, r.code)]


class RegionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.name}（{obj.code}）"


def _regions_field(user, label, levels=(Region.Level.COUNTY,)):
    codes = [r.code for r in writable_regions(user, levels=levels)]
    return RegionChoiceField(
        queryset=Region.objects.filter(code__in=codes).order_by("code"),
        label=label,
        empty_label=None if len(codes) == 1 else "---------",
    )


class PersonForm(BootstrapForm):
    id_number = forms.CharField(label=_("公民身份号码"), max_length=30)
    name = forms.CharField(label=_("姓名"), max_length=50)
    region = forms.ModelChoiceField(queryset=Region.objects.none(), label=_("户籍所在区划"))
    residence = forms.ChoiceField(
        label=_("城乡属性"), choices=Person.Residence.choices, initial=Person.Residence.URBAN
    )
    phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)
    household_of = forms.CharField(
        label=_("加入家庭（家庭成员的身份证号码）"),
        max_length=30,
        required=False,
        help_text=_("留空则不登记家庭；填写已登记家庭成员的身份证号码即加入其家庭。"),
    )
    relation = forms.CharField(label=_("与户主关系"), max_length=20, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = _regions_field(user, _("户籍所在区划"))
        self.fields["region"].widget.attrs["class"] = "form-select"


class PersonEditForm(BootstrapForm):
    name = forms.CharField(label=_("姓名"), max_length=50)
    region = forms.ModelChoiceField(queryset=Region.objects.none(), label=_("户籍所在区划"))
    residence = forms.ChoiceField(
        label=_("城乡属性"), choices=Person.Residence.choices, initial=Person.Residence.URBAN
    )
    phone = forms.CharField(label=_("联系电话"), max_length=30, required=False)
    relation = forms.CharField(label=_("与户主关系"), max_length=20, required=False)
    reason = forms.CharField(label=_("变更原因"), max_length=100)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = _regions_field(user, _("户籍所在区划"))
        self.fields["region"].widget.attrs["class"] = "form-select"
        self.order_fields(["name", "region", "residence", "phone", "relation", "reason"])


class HouseholdForm(BootstrapForm):
    address = forms.CharField(label=_("住址"), max_length=200, required=False)
    members_count = forms.IntegerField(label=_("家庭人口数"), min_value=1, max_value=99)
    annual_income = forms.DecimalField(
        label=_("家庭年收入（元）"), max_digits=14, decimal_places=2, min_value=0, required=False
    )
    add_member = forms.CharField(
        label=_("添加家庭成员（已登记人员的身份证号码）"), max_length=30, required=False
    )
    add_member_relation = forms.CharField(
        label=_("该成员与户主关系"), max_length=20, required=False
    )


class IdentityForm(BootstrapForm):
    # No category preselected: the first one (特困人员) pays 100 %, and a form sent without
    # looking must not grant it. "请选择" fails `required`.
    category = forms.ChoiceField(
        label=_("救助对象类别"), choices=[("", _("请选择"))] + Category.choices
    )
    start = forms.DateField(label=_("认定日期"), widget=DateInput())
    end = forms.DateField(label=_("终止日期"), widget=DateInput(), required=False)
    department = forms.ChoiceField(label=_("认定部门"), choices=Department.choices)
    document = forms.CharField(label=_("认定文书"), max_length=200, required=False)
    region = forms.ModelChoiceField(queryset=Region.objects.none(), label=_("认定区划"))
    reason = forms.CharField(label=_("备注"), max_length=100, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = _regions_field(user, _("认定区划"))
        self.fields["region"].widget.attrs["class"] = "form-select"
        self.order_fields(["category", "start", "end", "department", "document", "region"])


class IdentityChangeForm(BootstrapForm):
    start = forms.DateField(label=_("认定日期"), widget=DateInput())
    end = forms.DateField(label=_("终止日期"), widget=DateInput(), required=False)
    document = forms.CharField(label=_("认定文书"), max_length=200, required=False)
    reason = forms.CharField(label=_("变更原因"), max_length=100)


class IdentityTerminateForm(BootstrapForm):
    end = forms.DateField(label=_("终止日期"), widget=DateInput())
    reason = forms.CharField(label=_("终止原因"), max_length=200)


class EnrollmentForm(BootstrapForm):
    year = forms.IntegerField(label=_("参保年度"), min_value=2000, max_value=2100)
    scheme = forms.ChoiceField(label=_("险种"), choices=Enrollment.Scheme.choices)
    area = forms.ModelChoiceField(queryset=Region.objects.none(), label=_("参保地"))
    paid_how = forms.ChoiceField(label=_("缴费方式"), choices=Enrollment.PaidHow.choices)
    paid_date = forms.DateField(label=_("缴费日期"), widget=DateInput(), required=False)
    benefit_start = forms.DateField(
        label=_("待遇享受期起始日"),
        widget=DateInput(),
        required=False,
        help_text=_("留空视为参保年度1月1日。"),
    )
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args, user, person, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"] = RegionChoiceField(
            queryset=Region.objects.filter(level__in=[2, 3]).order_by("code"),
            label=_("参保地"),
            initial=person.region_id,
        )
        self.fields["area"].widget.attrs["class"] = "form-select"
        self.fields["year"].initial = shanghai_today().year
        self.order_fields(["year", "scheme", "area", "paid_how", "paid_date", "benefit_start"])


# A roster of a whole city is some 100,000 rows, a few MB as CSV.
ROSTER_MAX_BYTES = 50 * 2**20


class RosterUploadForm(BootstrapForm):
    file = forms.FileField(
        label=_("名单文件"),
        help_text=_(
            "Excel（.xlsx）或 CSV（UTF-8 / GB18030）。表头：姓名、公民身份号码、救助对象类别、"
            "认定日期、终止日期、行政区划代码、联系电话。"
        ),
    )
    department = forms.ChoiceField(label=_("来源部门"), choices=Department.choices)
    region = forms.ModelChoiceField(queryset=Region.objects.none(), label=_("名单区划"))
    as_of = forms.DateField(label=_("名单日期"), widget=DateInput())

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"] = _regions_field(
            user, _("名单区划"), levels=(Region.Level.CITY, Region.Level.COUNTY)
        )
        self.fields["region"].widget.attrs["class"] = "form-select"
        self.fields["as_of"].initial = shanghai_today()
        self.order_fields(["file", "department", "region", "as_of"])

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > ROSTER_MAX_BYTES:
            raise forms.ValidationError(
                _("文件过大（上限 %(mb)s MB）。") % {"mb": ROSTER_MAX_BYTES // 2**20}
            )
        # DOMAIN §9: .xlsx or .csv by the content, whatever the file is called.
        upload.seek(0)
        try:
            tabular.sniff_format(upload.read())
        except tabular.TableError:
            raise forms.ValidationError(_("请上传 .xlsx 或 .csv 文件。")) from None
        finally:
            upload.seek(0)
        return upload


class SubsidyBatchForm(BootstrapForm):
    area = forms.ModelChoiceField(queryset=Region.objects.none(), label=_("区划"))
    year = forms.IntegerField(label=_("资助年度"), min_value=2000, max_value=2100)
    as_of = forms.DateField(
        label=_("身份认定截止日"),
        widget=DateInput(),
        help_text=_("截至该日已认定的救助对象纳入本批次。"),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"] = _regions_field(
            user, _("区划"), levels=(Region.Level.CITY, Region.Level.COUNTY)
        )
        self.fields["area"].widget.attrs["class"] = "form-select"
        self.fields["year"].initial = shanghai_today().year
        self.fields["as_of"].initial = shanghai_today()
        self.order_fields(["area", "year", "as_of"])
