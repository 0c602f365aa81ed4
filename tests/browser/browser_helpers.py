"""The browser, its watch, and steps several journeys share (expecting a page, a PDF)."""

import io
import os
import re
from contextlib import contextmanager

from django.db import connections
from pypdf import PdfReader


@contextmanager
def launched_browser(executable):
    """Playwright and chromium for one test.

    Playwright's sync API marks an asyncio loop as running in this thread while it is up, and
    Django refuses ORM calls under a running loop; the test's own ORM calls (setting up data,
    checking results) are synchronous all the same, so they are allowed only while the browser
    runs, and the database is set up and flushed outside it.
    """
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable,
                headless=True,
                # containers as root: no sandbox namespace, a small /dev/shm
                args=["--no-sandbox", "--disable-dev-shm-usage"],
            )
            try:
                yield browser
            finally:
                browser.close()
                # The test's ORM calls inside the browser block ran in Playwright's greenlet,
                # whose context has connections of its own (Django keeps them per context):
                # closed here, or one stays open and PostgreSQL cannot drop the test database.
                connections.close_all()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


class Watch:
    """What went wrong on the pages of one test: console errors, page errors, 5xx responses."""

    IGNORED_404 = re.compile(r"/favicon\.ico(\?|$)")

    def __init__(self):
        self.problems: list[str] = []
        self.not_found: set[str] = set()

    def attach(self, page):
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("response", self._response)

    def _response(self, response):
        if response.status >= 500:
            self.problems.append(f"{response.status} {response.request.method} {response.url}")
        elif response.status == 404:
            self.not_found.add(response.url)

    def _console(self, message):
        if message.type != "error":
            return
        url = (message.location or {}).get("url", "")
        if "Failed to load resource" in message.text and self.IGNORED_404.search(url):
            return
        self.problems.append(f"console error: {message.text} ({url})")


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
