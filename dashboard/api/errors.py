"""The API's errors are JSON, whatever went wrong and wherever: ``{"detail": "..."}`` for the request as a whole
(401, 403, 404, 405, 406, 429, 500), ``{"<parameter>": ["..."]}`` for a bad parameter or field (400). A FinOps
tool or a Prometheus scraper reads why it was refused; an HTML page or a Python repr tells it nothing.

DRF writes the JSON of its own exceptions; this module adds the rest: a path under ``/api/v1/`` that matches no
resource (``not_found``, the last route of the API's URLs), an exception no view expected (``log_unexpected``
and a JSON 500), and, for the site-wide handlers, ``json_under_api``."""

from __future__ import annotations

import logging

from django.http import HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve

NOT_FOUND = "No such resource; GET /api/v1/ lists them."
SERVER_ERROR = "Server error; it has been logged."
API_PREFIXES = ("/api/", "/metrics")

logger = logging.getLogger("django.request")


def not_found(request, exception=None):
    """A JSON 404; a GET of a resource's path without its trailing slash is sent to the path with it, as
    Django's ``APPEND_SLASH`` would (this route matches first, so Django's redirect never runs)."""
    if request.method in ("GET", "HEAD") and not request.path.endswith("/") and _routed(request.path + "/"):
        query = request.META.get("QUERY_STRING", "")
        return HttpResponsePermanentRedirect(request.path + "/" + (f"?{query}" if query else ""))
    return JsonResponse({"detail": NOT_FOUND}, status=404)


def _routed(path: str) -> bool:
    try:
        return resolve(path).func is not not_found
    except Resolver404:
        return False


def server_error(request, *args) -> JsonResponse:
    """A JSON 500 (the site-wide ``handler500`` for the API's paths: Django has logged the exception)."""
    return JsonResponse({"detail": SERVER_ERROR}, status=500)


def log_unexpected(request, exception: BaseException) -> None:
    """An exception no view expected, logged (traceback, request) as Django logs an unhandled one."""
    logger.error(
        "Internal Server Error: %s",
        request.path,
        exc_info=(type(exception), exception, exception.__traceback__),
        extra={"status_code": 500, "request": request},
    )


def under_api(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def json_under_api(site_handler, api_handler):
    """A site-wide error handler (``handler404``, ``handler500`` in ``dashboard/urls.py``) that answers
    ``api_handler``'s JSON for a path under /api/ or /metrics and ``site_handler``'s page for any other."""

    def handler(request, *args, **kwargs):
        chosen = api_handler if under_api(request) else site_handler
        return chosen(request, *args, **kwargs)

    return handler
