from django.conf import settings
from django.http import HttpResponseBadRequest
from django.utils import translation
from django.utils.translation import gettext as _


class PortalLanguageMiddleware:
    """The UI speaks Simplified Chinese unless the user chose another language.

    Unlike Django's LocaleMiddleware this ignores the browser's Accept-Language: a caseworker
    whose browser happens to be set up in English still gets the Chinese portal; the language
    switch in the navigation bar (Django's set_language view) stores an explicit choice in a
    cookie.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.available = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if language not in self.available:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class SecondFactorMiddleware:
    """Privileged users verify their second factor before any page (DOMAIN §8).

    Runs after django-otp's OTPMiddleware. A supervisor, fund accountant or admin whose
    session is not verified is sent to verification (or, without an authenticator yet, to
    enrolment) from every view except those below — Django admin included.
    """

    OPEN_VIEWS = {
        ("", "two_factor_enrol"),
        ("", "two_factor_verify"),
        ("", "logout"),
        ("", "login"),
        ("", "set_language"),
        ("", "favicon"),
        ("admin", "logout"),
    }

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        from django.shortcuts import redirect
        from django.utils.http import urlencode

        from core import two_factor

        match = request.resolver_match
        if match and (match.namespace, match.url_name) in self.OPEN_VIEWS:
            return None
        user = request.user
        if two_factor.second_factor_satisfied(user):
            return None
        target = (
            "two_factor_verify" if two_factor.confirmed_totp_device(user) else "two_factor_enrol"
        )
        url = redirect(target).url
        return redirect(f"{url}?{urlencode({'next': request.get_full_path()})}")


class NoStoreForSignedInMiddleware:
    """Pages, PDFs and spreadsheets of a signed-in user hold personal data: never cache them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils.cache import add_never_cache_headers

        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)
        return response


class NulQueryGuardMiddleware:
    """A NUL character (`\\x00`) in a query-string parameter (a search box, a list filter) is
    answered with 400 before any view runs. PostgreSQL refuses NUL in text, so otherwise every
    list view that filters on `request.GET` would fail with a 500 (one guard here instead of a
    check in each view or filter form)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            return HttpResponseBadRequest(
                _("请求参数中含有无效字符。"), content_type="text/plain; charset=utf-8"
            )
        return self.get_response(request)


class MethodNotAllowedPageMiddleware:
    """A bare 405 (require_POST, a class-based view's http_method_not_allowed) gets the
    portal's 405 page; the Allow header stays. A 405 with a body of its own is left alone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from core.error_views import back_url

        response = self.get_response(request)
        if response.status_code != 405 or response.streaming or response.content:
            return response
        from django.template.loader import render_to_string

        try:
            back = back_url(request)
        except Exception:
            back = ""
        response.content = render_to_string("405.html", {"back_url": back}, request=request)
        response["Content-Type"] = "text/html; charset=utf-8"
        return response
