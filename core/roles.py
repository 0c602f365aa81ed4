"""Roles are Django groups with a fixed set of permissions (DOMAIN §8).

A user may hold several roles. The group names are what admins see in Django admin; the
permission lists below are the single source of truth and are re-applied after every
`migrate`, so a permission added by a later app reaches its roles without a manual step.
"""

from django.db import models


class Role(models.TextChoices):
    CASEWORKER = "caseworker", "经办员"
    SUPERVISOR = "supervisor", "审核员"
    ACCOUNTANT = "accountant", "财务"
    ADMIN = "admin", "管理员"


# Which group name each role has in the database.
GROUP_NAMES = {role: role.label for role in Role}

_CASE_VIEW = [
    "beneficiaries.view_person",
    "beneficiaries.view_identity",
    "beneficiaries.view_household",
    "beneficiaries.view_enrollment",
    "beneficiaries.view_subsidy",
    "beneficiaries.view_rosterbatch",
    "claims.view_application",
    "claims.view_bill",
    "monitoring.view_alert",
    "monitoring.view_settlement",
    "monitoring.view_checkrun",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # 经办员: intake, identities, assessment.
    Role.CASEWORKER: _CASE_VIEW
    + [
        "beneficiaries.add_person",
        "beneficiaries.change_person",
        "beneficiaries.add_household",
        "beneficiaries.change_household",
        "beneficiaries.add_identity",
        "beneficiaries.change_identity",
        "beneficiaries.add_enrollment",
        "beneficiaries.change_enrollment",
        "beneficiaries.reveal_id_number",
        "beneficiaries.add_rosterbatch",
        "claims.add_application",
        "claims.change_application",
        "claims.add_bill",
        "claims.change_bill",
        "claims.delete_bill",
        "monitoring.change_alert",
        "monitoring.add_settlementimport",
    ],
    # 审核员: approval, printing; cannot approve what they prepared (enforced in services).
    # Never records payments: that is the fund accountant's step (DOMAIN §8).
    Role.SUPERVISOR: _CASE_VIEW
    + [
        "claims.approve_application",
        "claims.print_application",
        "beneficiaries.reveal_id_number",
        "beneficiaries.add_subsidybatch",
        "beneficiaries.confirm_subsidybatch",
        "beneficiaries.export_subsidybatch",
        "monitoring.change_alert",
        "monitoring.run_check",
        "monitoring.export_alerts",
        "monitoring.export_alerts_full_id",
        # the second person of the fund's maker-checker (P §22): approves manual entries
        "funds.view_fund",
        "funds.view_transaction",
        "funds.approve_transaction",
        # clearings with institutions (DOMAIN §10): the second person approves
        "funds.view_clearing",
        "funds.approve_clearing",
        # 测算 (DOMAIN §12): weighs a draft policy on this year's bills; adopting needs 管理员
        "claims.run_simulation",
    ],
    # 财务: fund entries and reconciliation.
    Role.ACCOUNTANT: [
        # Pays approved assistance (the bank transfer) and records it; sees, never approves.
        "claims.view_application",
        "claims.view_bill",
        "claims.record_payment",
        "funds.view_fund",
        "funds.view_transaction",
        "funds.add_transaction",
        "funds.approve_transaction",
        "funds.view_reconciliation",
        "funds.add_reconciliation",
        "funds.change_reconciliation",
        "funds.close_period",
        "funds.view_budget",
        "funds.change_budget",
        # clearings (DOMAIN §10): computes a draft or records the payment of another's
        "funds.view_clearing",
        "funds.compute_clearing",
        "funds.pay_clearing",
    ],
    # 管理员: policy, users, Django admin.
    Role.ADMIN: [
        "core.view_region",
        "core.view_policy",
        "core.add_policy",
        "claims.run_simulation",
        "core.change_policy",
        "core.view_policycategory",
        "core.add_policycategory",
        "core.change_policycategory",
        "core.delete_policycategory",
        "core.view_user",
        "core.add_user",
        "core.change_user",
        "core.view_auditevent",
        "funds.reopen_period",
        "django_celery_beat.view_periodictask",
        "django_celery_beat.change_periodictask",
        "django_celery_beat.add_periodictask",
        "django_celery_beat.view_crontabschedule",
        "django_celery_beat.add_crontabschedule",
        "django_celery_beat.change_crontabschedule",
        "django_celery_results.view_taskresult",
        "monitoring.view_checkrun",
        # the medical-type dictionary (DOMAIN §9.2): reference data, per area or region-wide
        "monitoring.view_medicaltype",
        "monitoring.add_medicaltype",
        "monitoring.change_medicaltype",
        "monitoring.delete_medicaltype",
    ],
}


def sync_roles() -> None:
    """Create the role groups and set their permissions to exactly ROLE_PERMISSIONS.

    Permissions of apps not installed yet are skipped.
    """
    from django.contrib.auth.models import Group, Permission

    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=GROUP_NAMES[role])
        wanted = set()
        for code in codes:
            app_label, codename = code.split(".")
            wanted |= set(
                Permission.objects.filter(
                    content_type__app_label=app_label, codename=codename
                ).values_list("pk", flat=True)
            )
        group.permissions.set(wanted)


def sync_roles_after_migrate(*, app_config, **kwargs) -> None:
    from django.apps import apps

    # post_migrate fires once per app, and permissions are created per app as it fires:
    # sync when the last app's permissions exist.
    if app_config is list(apps.get_app_configs())[-1]:
        sync_roles()


def grant_role(user, role: str) -> None:
    from django.contrib.auth.models import Group

    user.groups.add(Group.objects.get(name=GROUP_NAMES[role]))
