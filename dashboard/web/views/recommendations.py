"""Recommendations: the team's list (sortable by kg CO2e or dollars, filterable), and dismiss / snooze / reopen."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.http import require_GET, require_POST

from collectors.models import AwsAccount
from dashboard.footprint.filters import ACCOUNT_ID, TEAM_TAG, UNTAGGED
from dashboard.recommend.models import Recommendation
from dashboard.teams.scoping import current_team, get_for_team_or_404
from dashboard.web.tables import Column, Table, csv_response

Status = Recommendation.Status
SORTS = {"co2e": "-monthly_co2e_kg_saved", "usd": "-monthly_usd_saved", "kwh": "-monthly_kwh_saved"}
MAX_REASON = 500


def chart_link(rec: Recommendation) -> str:
    """The endpoint's charts over the hours the recommendation is based on."""
    if not rec.endpoint_id:
        return ""
    url = reverse("endpoint", args=[rec.endpoint_id])
    if rec.evidence_start and rec.evidence_end:
        return f"{url}?period=custom&from={rec.evidence_start:%Y-%m-%d}&to={rec.evidence_end:%Y-%m-%d}"
    return url


def parse(query) -> tuple[dict, dict]:
    """Validated filters (kind, status, account, team tag, sort); bad values are named, defaults used."""
    errors, chosen = {}, {}
    for name, allowed, default in (
        ("kind", Recommendation.Kind.values, ""),
        ("status", Status.values, "open"),
        ("sort", list(SORTS), "co2e"),
    ):
        value = query.get(name, default) or default
        if value and value not in allowed:
            errors[name] = f"{name.capitalize()} must be one of {', '.join(allowed)}."
            value = default
        chosen[name] = value
    account = query.get("account", "")
    if account and not ACCOUNT_ID.match(account):
        errors["account"], account = "An AWS account id is 12 digits.", ""
    chosen["account"], chosen["team"] = account, query.get("team", "")[:256]
    return chosen, errors


def listing(team, chosen: dict) -> list[Recommendation]:
    recs = Recommendation.objects.filter(team=team).select_related("endpoint", "account")
    if chosen["status"]:
        recs = recs.filter(status=chosen["status"])
    if chosen["kind"]:
        recs = recs.filter(kind=chosen["kind"])
    if chosen["account"]:
        recs = recs.filter(account__account_id=chosen["account"])
    rows = list(recs.order_by(SORTS[chosen["sort"]], "-monthly_co2e_kg_saved", "pk"))
    if chosen["sort"] == "usd":  # unknown prices last, not first
        rows.sort(key=lambda r: (r.monthly_usd_saved is None, -(r.monthly_usd_saved or 0)))
    if chosen["team"]:
        rows = [r for r in rows if r.endpoint and (r.endpoint.tags or {}).get(TEAM_TAG, UNTAGGED) == chosen["team"]]
    return rows


def table(rows: list[Recommendation]) -> Table:
    records = [
        {
            "id": r.pk,
            "title": r.title,
            "kind": r.get_kind_display(),
            "endpoint": r.endpoint.name if r.endpoint else "",
            "endpoint_id": r.endpoint_id,
            "account": r.account.account_id,
            "region": r.region,
            "kwh": r.monthly_kwh_saved,
            "co2e": r.monthly_co2e_kg_saved,
            "low": r.monthly_co2e_kg_saved_low,
            "high": r.monthly_co2e_kg_saved_high,
            "usd": r.monthly_usd_saved,
            "confidence": r.confidence,
            "status": r.get_status_display(),
        }
        for r in rows
    ]
    columns = [
        Column("title", "Recommendation", link=lambda row: f"#rec-{row['id']}", css="wrap"),
        Column("kind", "Kind"),
        Column(
            "endpoint",
            "Endpoint",
            link=lambda row: reverse("endpoint", args=[row["endpoint_id"]]) if row["endpoint_id"] else "",
        ),
        Column("account", "Account"),
        Column("region", "Region"),
        Column("co2e", "kg CO2e / month saved", 2),
        Column("low", "low", 2),
        Column("high", "high", 2),
        Column("kwh", "kWh / month saved", 1),
        Column("usd", "USD / month saved", 0),
        Column("confidence", "Confidence"),
        Column("status", "Status"),
    ]
    return Table(
        "recommendations",
        "Recommendations",
        columns,
        records,
        empty="Nothing here. Recommendations are re-computed every hour from the collected history.",
    )


@require_GET
def recommendation_list(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    chosen, errors = parse(request.GET)
    rows = listing(team, chosen) if team else []
    tables = [table(rows)]
    if wanted := request.GET.get("csv"):
        return csv_response(tables, wanted, "wattson-recommendations")
    query = urlencode({name: value for name, value in chosen.items() if value})  # a tag value may hold & or =
    open_recs = [r for r in rows if r.status == Status.OPEN]
    return render(
        request,
        "dashboard/recommendations.html",
        {
            "rows": rows,
            "tables": tables,
            "query": query,
            "chosen": chosen,
            "errors": errors,
            "kinds": Recommendation.Kind.choices,
            "statuses": Status.choices,
            "sorts": SORTS,
            "accounts": AwsAccount.objects.filter(team=team).values("account_id", "name") if team else [],
            "total_co2e": sum(r.monthly_co2e_kg_saved for r in open_recs),
            "total_usd": sum(r.monthly_usd_saved or 0 for r in open_recs),
            "today": timezone.now().date(),
            "chart_links": {r.pk: chart_link(r) for r in rows},
        },
    )


@require_POST
def recommendation_action(request: HttpRequest, pk: int) -> HttpResponse:
    rec = get_for_team_or_404(Recommendation.objects.all(), "team", current_team(request), pk=pk)
    action = request.POST.get("action", "")
    if action == "dismiss":
        reason = request.POST.get("reason", "").strip()[:MAX_REASON]
        if not reason:
            messages.error(request, "Say why you dismiss it: the reason is kept for the team.")
        else:
            rec.status, rec.dismissed_reason, rec.snoozed_until = Status.DISMISSED, reason, None
            messages.success(request, f"Dismissed: {rec.title}")
    elif action == "snooze":
        try:
            until = dt.date.fromisoformat(request.POST.get("until", ""))
        except ValueError:
            until = None
        if until is None or until <= timezone.now().date():
            messages.error(request, "Snooze until a date after today (YYYY-MM-DD).")
        else:
            rec.status, rec.snoozed_until = Status.SNOOZED, until
            messages.success(request, f"Snoozed until {until}: {rec.title}")
    elif action == "reopen":
        rec.status, rec.snoozed_until, rec.dismissed_reason = Status.OPEN, None, ""
        messages.success(request, f"Reopened: {rec.title}")
    else:
        messages.error(request, "Unknown action.")
    rec.save(update_fields=["status", "dismissed_reason", "snoozed_until"])
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("recommendations")
    return redirect(target)
