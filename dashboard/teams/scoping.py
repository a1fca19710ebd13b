"""Scoping: every lookup of team-owned data goes through these helpers and answers 404 otherwise."""

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from dashboard.teams.models import Membership, Team

SESSION_KEY = "team_id"


def teams_of(user) -> QuerySet[Team]:
    if not user.is_authenticated:
        return Team.objects.none()
    return Team.objects.filter(memberships__user=user)


def is_owner(user, team: Team | None) -> bool:
    return team is not None and Membership.objects.filter(team=team, user=user, role=Membership.Role.OWNER).exists()


def current_team(request: HttpRequest) -> Team | None:
    """The team the user is looking at: the one chosen in the session, else their first."""
    teams = teams_of(request.user)
    chosen = request.session.get(SESSION_KEY)
    team = teams.filter(pk=chosen).first() if chosen else None
    return team or teams.first()


def get_for_team_or_404(queryset: QuerySet, team_field: str, team: Team | None, **lookup) -> Model:
    """The object matching ``lookup`` whose ``team_field`` is ``team``; 404 for any other team's."""
    if team is None:
        raise Http404("No team")
    try:
        return queryset.get(**{team_field: team}, **lookup)
    except queryset.model.DoesNotExist:
        raise Http404(f"No {queryset.model._meta.verbose_name} here") from None
