"""The weekly digest in the dashboard: its preview (with a button to send it to oneself now), the member's
subscription toggle, and the signed one-click unsubscribe link every digest carries (no login needed)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.notify import digest
from dashboard.notify.models import Delivery, DigestSubscription
from dashboard.teams.models import Team
from dashboard.teams.scoping import current_team

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def is_subscribed(team, user) -> bool:
    row = DigestSubscription.objects.filter(team=team, user=user).first()
    return row is None or row.subscribed


def _send_now(request: HttpRequest, team, week_start) -> None:
    """The digest to the requesting user only, outside the weekly claim; recorded as a delivery all the same."""
    user = request.user
    if not user.email:
        messages.error(request, "Your account has no email address; ask an administrator to add one.")
        return
    what = f"digest-now:{week_start}:{user.username}"[:200]
    try:
        message = digest.render(team, user, week_start)
        message.send()
    except Exception as exc:
        Delivery.objects.create(team=team, what=what, status=Delivery.Status.FAILED, detail=repr(exc)[:2000])
        messages.error(request, f"Could not send the digest: {exc}")
        return
    Delivery.objects.create(
        team=team,
        what=what,
        status=Delivery.Status.SENT,
        detail=f"{message.extra_headers['Message-ID']} to {user.email}",
    )
    messages.success(request, f"Sent the digest of the week of {week_start} to {user.email}.")


@require_http_methods(["GET", "POST"])
def digest_preview(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    if team is None:
        return render(request, "dashboard/digest_preview.html", {"state": "no-team"})
    schedule = digest.schedule_of(team)
    week_start = digest.week_of(timezone.now(), schedule.timezone)
    if request.method == "POST":
        _send_now(request, team, week_start)
        return redirect("digest-preview")
    parts = digest.bodies(team, request.user, week_start, preview=True)
    return render(
        request,
        "dashboard/digest_preview.html",
        {
            "state": "ready",
            "parts": parts,
            "week_start": week_start,
            "schedule": schedule,
            "weekday": WEEKDAYS[min(schedule.digest_weekday, 6)],
            "subscribed": is_subscribed(team, request.user),
        },
    )


@require_POST
def digest_subscription(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    if team is not None:
        subscribed = request.POST.get("subscribed") == "1"
        DigestSubscription.objects.update_or_create(team=team, user=request.user, defaults={"subscribed": subscribed})
        messages.success(
            request, f"You are {'subscribed to' if subscribed else 'unsubscribed from'} {team.name}'s weekly digest."
        )
    return redirect("digest-preview")


@login_not_required
@csrf_exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" without any token; the URL is the secret
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        user_pk, team_pk = digest.read_token(token)
        team = Team.objects.get(pk=team_pk)
        user = get_user_model().objects.get(pk=user_pk)
    except (signing.BadSignature, Team.DoesNotExist, get_user_model().DoesNotExist):
        return render(request, "dashboard/unsubscribe.html", {"state": "bad"}, status=400)
    if request.method == "POST":
        DigestSubscription.objects.update_or_create(team=team, user=user, defaults={"subscribed": False})
        return render(request, "dashboard/unsubscribe.html", {"state": "done", "team": team, "who": user})
    return render(
        request,
        "dashboard/unsubscribe.html",
        {"state": "confirm", "team": team, "who": user, "subscribed": is_subscribed(team, user)},
    )
