"""Team switching and the load balancers' liveness probe (the overview is in ``overview.py``)."""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from dashboard.teams.scoping import SESSION_KEY, teams_of


@require_POST
def switch_team(request: HttpRequest) -> HttpResponse:
    """A team id that is not a number is a 400 naming the field; another team's id is a 404."""
    try:
        team_id = int(request.POST.get("team", ""))
    except ValueError:
        return HttpResponseBadRequest(
            "team must be the id of one of your teams, chosen from the list.", content_type="text/plain; charset=utf-8"
        )
    team = get_object_or_404(teams_of(request.user), pk=team_id)
    request.session[SESSION_KEY] = team.pk
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "home"  # never an open redirect
    return redirect(target or "home")


@login_not_required
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers and docker-compose: says nothing about any team's data."""
    return JsonResponse({"status": "ok"})
