from datetime import timedelta

from django.contrib.auth.decorators import login_not_required
from django.db.models import Count, Sum
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from collectors.models import AwsAccount, Endpoint, WorkerHeartbeat
from dashboard.models import VariantHourEstimate
from dashboard.schedule import PERIODIC_JOBS, period_seconds
from dashboard.teams import SESSION_KEY, current_team, teams_of

SUMMARY_DAYS = 7


def week_summary(team) -> dict:
    """Energy and emissions of the team's endpoints over the last SUMMARY_DAYS days."""
    since = timezone.now() - timedelta(days=SUMMARY_DAYS)
    estimates = VariantHourEstimate.objects.filter(variant_hour__endpoint__account__team=team,
                                                   variant_hour__hour__gte=since)
    totals = estimates.aggregate(energy_kwh=Sum("energy_kwh"), co2e_kg=Sum("co2e_kg"), low=Sum("co2e_kg_low"),
                                 high=Sum("co2e_kg_high"), embodied_kg=Sum("embodied_co2e_kg"), hours=Count("id"))
    endpoints = Endpoint.objects.filter(account__team=team, deleted_at__isnull=True)
    return {**totals, "days": SUMMARY_DAYS, "endpoints": endpoints.count(),
            "accounts": AwsAccount.objects.filter(team=team).count()}


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    jobs = [(job, period_seconds(job)) for job in PERIODIC_JOBS]
    context = {"jobs": jobs, "heartbeats": WorkerHeartbeat.objects.order_by("-last_seen")[:5],
               "summary": week_summary(team) if team else None}
    return render(request, "dashboard/home.html", context)


@require_POST
def switch_team(request: HttpRequest) -> HttpResponse:
    team = get_object_or_404(teams_of(request.user), pk=request.POST.get("team"))
    request.session[SESSION_KEY] = team.pk
    return redirect(request.POST.get("next") or "home")


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: says nothing about any team's data."""
    return JsonResponse({"status": "ok"})
