"""The methodology page: docs/methodology.md, rendered, next to the factor versions in use."""

from functools import cache

import markdown
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe

import estimator

METHODOLOGY_DOC = settings.BASE_DIR / "docs" / "methodology.md"


@cache
def methodology_html() -> str:
    # Our own, checked-in document (not user input), so its HTML can be trusted.
    return markdown.markdown(METHODOLOGY_DOC.read_text(), extensions=["tables", "toc", "fenced_code"])


def methodology(request: HttpRequest) -> HttpResponse:
    versions = {name: method.version for name, method in estimator.METHODOLOGIES.items()}
    document = mark_safe(methodology_html())  # noqa: S308 - our own checked-in document, see methodology_html
    return render(request, "dashboard/methodology.html", {"document": document, "versions": versions})
