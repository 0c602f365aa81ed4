from django.conf import settings
from django.utils import translation


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
