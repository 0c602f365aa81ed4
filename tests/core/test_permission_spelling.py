"""Every permission the code names exists (a misspelt one would silently deny, or worse, a
`has_perm` guard would never be true): core/roles.py ROLE_PERMISSIONS, every
`permission_required`/`has_perm`/`check_allowed` string in the apps and every `perms.app.code`
in the templates."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission

from core.roles import ROLE_PERMISSIONS
from core.views import DASHBOARD_APPS

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
APPS = ["beneficiaries", "claims", "core", "funds", "monitoring", "config"]
IN_CODE = re.compile(
    r"""(?:permission_required|has_perms?|check_allowed|_check)\(\s*(?:by,\s*)?"""
    r"""["']([a-z_]+\.[a-z_]+)["']""",
    re.S,
)
IN_TEMPLATES = re.compile(r"\bperms\.([a-z_]+)\.([a-z_]+)")


def _existing() -> set[str]:
    return {
        f"{app}.{code}"
        for app, code in Permission.objects.values_list("content_type__app_label", "codename")
    }


def _named_in_code() -> dict[str, str]:
    found = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            for name in IN_CODE.findall(path.read_text(encoding="utf-8")):
                found.setdefault(name, str(path.relative_to(ROOT)))
    for _app, name in DASHBOARD_APPS:
        found.setdefault(name, "core/views.py")
    return found


def _named_in_templates() -> dict[str, str]:
    found = {}
    for path in (ROOT / "templates").rglob("*.html"):
        for app, code in IN_TEMPLATES.findall(path.read_text(encoding="utf-8")):
            found.setdefault(f"{app}.{code}", str(path.relative_to(ROOT)))
    return found


def test_every_role_permission_exists():
    existing = _existing()
    missing = {role: sorted(set(names) - existing) for role, names in ROLE_PERMISSIONS.items()}
    assert not any(missing.values()), missing


def test_every_permission_named_in_the_code_exists():
    named = _named_in_code()
    assert len(named) > 30  # the scan sees the views' and services' checks
    existing = _existing()
    assert {n: where for n, where in named.items() if n not in existing} == {}


def test_every_permission_named_in_the_templates_exists():
    named = _named_in_templates()
    assert named
    existing = _existing()
    assert {n: where for n, where in named.items() if n not in existing} == {}
