"""The project's URLs plus the digest's, for the digest tests (until they are wired into dashboard/urls.py)."""

from django.urls import path

from dashboard.urls import urlpatterns as dashboard_patterns
from dashboard.web.views import digests

DIGEST_PATTERNS = [
    path("digests/", digests.digest_preview, name="digest-preview"),
    path("digests/subscription/", digests.digest_subscription, name="digest-subscription"),
    path("digests/unsubscribe/<str:token>/", digests.unsubscribe, name="digest-unsubscribe"),
]
_wired = {getattr(pattern, "name", None) for pattern in dashboard_patterns}

urlpatterns = [*dashboard_patterns, *(pattern for pattern in DIGEST_PATTERNS if pattern.name not in _wired)]
