"""Who is calling and for which team: a bearer token (FinOps tools) or the browser's session (the docs page)."""

import contextlib

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from dashboard.teams.models import ApiToken, Team
from dashboard.teams.models.tokens import digest
from dashboard.teams.scoping import current_team

TOUCH_SECONDS = 60  # last_used_at is written at most once a minute per token, not on every request


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer wtsn_…`` (or ``Token wtsn_…``); a revoked or unknown token is refused, and so is
    the token of a user who is no longer an active member of the token's team (checked on every request)."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the token as: Authorization: Bearer <token>")
        token = ApiToken.objects.usable().select_related("user", "team").filter(digest=digest(header[1])).first()
        if token is None:  # unknown, revoked, its user deactivated or no longer a member of the token's team
            raise exceptions.AuthenticationFailed("Unknown or revoked token.")
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > TOUCH_SECONDS:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="wattson"'


def team_of(request) -> Team | None:
    """The team a request may see: the token's, else the session's current team."""
    if isinstance(request.auth, ApiToken):
        return request.auth.team
    return current_team(request)


class TeamMember(permissions.BasePermission):
    """Authenticated, in a team, and writing only with a writable token (or the browser session)."""

    message = "This token is read-only; create a read-and-write token to change recommendations."

    def has_permission(self, request, view):
        if not request.user or not request.user.is_authenticated or team_of(request) is None:
            return False
        if request.method in permissions.SAFE_METHODS or not isinstance(request.auth, ApiToken):
            return True
        return request.auth.access == ApiToken.Access.WRITE


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """Requests per token (per user for session calls); the rate is ``API_THROTTLE_RATE``.

    Counted in the shared cache (``CACHE_URL``), so the limit holds across gunicorn processes and hosts. DRF's own
    throttle reads a request history and writes it back, which loses counts between concurrent processes; this one
    increments a counter per window (atomic in Redis) and weighs the previous window's count by how much of it is
    still inside the sliding period, so a burst cannot double the rate at a window's edge.
    """

    scope = "token"

    def get_cache_key(self, request, view):
        ident = f"token-{request.auth.pk}" if isinstance(request.auth, ApiToken) else f"user-{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view) -> bool:
        if self.rate is None or (key := self.get_cache_key(request, view)) is None:
            return True
        self.now = self.timer()
        window, into = divmod(self.now, self.duration)
        current, previous = f"{key}:{int(window)}", f"{key}:{int(window) - 1}"
        count = self._increment(current)
        self.remaining_seconds = self.duration - into
        if self.cache.get(previous, 0) * (1 - into / self.duration) + count > self.num_requests:
            with contextlib.suppress(ValueError):  # a refused request does not count against the next ones
                self.cache.decr(current)
            return False
        return True

    def _increment(self, key: str) -> int:
        self.cache.add(key, 0, timeout=2 * self.duration)  # kept through the next window, where it is "previous"
        try:
            return self.cache.incr(key)
        except ValueError:  # expired between add and incr
            self.cache.set(key, 1, timeout=2 * self.duration)
            return 1

    def wait(self) -> float:
        return self.remaining_seconds


class TokenScheme(OpenApiAuthenticationExtension):
    """Documents the bearer token in the OpenAPI schema."""

    target_class = "dashboard.api.auth.TokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API token created in the web UI (wtsn_…)"}
