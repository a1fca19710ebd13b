from dashboard.teams.scoping import current_team, teams_of


def teams(request):
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"current_team": current_team(request), "my_teams": teams_of(request.user)}
