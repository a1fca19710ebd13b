from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from collectors.models import WorkerHeartbeat
from dashboard.schedule import PERIODIC_JOBS, period_seconds
from dashboard.teams import SESSION_KEY, teams_of


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    jobs = [(job, period_seconds(job)) for job in PERIODIC_JOBS]
    context = {"jobs": jobs, "heartbeats": WorkerHeartbeat.objects.order_by("-last_seen")[:5]}
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
