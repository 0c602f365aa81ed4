"""Steps several browser journeys share: expecting a page, reading a PDF the browser opened."""

import io
import re

from pypdf import PdfReader


def expect_path(page, pattern: str) -> re.Match:
    """The current URL's path matches `pattern` (a regex); returns the match."""
    path = re.sub(r"^https?://[^/]+", "", page.url).split("?")[0]
    match = re.fullmatch(pattern, path)
    assert match, f"expected a page at {pattern}, got {page.url}"
    return match


def submit(page, form_selector: str, button: str = "button[type=submit]"):
    """Click a form's submit button and wait for the page it leads to."""
    with page.expect_navigation():
        page.locator(f"{form_selector} {button}").first.click()


def open_pdf(journey, url_glob: str, click) -> tuple[str, PdfReader]:
    """`click()` opens a PDF in a new tab; check chromium got a PDF and return its text.

    The tab's request to `url_glob` passes through a route that keeps the bytes the server
    sent (chromium's PDF viewer shows them, and Playwright would report the viewer's page).
    """
    context = journey.context
    caught = []

    def keep(route):
        response = route.fetch()
        caught.append((response.status, response.headers.get("content-type", ""), response.body()))
        route.fulfill(response=response)

    context.route(url_glob, keep)
    try:
        with context.expect_page() as opened:
            click()
        tab = opened.value
        tab.wait_for_load_state("load")
    finally:
        context.unroute(url_glob, keep)
    assert len(caught) == 1, caught
    status, content_type, body = caught[0]
    assert status == 200, status
    assert content_type.startswith("application/pdf"), content_type
    assert body.startswith(b"%PDF-"), body[:20]
    reader = PdfReader(io.BytesIO(body))
    text = "".join(page.extract_text() for page in reader.pages)
    tab.close()
    return text, reader


def with_authenticator(user):
    """A confirmed TOTP device for a privileged user, as after enrolment."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from core.two_factor import TOTP_DEVICE_NAME

    TOTPDevice.objects.get_or_create(user=user, name=TOTP_DEVICE_NAME, confirmed=True)
    return user
