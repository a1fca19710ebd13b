"""API tokens: a user lists, creates and revokes their tokens for the current team. A new token is shown once,
in the response to its creation, and only its hash is kept."""

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from dashboard.models import ApiToken
from dashboard.teams import current_team, get_for_team_or_404


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. “FinOps export” or “Grafana”")
    access = forms.ChoiceField(choices=ApiToken.Access.choices, initial=ApiToken.Access.READ)


@require_http_methods(["GET", "POST"])
def token_list(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    form, created = TokenForm(), None
    if request.method == "POST" and team is not None:
        form = TokenForm(request.POST)
        if form.is_valid():
            token, created = ApiToken.issue(request.user, team, form.cleaned_data["name"],
                                            form.cleaned_data["access"])
            form = TokenForm()
    tokens = ApiToken.objects.filter(user=request.user, team=team) if team else ApiToken.objects.none()
    return render(request, "dashboard/tokens.html", {"form": form, "tokens": tokens, "created": created,
                                                     "base_url": request.build_absolute_uri("/api/v1/")})


@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_for_team_or_404(ApiToken.objects.filter(user=request.user), "team", current_team(request), pk=pk)
    if token.active:
        token.revoke()
        messages.success(request, f"Revoked {token}; calls with it now get 401.")
    return redirect("api-tokens")
