"""Login throttling, per account and per client address, for the site's login and the admin's.

Every failed login (``user_login_failed``, whichever form sent it) is recorded. While an account has
``LOGIN_FAILURE_LIMIT`` failures within ``LOGIN_COOLOFF_MINUTES``, or an address has ``LOGIN_ADDRESS_FAILURE_LIMIT``,
``ThrottledModelBackend`` (the authentication backend) refuses to check any password for it, right or wrong,
and the login forms say "Too many failed login attempts; try again in N minutes". Unknown usernames are
counted and answered exactly like known ones, so the throttle tells nobody which accounts exist. A successful
login clears its account's failures (not its address's: one's own account must not reset an attacker's count).

Failures are rows in the database (``LoginFailure``), so every web process sees the same counts and none is lost
between concurrent attempts. The client address is ``REMOTE_ADDR`` unless ``TRUSTED_PROXY_COUNT`` says how many
proxies in front append to ``X-Forwarded-For``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import math

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import signals
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import PermissionDenied
from django.dispatch import receiver
from django.utils import timezone

from dashboard.teams.models import LoginFailure

LOCKED_ATTRIBUTE = "login_locked_until"  # set on the request by the backend, read by the forms


def now() -> dt.datetime:
    return timezone.now()


def cooloff() -> dt.timedelta:
    return dt.timedelta(minutes=settings.LOGIN_COOLOFF_MINUTES)


def client_address(request) -> str | None:
    """REMOTE_ADDR, or with ``TRUSTED_PROXY_COUNT`` = n the n-th address from the right of X-Forwarded-For (the
    one our outermost proxy saw; addresses further left are whatever the client chose to send)."""
    address = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies and len(forwarded) >= proxies:
        address = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(address or ""))
    except ValueError:
        return None


def username_key(username: str | None) -> str:
    return hashlib.sha256((username or "").strip().lower().encode()).hexdigest()


def _unlocks_at(failures, limit: int) -> dt.datetime | None:
    """When the limit-th most recent failure of the period ages out; None while under the limit."""
    recent = list(failures.filter(at__gt=now() - cooloff()).order_by("-at").values_list("at", flat=True)[:limit])
    return recent[-1] + cooloff() if len(recent) >= limit else None


def locked_until(request, username: str | None) -> dt.datetime | None:
    """The time the account or the address may try again, if either is locked now."""
    times = [
        _unlocks_at(LoginFailure.objects.filter(username_key=username_key(username)), settings.LOGIN_FAILURE_LIMIT)
    ]
    if (address := client_address(request)) is not None:
        times.append(_unlocks_at(LoginFailure.objects.filter(address=address), settings.LOGIN_ADDRESS_FAILURE_LIMIT))
    return max((time for time in times if time is not None), default=None)


def lockout_message(until: dt.datetime) -> str:
    minutes = max(1, math.ceil((until - now()).total_seconds() / 60))
    return f"Too many failed login attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}."


class ThrottledModelBackend(ModelBackend):
    """Django's username and password check, refused outright (no password is checked) for a locked account or
    address. One backend rather than a gate before ModelBackend: sessions and ``force_login`` name the first."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None:  # None: a programmatic check (management command), nothing to throttle
            until = locked_until(request, username)
            if until is not None:
                setattr(request, LOCKED_ATTRIBUTE, until)
                raise PermissionDenied(lockout_message(until))  # authenticate() stops and reports a failure
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(signals.user_login_failed, dispatch_uid="record-login-failure")
def record_failure(sender, credentials: dict, request=None, **kwargs) -> None:
    if request is None or getattr(request, LOCKED_ATTRIBUTE, None):  # refused while locked: not a new failure
        return
    at = now()
    LoginFailure.objects.filter(at__lte=at - cooloff()).delete()
    LoginFailure.objects.create(
        username_key=username_key(credentials.get("username")), address=client_address(request), at=at
    )


@receiver(signals.user_logged_in, dispatch_uid="clear-login-failures")
def clear_failures(sender, request, user, **kwargs) -> None:
    LoginFailure.objects.filter(username_key=username_key(user.get_username())).delete()


class ThrottledLoginMixin:
    """Says why a login was refused when the throttle refused it; the usual message otherwise."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            until = getattr(self.request, LOCKED_ATTRIBUTE, None)
            if until is None:
                raise
            raise forms.ValidationError(lockout_message(until), code="throttled") from None


class LoginForm(ThrottledLoginMixin, AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your username and password didn't match. Please try again.",
    }


class AdminLoginForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
