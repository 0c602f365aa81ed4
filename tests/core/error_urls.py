"""The portal's URLs plus two views that fail, for the 400 and 500 page tests."""

from django.core.exceptions import BadRequest
from django.urls import path

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as portal_urlpatterns


def bad_request(request):
    raise BadRequest("bad input")


def crash(request):
    raise RuntimeError("the view broke")


urlpatterns = [
    path("test/400/", bad_request),
    path("test/500/", crash),
    *portal_urlpatterns,
]


def broken_context_processor(request):
    raise RuntimeError("a context processor broke")
