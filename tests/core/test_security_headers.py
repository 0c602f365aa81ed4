"""Response headers and the production `check --deploy` (DOMAIN §8)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]

# The production variables of the README; `check --deploy` must be clean with them.
PRODUCTION_ENV = {
    "SECRET_KEY": "p7Vw-2kQz9Lr_XcB4nTg8HsYa1Jm6EoUd3FiWqRv0KpZlNbCxMeGhSjAtDyOuIf",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "medaid.example.gov.cn",
    "CSRF_TRUSTED_ORIGINS": "https://medaid.example.gov.cn",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "TRUSTED_PROXY_COUNT": "1",
}


def _csp(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


def test_every_page_has_a_csp_without_inline_script_or_style(client):
    response = client.get(reverse("login"))
    policy = _csp(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_signed_in_pages_have_the_security_headers(client, supervisor_city):
    client.force_login(supervisor_city)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "Content-Security-Policy" in response
    assert "no-store" in response["Cache-Control"]


def test_signed_in_downloads_are_not_cached(client, supervisor_city):
    client.force_login(supervisor_city)
    response = client.get(reverse("funds:report_pdf", args=["150300"]) + "?period=2023-07")
    assert response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"]


def test_templates_have_no_inline_script_handlers_or_styles():
    """CSP refuses inline code: every script is a static file reading data-* attributes.

    PDF templates are rendered by WeasyPrint on the server, not by a browser, and may style
    themselves.
    """
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        rel = path.relative_to(ROOT / "templates").as_posix()
        if rel.startswith("claims/pdf/") or rel.endswith("_pdf.html"):
            continue
        text = path.read_text()
        for pattern in (
            r"<script(?![^>]*\bsrc=)[^>]*>",
            r"\son[a-z]+\s*=",
            r"\sstyle\s*=",
            r"<style",
        ):
            if re.search(pattern, text):
                offenders.append(f"{rel}: {pattern}")
    assert offenders == []


def test_portal_js_is_served_from_static(client):
    body = client.get(reverse("login")).content.decode()
    assert re.search(r'<script src="[^"]*js/portal\.js"', body)


def _check_deploy(tmp_path, extra=None):
    empty_env_file = tmp_path / "empty.env"
    empty_env_file.write_text("")
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ENV_FILE": str(empty_env_file),  # a developer's .env does not count
        **PRODUCTION_ENV,
        **(extra or {}),
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_with_the_production_settings(tmp_path):
    result = _check_deploy(tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout


def test_check_deploy_warns_when_demo_mode_is_set(tmp_path):
    result = _check_deploy(tmp_path, {"DEMO_MODE": "true"})
    assert result.returncode != 0
    assert "core.W001" in result.stderr + result.stdout
