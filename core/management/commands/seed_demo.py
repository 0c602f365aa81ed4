"""Idempotent demo data for Wuhai (and a little for 包头市): users of each role and case data
for every screen.

Each app contributes through `<app>/demo.py`, a `seed(*, users) -> dict[str, int]` that is safe
to run again; they run in the order below, in one transaction.
"""

import importlib

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from core import demo_region
from core.dates import shanghai_today
from core.models import Region, User
from core.roles import Role, grant_role, sync_roles

DEFAULT_PASSWORD = "wuhai-demo-2023"

# Order matters: funds receive income before claims are paid; monitoring scans what exists.
DEMO_APPS = ["beneficiaries", "funds", "claims", "monitoring"]
# Then data dated in the current year (2023 stays for the worked examples).
DEMO_PRESENT = "core.demo_present"

DEMO_USERS = [
    # username, name, region, roles, is_staff, is_superuser
    ("caseworker", "李经办", "150302", [Role.CASEWORKER], False, False),
    ("supervisor", "王审核", "150300", [Role.SUPERVISOR], False, False),
    ("accountant", "赵财务", "150300", [Role.ACCOUNTANT], False, False),
    ("admin", "张管理", "150300", [Role.ADMIN], True, True),
    ("caseworker_wuda", "刘经办", "150304", [Role.CASEWORKER], False, False),
    # A second city (包头市, core.demo_region) and a regional (自治区) viewer: scoping across
    # cities, and the regional comparison page.
    ("caseworker_baotou", "包经办", "150200", [Role.CASEWORKER], False, False),
    ("supervisor_baotou", "包审核", "150200", [Role.SUPERVISOR], False, False),
    ("regional", "孙督导", "150000", [Role.SUPERVISOR], False, False),
]
# These accounts (and only these) skip the second factor while DEMO_MODE is set
# (core.two_factor.demo_user_exempt); `make run` sets it, production never does.
DEMO_USERNAMES = frozenset(username for username, *_ in DEMO_USERS)


class Command(BaseCommand):
    help = "Create the Wuhai demo users and data (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD)

    def handle(self, *args, password, **options):
        sync_roles()
        with transaction.atomic():
            users = {}
            for username, name, region, roles, is_staff, is_superuser in DEMO_USERS:
                user, created = User.objects.get_or_create(
                    username=username,
                    defaults={
                        "name": name,
                        "region": Region.objects.get(code=region),
                        "is_staff": is_staff,
                        "is_superuser": is_superuser,
                    },
                )
                if created:
                    user.set_password(password)
                    user.save(update_fields=["password"])
                for role in roles:
                    grant_role(user, role)
                users[username] = user
            counts = {}
            for app in DEMO_APPS:
                counts.update(importlib.import_module(f"{app}.demo").seed(users=users))
            counts.update(demo_region.seed(users=users, today=shanghai_today()))
            counts.update(importlib.import_module(DEMO_PRESENT).seed(users=users))

        self.stdout.write(self.style.SUCCESS(f"{settings.PORTAL_NAME} 演示数据已就绪。"))
        for key, value in counts.items():
            self.stdout.write(f"  {key}: {value}")
        self.stdout.write("演示账号（首次创建时的密码: %s）:" % password)
        for username, name, region, roles, *_ in DEMO_USERS:
            role_names = "、".join(Role(r).label for r in roles)
            self.stdout.write(f"  {username:<16} {name}  {role_names}  区划 {region}")
