"""/api/v1/: versioned; a breaking change gets /api/v2/. The schema is checked in (docs/openapi.yaml)."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path, re_path
from rest_framework.routers import DefaultRouter

from dashboard.api import errors, reconciliation, reports, root, schema, views, workloads

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("accounts", views.AccountViewSet, basename="api-account")
router.register("endpoints", views.EndpointViewSet, basename="api-endpoint")
router.register("variants", views.VariantViewSet, basename="api-variant")
router.register("usage", views.UsageViewSet, basename="api-usage")
router.register("log-groups", views.LogGroupViewSet, basename="api-log-group")
router.register("storage", views.StorageViewSet, basename="api-storage")
router.register("recommendations", views.RecommendationViewSet, basename="api-recommendation")
router.register("training-jobs", workloads.TrainingJobViewSet, basename="api-training-job")
router.register("tuning-jobs", workloads.TuningJobViewSet, basename="api-tuning-job")
router.register("notebooks", workloads.NotebookViewSet, basename="api-notebook")

api_patterns = [
    path("", root.ApiRootView.as_view(), name="api-root"),
    *router.urls,
    path("emissions/", reports.EmissionsView.as_view(), name="api-emissions"),
    path("emissions/components/", views.ComponentEmissionsView.as_view(), name="api-component-emissions"),
    path("focus/", reports.FocusView.as_view(), name="api-focus"),
    path("reconciliation/", reconciliation.ReconciliationView.as_view(), name="api-reconciliation"),
    path("reconciliation/idle/", reconciliation.IdleComparisonView.as_view(), name="api-reconciliation-idle"),
    path("methodology/", views.MethodologyView.as_view(), name="api-methodology"),
    path("schema/", schema.SchemaView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file (?script), so no inline script is needed (CSP).
    path("docs/", schema.DocsView.as_view(url_name="api-schema"), name="api-docs"),
    # Last: any other path under /api/v1/ is the API's JSON 404, not the site's HTML page.
    re_path(r"^", errors.not_found, name="api-not-found"),
]
metrics_patterns = [path("metrics", reports.MetricsView.as_view(), name="metrics")]

# The API answers 401 itself (a FinOps tool cannot follow a login redirect), so the site-wide login redirect
# is lifted here; every view still requires a token or a session through its own permission classes.
for pattern in (*api_patterns, *metrics_patterns):
    pattern.callback = login_not_required(pattern.callback)
