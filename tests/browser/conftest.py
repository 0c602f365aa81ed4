"""Browser journeys: Playwright driving Debian's chromium against pytest-django's live server.

No browser is downloaded: the tests launch the system `chromium` (scripts/sysdeps.sh installs
it) and are skipped, not failed, where there is none. Every page a journey opens is watched:
a JavaScript console error, an uncaught exception or a response of status 500 or more fails
the test at its end (a 404 of /favicon.ico alone is ignored). Each step a journey names is
saved as a full-page screenshot under artifacts/browser/<test>/ (git-ignored), for CI to keep.

Privileged users sign in for real: the login form, then the second-factor page with the code
of a confirmed TOTP device computed the way an authenticator app would.
"""

import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import time_machine
from browser_helpers import Watch, launched_browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
PASSWORD = "secret-pass-123"  # tests/conftest.py's users
# Every journey runs on 2023-08-01 in Shanghai (the 2023 policy of the data migrations);
# the clock ticks on from there, so sessions and TOTP codes behave as in real time.
JOURNEY_DAY = datetime(2023, 8, 1, 2, 0, tzinfo=UTC)


def chromium_path() -> str | None:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def chromium_executable():
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium binary (apt-get install chromium; scripts/sysdeps.sh does)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed (pip install -r requirements.txt)")
    return executable


@pytest.fixture
def journey_clock():
    with time_machine.travel(JOURNEY_DAY, tick=True):
        yield


class Journey:
    """Browser tabs on the live server, one browser context (cookie jar) per signed-in user.

    `sign_in(user)` opens the user's own context and signs in there, or switches back to it:
    several people work on one application the way they would at their own desks, and nobody
    signs in twice within one TOTP step (django-otp accepts a code once).
    """

    def __init__(self, browser, base_url, artifacts, watch):
        self.browser = browser
        self.base_url = base_url
        self.artifacts = artifacts
        self.watch = watch
        self._shots = 0
        self._contexts = {}
        self.context, self.page = self._new_context()

    def _new_context(self):
        context = self.browser.new_context(
            locale="zh-CN",
            viewport={"width": 1366, "height": 900},
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        context.on("page", self._watch_page)
        page = context.new_page()
        return context, page

    def _watch_page(self, page):
        self.watch.attach(page)
        page.on("dialog", lambda dialog: dialog.accept())  # data-confirm questions: yes

    def close(self):
        for context in {self.context, *(c for c, _ in self._contexts.values())}:
            context.close()

    def url(self, path: str) -> str:
        return self.base_url + path

    def goto(self, path: str):
        response = self.page.goto(self.url(path))
        self.page.wait_for_load_state("load")
        return response

    def shot(self, step: str) -> Path:
        return self.shot_of(self.page, step)

    def shot_of(self, page, step: str) -> Path:
        """A full-page screenshot, numbered in the order of the journey's steps."""
        self._shots += 1
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{self._shots:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, user, password: str = PASSWORD):
        """The login form; then the second-factor page with the authenticator's code."""
        key = user.get_username()
        if key in self._contexts:
            self.context, self.page = self._contexts[key]
            return self.page
        if self._contexts:  # someone is signed in here: this user gets a desk of their own
            self.context, self.page = self._new_context()
        self._contexts[key] = (self.context, self.page)
        self._sign_in(user, password)
        return self.page

    def _sign_in(self, user, password):
        from django_otp.oath import totp

        from core.two_factor import confirmed_totp_device, second_factor_required

        page = self.page
        self.goto("/login/")
        page.fill("input[name=username]", user.get_username())
        page.fill("input[name=password]", password)
        with page.expect_navigation():
            page.click("form button[type=submit]")
        user.__dict__.pop("_second_factor_required", None)
        if second_factor_required(user):
            assert "/account/2fa/verify/" in page.url, page.url
            device = confirmed_totp_device(user)
            assert device is not None, "give the user an authenticator first (with_authenticator)"
            code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits)
            page.fill("input[name=token]", f"{code:0{device.digits}d}")
            with page.expect_navigation():
                page.click("form:has(input[name=token]) button[type=submit]")
            assert "/account/2fa/" not in page.url, page.url


@pytest.fixture
def journey(request, transactional_db, live_server, chromium_executable, journey_clock):
    """A fresh browser per test, Chinese by default; fails on what the Watch saw."""
    with launched_browser(chromium_executable) as browser:
        watch = Watch()
        name = re.sub(r"[^\w.-]+", "_", request.node.name)
        artifacts = ARTIFACTS / name
        shutil.rmtree(artifacts, ignore_errors=True)
        trip = Journey(browser, live_server.url, artifacts, watch)
        try:
            yield trip
            if not trip.page.is_closed():
                trip.shot("end")  # the last screen, whatever the journey saved
        finally:
            trip.close()
    assert not watch.problems, "\n".join(watch.problems)
