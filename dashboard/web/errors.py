"""Friendly error pages (404, 500), also in the demo, where DEBUG is on.

With DEBUG on, Django answers an unknown URL, an ``Http404`` or an unexpected exception with its technical pages
and never calls ``handler404``/``handler500``. Those pages are for a developer who asks for them
(``WATTSON_DEBUG_PAGES=1``); anyone else trying the demo sees ours. The middleware hands errors to the handlers
``dashboard/urls.py`` configures (JSON under /api/ and /metrics), so it never imports a higher layer.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseServerError
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.template import loader
from django.urls import Resolver404, get_resolver

logger = logging.getLogger("django.request")
# Exceptions Django answers with a 400 or 403 page of its own (not a technical one), even with DEBUG on.
DJANGO_PAGES = (BadRequest, PermissionDenied, SuspiciousOperation, MultiPartParserError)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)


def server_error(request: HttpRequest) -> HttpResponse:
    """The 500 page, rendered without the request: no context processor (team, session) touches the database,
    which may be what failed."""
    return HttpResponseServerError(loader.get_template("500.html").render())


def technical_pages_replaced() -> bool:
    """Whether our pages stand in for Django's technical ones: DEBUG is on and no developer asked for them."""
    return settings.DEBUG and not getattr(settings, "WATTSON_DEBUG_PAGES", False)


class FriendlyErrorPagesMiddleware:
    """With DEBUG on, answers errors with the configured ``handler404``/``handler500`` instead of Django's
    technical pages (unless ``WATTSON_DEBUG_PAGES``). Without DEBUG, Django calls those handlers itself."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        unrouted = response.status_code == 404 and getattr(request, "resolver_match", None) is None
        if unrouted and technical_pages_replaced():  # no URL matched: Django drew its technical 404
            return get_resolver().resolve_error_handler(404)(request, Resolver404({"path": request.path}))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not technical_pages_replaced():
            return None
        if isinstance(exception, Http404):
            return get_resolver().resolve_error_handler(404)(request, exception)
        if isinstance(exception, DJANGO_PAGES):
            return None
        logger.error(
            "Internal Server Error: %s",
            request.path,
            exc_info=(type(exception), exception, exception.__traceback__),
            extra={"status_code": 500, "request": request},
        )
        response = get_resolver().resolve_error_handler(500)(request)
        response._has_been_logged = True  # type: ignore[attr-defined]  # Django's own flag: not logged twice
        return response
