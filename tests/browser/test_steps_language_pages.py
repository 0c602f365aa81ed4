"""An approved application in English: the bill's assessment steps in English on the page and
in the approval form PDF; in Chinese, in Chinese. Screens at 1366 px for the review."""

import re
from pathlib import Path

import pytest
from browser_helpers import open_pdf, with_authenticator
from pypdf import PdfWriter
from test_roles_journeys import _applicant, _submitted

from claims import services

pytestmark = pytest.mark.django_db(transaction=True)

SHOTS = Path("/work/shots/ux2")
HAN = re.compile(r"[\u4e00-\u9fff]")


def _save(journey, name):
    shot = journey.shot(name)
    if SHOTS.is_dir():
        (SHOTS / f"{name}.png").write_bytes(shot.read_bytes())


def test_approved_bill_steps_follow_the_page_language(
    journey, caseworker_haibowan, supervisor_city, haibowan
):
    application = _submitted(_applicant(haibowan), caseworker_haibowan, "INV-STEPS")
    services.application_approve(application=application, by=supervisor_city)
    page = journey.sign_in(with_authenticator(supervisor_city))
    detail = f"/claims/{application.pk}/"

    journey.goto(detail)
    steps = page.inner_text("ol.steps")
    assert "适用救助类别：低保边缘家庭成员。" in steps
    _save(journey, "approved-steps-zh")

    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    journey.goto(detail)
    steps = page.inner_text("ol.steps")
    assert "Applicable category: Near-subsistence household member." in steps
    assert not HAN.search(steps), steps
    _save(journey, "approved-steps-en")

    link = f"a[href='/claims/{application.pk}/form.pdf']"
    text, reader = open_pdf(journey, "**/form.pdf", lambda: page.click(link))
    assert "Applicable category" in text
    assert "适用救助类别" not in text
    if SHOTS.is_dir():
        writer = PdfWriter()
        writer.append(reader)
        writer.write(SHOTS / "approval-pdf-en.pdf")
