"""Saving a simulated draft as the next period's policy (测算 → 下一期政策, DOMAIN §12, §2).

Never silently: the page shows `adoption_plan(run)` — every parameter of the new version and
what happens to the policy in force — and only a confirmed POST calls `simulation_adopt`.

Invariants:
- only a finished run, once (`SimulationRun.adopted_policy`), by a user who may add policies of
  the run's area (`check_allowed(by, "core.add_policy", area)`: the admin's permission for
  policies in Django admin; supervisors hold no policy permission in ROLE_PERMISSIONS);
- the new version starts on 1 January of the year after the simulated one, open-ended; it
  takes the draft's engine parameters (cap, tilted deductible/ratio, each category's
  deductible/ratio, the rank) and every other parameter (incomes, standards, thresholds,
  enrollment subsidies) from the policy in force;
- the policy in force, when open-ended, is ended on 31 December of the simulated year (shown
  in the plan); one that already reaches into the next year is left as it is and the overlap
  is refused by the same validation as in admin (`Policy.clean`, `PolicyCategory.clean` via
  `full_clean`); nothing is half-written (one transaction).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from claims.management.commands.assess import InputError, _policy
from claims.models import SimulationRun
from claims.simulation import SimulationError, policy_for_year
from core.choices import Category
from core.models import Policy, PolicyCategory
from core.money import format_money
from core.scoping import check_allowed

PERMISSION = "core.add_policy"
COPIED = (
    "document",
    "all_resident_income",
    "rural_income",
    "min_living_standard",
    "contribution_standard",
    "impoverishment_threshold",
    "poverty_return_threshold",
    "out_of_catalog_limit_level2",
    "out_of_catalog_limit_level3",
    "processing_days_limit",
)


@dataclass
class AdoptionPlan:
    """What saving the run's draft would write (the confirmation page shows all of it)."""

    run: SimulationRun
    current: Policy
    policy: Policy  # unsaved
    rules: list[PolicyCategory] = field(default_factory=list)  # unsaved, in rank order
    ends_current: bool = False  # the open-ended policy in force gets valid_to = 31 Dec

    @property
    def current_end(self) -> date:
        return date(self.run.year, 12, 31)


def adoption_plan(run: SimulationRun, *, name: str = "") -> AdoptionPlan:
    """The next period's policy built from a finished run's draft (nothing written)."""
    if run.status != SimulationRun.Status.SUCCESS:
        raise ValidationError(_("只有已完成的测算才能保存为政策。"))
    if run.adopted_policy_id is not None:
        raise ValidationError(_("该测算已保存为政策“%(name)s”。") % {"name": run.adopted_policy})
    try:
        draft = _policy(run.draft)
    except InputError as exc:
        raise ValidationError(str(exc)) from None
    try:
        current = policy_for_year(run.area_id, run.year)
    except SimulationError as exc:
        raise ValidationError(str(exc)) from None
    start = date(run.year + 1, 1, 1)
    policy = Policy(
        area_id=run.area_id,
        name=(
            name or _("%(year)s年度救助政策（测算 #%(run)s）") % {"year": start.year, "run": run.pk}
        )[:100],
        valid_from=start,
        valid_to=None,
        annual_cap=draft.annual_cap,
        tilted_deductible=draft.tilted_deductible,
        tilted_ratio=draft.tilted_ratio,
        **{attr: getattr(current, attr) for attr in COPIED},
    )
    old_rules = current.category_rules()
    rules = []
    for category in [c for c in draft.rank if c in draft.categories]:
        old = old_rules.get(category)
        rules.append(
            PolicyCategory(
                category=category,
                rank=len(rules) + 1,
                deductible=draft.categories[category].deductible,
                ratio=draft.categories[category].ratio,
                subsidy=old.subsidy if old else PolicyCategory.Subsidy.NONE,
                subsidy_amount=old.subsidy_amount if old else None,
            )
        )
    ends = current.valid_to is None and current.valid_from <= date(run.year, 12, 31)
    return AdoptionPlan(run=run, current=current, policy=policy, rules=rules, ends_current=ends)


def simulation_adopt(*, run: SimulationRun, by, name: str = "") -> Policy:
    """Save the run's draft as the area's next policy version (see the module invariants)."""
    check_allowed(by, PERMISSION, run.area_id)
    with transaction.atomic():
        run = SimulationRun.objects.select_for_update().select_related("area").get(pk=run.pk)
        # Policies of one area are written one at a time: lock them all (the overlap check).
        list(Policy.objects.select_for_update().filter(area_id=run.area_id).order_by("pk"))
        plan = adoption_plan(run, name=name)
        reason = _("由政策测算 #%(run)s 保存为下一期政策") % {"run": run.pk}
        if plan.ends_current:
            current = plan.current
            current.valid_to = plan.current_end
            current.full_clean()
            current._history_user, current._change_reason = by, reason
            current.save(update_fields=["valid_to"])
        policy = plan.policy
        policy.full_clean()
        policy._history_user, policy._change_reason = by, reason
        policy.save()
        for rule in plan.rules:
            rule.policy = policy
            rule.full_clean()
            rule._history_user, rule._change_reason = by, reason
            rule.save()
        run.adopted_policy = policy
        run.save(update_fields=["adopted_policy"])
    return policy


def _percent(ratio) -> str:
    return "—" if ratio is None else f"{ratio * 100:.2f}".rstrip("0").rstrip(".") + "%"


def _yuan(amount) -> str:
    return _("不设限额") if amount is None else format_money(amount)


def plan_rows(plan: AdoptionPlan) -> tuple[list[tuple], list[tuple]]:
    """(label, in force, new) rows of the parameters, and per category (label, rank, deductible
    in force → new, ratio in force → new, subsidy) for the confirmation page."""
    current, new = plan.current, plan.policy
    params = [
        (_("年度救助限额"), _yuan(current.annual_cap), _yuan(new.annual_cap)),
        (_("倾斜救助起付标准"), _yuan(current.tilted_deductible), _yuan(new.tilted_deductible)),
        (_("倾斜救助比例"), _percent(current.tilted_ratio), _percent(new.tilted_ratio)),
    ]
    for attr in COPIED:
        label = Policy._meta.get_field(attr).verbose_name
        value = getattr(new, attr)
        text = str(value) if attr in ("document", "processing_days_limit") else None
        if text is None:
            text = _percent(value) if "threshold" in attr or "limit" in attr else _yuan(value)
        params.append((label, text, text))
    old_rules = current.category_rules()
    labels = dict(Category.choices)
    categories = []
    for rule in plan.rules:
        old = old_rules.get(rule.category)
        categories.append(
            (
                labels.get(rule.category, rule.category),
                rule.rank,
                _yuan(old.deductible) if old else "—",
                _yuan(rule.deductible),
                _percent(old.ratio) if old else "—",
                _percent(rule.ratio),
                rule.get_subsidy_display(),
            )
        )
    return params, categories
