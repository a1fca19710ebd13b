"""What every API view shares about representations: ``?format=`` and ``Accept`` choose among the view's
renderers (406 otherwise), and an error is JSON whatever was asked for, so a CSV or Prometheus client still
reads why it was refused."""

from rest_framework.exceptions import NotAcceptable, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from dashboard.api.params import BLANK


class FormatNegotiation(DefaultContentNegotiation):
    """An unknown ``?format=`` is a 406 (DRF answers 404, as if the resource did not exist); an empty one is a 400
    naming the parameter, like any empty parameter."""

    def select_renderer(self, request, renderers, format_suffix=None):
        wanted = request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        if wanted is not None:
            formats = [renderer.format for renderer in renderers]
            if not wanted.strip():
                raise ValidationError({self.settings.URL_FORMAT_OVERRIDE: [BLANK]})
            if wanted not in formats:
                raise NotAcceptable(f"Unknown format; this resource has {' and '.join(formats)}.")
        return super().select_renderer(request, renderers, format_suffix)


class JsonErrors:
    """Mixed into every API view, before DRF's view class."""

    content_negotiation_class = FormatNegotiation

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and response.status_code >= 400:
            request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)
