from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard.api import errors as api_errors
from dashboard.api import urls as api_urls
from dashboard.teams import login_throttle
from dashboard.web import errors
from dashboard.web.views import (
    accounts,
    digests,
    endpoints,
    health,
    home,
    methodology,
    notifications,
    overview,
    recommendations,
    reconciliation,
    storage,
    tokens,
    workloads,
)

admin.site.login_form = login_throttle.AdminLoginForm  # the admin's login is throttled like the site's

urlpatterns = [
    path("", overview.overview, name="home"),
    path("endpoints/", endpoints.endpoint_list, name="endpoints"),
    path("endpoints/<int:pk>/", endpoints.endpoint_detail, name="endpoint"),
    path("training/", workloads.training_list, name="training"),
    path("training/<int:pk>/", workloads.training_detail, name="training-job"),
    path("notebooks/", workloads.notebooks, name="notebooks"),
    path("storage/", storage.storage, name="storage"),
    path("reconciliation/", reconciliation.reconciliation_page, name="reconciliation"),
    path("recommendations/", recommendations.recommendation_list, name="recommendations"),
    path("recommendations/<int:pk>/", recommendations.recommendation_action, name="recommendation-action"),
    path("team/switch/", home.switch_team, name="switch-team"),
    path("alerts/", notifications.notifications, name="notifications"),
    path("digests/", digests.digest_preview, name="digest-preview"),
    path("digests/subscription/", digests.digest_subscription, name="digest-subscription"),
    path("digests/unsubscribe/<str:token>/", digests.unsubscribe, name="digest-unsubscribe"),
    path("alerts/channels/<int:pk>/", notifications.channel_action, name="channel-action"),
    path("api-tokens/", tokens.token_list, name="api-tokens"),
    path("api-tokens/<int:pk>/revoke/", tokens.token_revoke, name="api-token-revoke"),
    path("healthz", home.healthz, name="healthz"),
    path("aws/accounts/", accounts.account_list, name="aws-accounts"),
    path("aws/accounts/<int:pk>/", accounts.account_detail, name="aws-account"),
    path("aws/accounts/<int:pk>/check/", accounts.account_check, name="aws-account-check"),
    path("aws/accounts/<int:pk>/cost-export/", accounts.account_cost_export, name="aws-account-cost-export"),
    path("collection/", health.collection_health, name="collection-health"),
    path("methodology/", methodology.methodology, name="methodology"),
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=login_throttle.LoginForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urls.api_patterns)),
    *api_urls.metrics_patterns,
]

# Our pages for a 404 and a 500 (JSON under /api/ and /metrics), also with DEBUG on unless WATTSON_DEBUG_PAGES asks
# for Django's: see dashboard/web/errors.py.
handler404 = api_errors.json_under_api(errors.page_not_found, api_errors.not_found)
handler500 = api_errors.json_under_api(errors.server_error, api_errors.server_error)
