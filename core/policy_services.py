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


# --- Refusals where a policy is needed ----------------------------------------------------


def policy_missing_message(area: Region, action: str, when: str) -> str:
    return _(
        "%(area)s%(when)s没有生效的医疗救助政策，不能%(action)s。"
        "请管理员先为该统筹地区建立政策（可复制已有政策后修改）。"
    ) % {"area": area.name, "when": when, "action": action}


def require_policy(area: Region | str, day: date, action: str) -> Policy:
    """The policy of coordination area `area` in force on `day`, or a ValidationError that
    says, in Chinese, which area lacks one and what cannot be done (never a 500)."""
    if not isinstance(area, Region):
        area = Region.objects.get(code=area)
    policy = Policy.objects.in_force(area, day)
    if policy is None:
        when = _("在%(day)s") % {"day": day.isoformat()}
        raise ValidationError(policy_missing_message(area, action, when))
    return policy


def policy_during(area: Region, start: date, end: date) -> bool:
    """Whether any policy of `area` is in force on some day of start..end."""
    from django.db.models import Q

    return (
        Policy.objects.filter(area=area, valid_from__lte=end)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=start))
        .exists()
    )


# Checks that apply an area's policy (its watch lines, subsidy or catalogue limits, §7).
POLICY_CHECKS = {"high_cost", "uninsured", "out_of_catalog"}


def scan_refusal(check: str, area_code: str, start: date, end: date) -> str | None:
    """Why `check` cannot run for `area_code` over start..end: its coordination area has no
    policy in force then (None: it can). Region-wide runs skip areas without a policy."""
    if check not in POLICY_CHECKS or not area_code:
        return None
    region = Region.objects.select_related("parent").filter(code=area_code).first()
    area = region.coordination_area if region else None
    if area is None or policy_during(area, start, end):
        return None
    when = _("在%(start)s至%(end)s期间") % {"start": start.isoformat(), "end": end.isoformat()}
    return policy_missing_message(area, _("运行该检查"), when)
