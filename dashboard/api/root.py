"""GET /api/v1/: what the API has, each resource's name and absolute URL, and where its schema and docs are."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from dashboard.api.negotiation import JsonErrors

# Name in the listing -> URL name. Every resource of dashboard/api/urls.py, then the schema and its docs page.
RESOURCES = {
    "accounts": "api-account-list",
    "endpoints": "api-endpoint-list",
    "variants": "api-variant-list",
    "usage": "api-usage-list",
    "log-groups": "api-log-group-list",
    "storage": "api-storage-list",
    "recommendations": "api-recommendation-list",
    "training-jobs": "api-training-job-list",
    "tuning-jobs": "api-tuning-job-list",
    "notebooks": "api-notebook-list",
    "emissions": "api-emissions",
    "component-emissions": "api-component-emissions",
    "focus": "api-focus",
    "reconciliation": "api-reconciliation",
    "reconciliation-idle": "api-reconciliation-idle",
    "methodology": "api-methodology",
    "metrics": "metrics",
    "schema": "api-schema",
    "docs": "api-docs",
}

ApiRootSerializer = type(
    "ApiRootSerializer",
    (serializers.Serializer,),
    {name: serializers.URLField(help_text=f"Absolute URL of {name}") for name in RESOURCES},
)


class ApiRootView(JsonErrors, APIView):
    """The API's resources by name, with their absolute URLs, and the OpenAPI schema and its docs page."""

    renderer_classes = [JSONRenderer]

    @extend_schema(responses={200: ApiRootSerializer})
    def get(self, request):
        return Response({name: reverse(url_name, request=request) for name, url_name in RESOURCES.items()})
