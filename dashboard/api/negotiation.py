"""What every API view shares about representations and errors: ``?format=`` chooses among the view's renderers
(an unknown one is a 400 naming the parameter and the formats there are), ``Accept`` too (406 otherwise), and an
error is JSON whatever was asked for, so a CSV or Prometheus client still reads why it was refused."""

from rest_framework.exceptions import ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from dashboard.api import errors
from dashboard.api.params import BLANK


def unknown_format(wanted: str, formats: list[str]) -> str:
    """The 400's message: the formats named once each (a view may have two renderers of one format)."""
    return f"Unknown format {wanted!r}; this resource has {' and '.join(dict.fromkeys(formats))}."


class FormatNegotiation(DefaultContentNegotiation):
    """An unknown ``?format=`` (or suffix: ``/api/v1/accounts.xml``) is a 400 naming the parameter, like any bad
    parameter (DRF answers 404, as if the resource did not exist); an empty one too."""

    def select_renderer(self, request, renderers, format_suffix=None):
        name = self.settings.URL_FORMAT_OVERRIDE
        wanted = format_suffix or request.query_params.get(name)
        if wanted is not None:
            formats = [renderer.format for renderer in renderers]
            if not wanted.strip():
                raise ValidationError({name: [BLANK]})
            if wanted not in formats:
                raise ValidationError({name: [unknown_format(wanted, formats)]})
        return super().select_renderer(request, renderers, format_suffix)


class JsonErrors:
    """Mixed into every API view, before DRF's view class."""

    content_negotiation_class = FormatNegotiation

    def handle_exception(self, exc):
        """DRF's JSON for its own exceptions; a JSON 500, logged, for any other (DRF would re-raise it to
        Django, whose 500 is an HTML page)."""
        try:
            return super().handle_exception(exc)  # Http404 and PermissionDenied become DRF's 404 and 403
        except Exception as unexpected:  # noqa: BLE001 - the last resort: answered, and logged with its traceback
            errors.log_unexpected(self.request, unexpected)
            return Response({"detail": errors.SERVER_ERROR}, status=500)

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
