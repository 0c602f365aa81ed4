"""The watch every journey runs under catches what it should, and only that."""

from browser_helpers import Watch, launched_browser


def test_watch_reports_console_errors_page_errors_and_5xx_but_not_a_favicon_404(
    chromium_executable,
):
    served = {
        "/page": (
            200,
            "text/html",
            "<link rel=icon href=/favicon.ico><img src=/missing.png>"
            "<script>console.error('broken widget'); console.warn('only a warning');"
            "</script><script>throw new Error('boom')</script>",
        ),
        "/favicon.ico": (404, "text/plain", "no icon"),
        "/missing.png": (404, "text/plain", "no image"),
        "/api": (502, "application/json", "{}"),
    }

    def serve(route):
        path = route.request.url.split("//", 1)[1].split("/", 1)[1]
        status, content_type, body = served["/" + path]
        route.fulfill(status=status, content_type=content_type, body=body)

    with launched_browser(chromium_executable) as browser:
        context = browser.new_context()
        context.route("http://portal.test/**", serve)
        page = context.new_page()
        watch = Watch()
        watch.attach(page)
        page.goto("http://portal.test/page")
        page.evaluate("fetch('/api').then(r => r.status)")
        page.wait_for_timeout(200)
        context.close()
    problems = "\n".join(watch.problems)
    assert "broken widget" in problems
    assert "boom" in problems
    assert "502 GET http://portal.test/api" in problems
    assert "missing.png" in problems  # a missing image is a console error
    assert "favicon" not in problems and "only a warning" not in problems
