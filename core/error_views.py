"""Error pages in the portal's layout (config/urls.py handler400/403/404/500).

400, 403, 404 and 405 render in base.html, with the user's navigation and language (the
request's context processors run); 500 renders a minimal page without them — whatever broke
may be what they need — and falls back to plain text if even that fails.
"""

import logging

from django.conf import settings
from django.http import HttpResponseServerError
from django.shortcuts import render
from django.template import loader
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)


def back_url(request) -> str:
    """The page the user came from, when it is one of ours (else "": no back link)."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return ""


def error_page(request, status: int, **context):
    try:
        context["back_url"] = back_url(request)
    except Exception:  # e.g. DisallowedHost: the 400 page must still render
        context["back_url"] = ""
    return render(request, f"{status}.html", context, status=status)


def bad_request(request, exception=None):
    return error_page(request, 400)


def permission_denied(request, exception=None):
    return error_page(request, 403)


def page_not_found(request, exception=None):
    return error_page(request, 404)


def csrf_failure(request, reason=""):
    """An expired or missing CSRF token (a form left open past the session): the 403 page."""
    return error_page(request, 403, csrf_failed=True)


def server_error(request):
    try:
        html = loader.get_template("500.html").render(
            {
                "PORTAL_NAME": settings.PORTAL_NAME,
                "AGENCY_NAME": settings.AGENCY_NAME,
                "LANGUAGE_CODE": get_language(),
            }
        )
    except Exception:
        logger.exception("the 500 page itself failed to render")
        return HttpResponseServerError(
            _("系统出现错误，请稍后重试。"), content_type="text/plain; charset=utf-8"
        )
    return HttpResponseServerError(html)
