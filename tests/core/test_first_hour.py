"""A newcomer's first hour: favicon, quiet PDF logging, bench targets that set themselves up."""

import logging
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_favicon_ico_redirects_to_the_static_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == static("favicon.svg")
    assert finders.find("favicon.svg")


def test_every_page_links_the_favicon(client):
    body = client.get(reverse("login")).content.decode()
    assert f'<link rel="icon" href="{static("favicon.svg")}"' in body


def test_weasyprint_progress_lines_are_off_by_default():
    for name in ("weasyprint", "fontTools", "fontTools.subset"):
        logger = logging.getLogger(name)
        assert not logger.isEnabledFor(logging.INFO), name
        assert logger.isEnabledFor(logging.WARNING), name


def _make_dry_run(target: str) -> list[str]:
    root = Path(settings.BASE_DIR)
    out = subprocess.run(
        ["make", "-n", "-o", "install", "-o", ".env", target],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line for line in out.splitlines() if "manage.py" in line]


def _index(lines, text):
    return next(i for i, line in enumerate(lines) if text in line)


def test_make_bench_seeds_the_demo_before_timing_the_forms():
    lines = _make_dry_run("bench")
    assert _index(lines, "migrate") < _index(lines, "seed_demo") < _index(lines, "bench_forms")


def test_make_bench_pg_collects_static_files_before_timing_the_pages():
    lines = _make_dry_run("bench-pg")
    assert _index(lines, "collectstatic") < _index(lines, "bench_persons")


def test_favicon_is_open_before_the_second_factor(unverified_client, supervisor_city):
    unverified_client.force_login(supervisor_city)
    response = unverified_client.get("/favicon.ico")
    assert response["Location"] == static("favicon.svg")
