"""API tokens: a member lists, creates and revokes their own tokens for the current team; a team owner also sees
and revokes every member's. A new token is shown once, in the response to its creation, and only its hash is
kept."""

from django import forms
from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.teams.models import ApiToken
from dashboard.teams.scoping import current_team, get_for_team_or_404, is_owner


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “FinOps export” or “Grafana”")
    access = forms.ChoiceField(choices=ApiToken.Access.choices, initial=ApiToken.Access.READ)


def visible_tokens(request: HttpRequest, team) -> QuerySet[ApiToken]:
    """An owner sees (and may revoke) every token of the team; a member only their own."""
    tokens = ApiToken.objects.filter(team=team).select_related("user") if team else ApiToken.objects.none()
    return tokens if is_owner(request.user, team) else tokens.filter(user=request.user)


@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    form, created = TokenForm(), None
    if request.method == "POST" and team is not None:
        form = TokenForm(request.POST)
        if form.is_valid():
            token, created = ApiToken.issue(request.user, team, form.cleaned_data["name"], form.cleaned_data["access"])
            form = TokenForm()
    return render(
        request,
        "dashboard/tokens.html",
        {
            "form": form,
            "tokens": visible_tokens(request, team),
            "created": created,
            "owner_view": is_owner(request.user, team),
            "base_url": request.build_absolute_uri("/api/v1/"),
        },
    )


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    team = current_team(request)
    token = get_for_team_or_404(visible_tokens(request, team), "team", team, pk=pk)
    if token.active:
        token.revoke()
        whose = "" if token.user_id == request.user.pk else f" of {token.user.get_username()}"
        messages.success(request, f"Revoked {token}{whose}; calls with it now get 401.")
    return redirect("api-tokens")
