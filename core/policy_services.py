"""Starting a coordination area's policy as a copy of an existing one (DOMAIN §2, §8).

Every league/city is a coordination area with its own versioned policy. An admin starts a new
area's (or a new year's) policy from one already in use, then edits and validates it in admin
as any policy: the copy is only a starting point, with the source named in its history.
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from core.models import Policy, PolicyCategory, Region
from core.scoping import check_allowed

# The policy's own parameters, copied as they are (area, name and period are the new ones).
COPIED_FIELDS = [
    field.name
    for field in Policy._meta.concrete_fields
    if field.name not in {"id", "area", "name", "document", "valid_from", "valid_to"}
]
CATEGORY_FIELDS = ["category", "rank", "deductible", "ratio", "subsidy", "subsidy_amount"]


def policy_copy(
    *, source: Policy, area: Region, valid_from: date, by, name: str = "", document: str = ""
) -> Policy:
    """A new policy of `area` from `valid_from`, with every parameter and category rule of
    `source`. Refused (nothing written) when `area` is not a league/city or the period overlaps
    one of the area's policies; `by` needs core.add_policy and the area in their region."""
    if area is None or area.level != Region.Level.CITY:
        raise ValidationError(_("政策只能属于盟市级统筹地区。"))
    check_allowed(by, "core.add_policy", area.code)
    if valid_from is None:
        raise ValidationError(_("请填写生效日期。"))
    copy = Policy(
        area=area,
        name=name.strip()
        or _("%(area)s医疗救助政策（%(year)d年起）") % {"area": area.name, "year": valid_from.year},
        document=document.strip(),
        valid_from=valid_from,
        valid_to=None,
        **{field: getattr(source, field) for field in COPIED_FIELDS},
    )
    try:
        copy.full_clean()
    except ValidationError as exc:
        raise ValidationError(exc.messages) from exc
    with transaction.atomic():
        copy._history_user = by
        copy._change_reason = _("复制自“%(name)s”（%(area)s）") % {
            "name": source.name,
            "area": source.area.name,
        }
        copy.save()
        for rule in source.categories.all():
            category = PolicyCategory(
                policy=copy, **{field: getattr(rule, field) for field in CATEGORY_FIELDS}
            )
            category._history_user = by
            category.save()
    return copy
