"""The 测算 request form (DOMAIN §12): the draft edited on screen, parameter by parameter.

The form starts from the policy in force for the chosen area and year (`policy_document`) and
shows each parameter a bureau changes — the annual cap, each category's deductible and ratio,
the tilted deductible and ratio — as its own field, ratios in per cent. Its `draft()` is the
policy in force with those values put in, in the `assess` policy shape. A policy document in
that shape (pasted or uploaded as a file) may replace the fields; then it is the draft as is.
The form checks shapes only; `claims.simulation_runs` validates the draft as `assess` does.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from claims.forms import _bootstrap
from core.choices import Category

MAX_POLICY_FILE_BYTES = 256 * 1024
HUNDRED = Decimal(100)


def _amount_field(label, initial) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, initial=initial, min_value=0, max_digits=12, decimal_places=2
    )


def _percent_field(label, fraction) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        initial=(Decimal(fraction) * HUNDRED).quantize(Decimal("0.01")),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
    )


class SimulationForm(forms.Form):
    area = forms.ChoiceField(label=gettext_lazy("统筹地区"))
    year = forms.IntegerField(label=gettext_lazy("测算年度"), min_value=2000, max_value=2100)
    note = forms.CharField(label=gettext_lazy("说明"), max_length=200, required=False)
    draft = forms.CharField(
        label=gettext_lazy("政策 JSON"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "class": "form-control font-monospace"}),
        help_text=gettext_lazy("格式与 assess 命令输入中的 policy 相同；填写后以此为准。"),
    )
    policy_file = forms.FileField(
        label=gettext_lazy("或上传政策文件（JSON）"),
        required=False,
        help_text=gettext_lazy("上传后以文件为准。"),
    )

    def __init__(self, *args, user_areas, base: dict | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = user_areas
        self.base = base
        self.category_rows = []
        if base is not None:
            self._parameter_fields(base)
            if self._document_given():  # the document is the draft: the fields are not read
                for name in self._parameter_names():
                    self.fields[name].required = False
        _bootstrap(self)

    def _document_given(self) -> bool:
        return bool((self.data.get("draft") or "").strip() or self.files.get("policy_file"))

    def _parameter_names(self) -> list[str]:
        fixed = {"area", "year", "note", "draft", "policy_file"}
        return [name for name in self.fields if name not in fixed]

    def _parameter_fields(self, base: dict) -> None:
        labels = dict(Category.choices)
        self.fields["annual_cap"] = _amount_field(_("年度救助限额（元）"), base["annual_cap"])
        for code, rule in base["categories"].items():
            label = labels.get(code, code)
            self.fields[f"{code}__deductible"] = _amount_field(
                _("%(category)s 起付标准（元）") % {"category": label}, rule["deductible"]
            )
            self.fields[f"{code}__ratio"] = _percent_field(
                _("%(category)s 救助比例（%%）") % {"category": label}, rule["ratio"]
            )
            self.category_rows.append((label, f"{code}__deductible", f"{code}__ratio"))
        if base.get("tilted"):
            self.fields["tilted__deductible"] = _amount_field(
                _("倾斜救助起付标准（元）"), base["tilted"]["deductible"]
            )
            self.fields["tilted__ratio"] = _percent_field(
                _("倾斜救助比例（%）"), base["tilted"]["ratio"]
            )

    def parameter_rows(self):
        """(category label, deductible field, ratio field) per category, for the table."""
        return [(label, self[d], self[r]) for label, d, r in self.category_rows]

    def clean_policy_file(self):
        upload = self.cleaned_data.get("policy_file")
        if upload is None:
            return None
        if upload.size > MAX_POLICY_FILE_BYTES:
            raise ValidationError(_("政策文件过大（上限 256 KB）。"))
        try:
            return _parse(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise ValidationError(_("政策文件须为 UTF-8 编码的 JSON。")) from None

    def clean_draft(self):
        text = self.cleaned_data["draft"].strip()
        return _parse(text) if text else None

    def clean(self):
        cleaned = super().clean()
        if (
            self.base is None
            and not self.errors
            and cleaned.get("policy_file") is None
            and cleaned.get("draft") is None
        ):
            raise ValidationError(_("该年度没有现行政策可作起点，请粘贴或上传测算政策。"))
        return cleaned

    def draft_document(self) -> dict:
        """The draft: an uploaded or pasted document as is, else the fields put in the base."""
        data = self.cleaned_data
        if data.get("policy_file") is not None:
            return data["policy_file"]
        if data.get("draft") is not None:
            return data["draft"]
        draft = copy.deepcopy(self.base)
        draft["annual_cap"] = _text(data["annual_cap"])
        for code, rule in draft["categories"].items():
            rule["deductible"] = _text(data[f"{code}__deductible"])
            rule["ratio"] = _fraction(data[f"{code}__ratio"])
        if draft.get("tilted"):
            draft["tilted"]["deductible"] = _text(data["tilted__deductible"])
            draft["tilted"]["ratio"] = _fraction(data["tilted__ratio"])
        return draft


def _parse(text: str):
    try:
        # Amounts stay text (never float); the service validates them as `assess` does.
        return json.loads(text, parse_float=str)
    except ValueError as exc:
        raise ValidationError(_("不是有效的 JSON（%(error)s）。") % {"error": exc}) from None


def _text(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def _fraction(percent: Decimal) -> str:
    return str((percent / HUNDRED).quantize(Decimal("0.0001")))
