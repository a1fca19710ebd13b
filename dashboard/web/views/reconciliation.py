"""AWS vs ours: AWS's own monthly estimates for SageMaker beside ours, per account, with the gap explained item by
item, and AWS Compute Optimizer's idle findings beside our idle endpoints. The rows are
``dashboard.footprint.reconciliation``'s (the API's too); this view groups them per account and draws them."""

from __future__ import annotations

from collections import defaultdict

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from collectors.models import AwsAccount, AwsCarbonEstimate
from dashboard.footprint import reconciliation
from dashboard.recommend.policy import idle_policy, policy_of
from dashboard.teams.scoping import current_team
from dashboard.web import charts

GRANT = "sustainability:GetEstimatedCarbonEmissions"


def _chart(number: int, account: dict, rows: list[dict]) -> dict:
    """AWS's location-based figure vs ours (operational + embodied) by month, added up over the regions."""
    months = sorted({row["month"] for row in rows})
    aws, ours = [], []
    for month in months:
        of_month = [row for row in rows if row["month"] == month]
        figures = [
            row["aws_location_based_co2e_kg"] for row in of_month if row["aws_location_based_co2e_kg"] is not None
        ]
        aws.append(round(sum(figures), 6) if figures else None)
        ours.append(round(sum(row["co2e_kg"] + row["embodied_co2e_kg"] for row in of_month), 6))
    x = [f"{month}-01" for month in months]
    data = [
        {"type": "bar", "name": "AWS (location-based)", "x": x, "y": aws, "marker": {"color": charts.MUTED}},
        {"type": "bar", "name": "Ours (operational + embodied)", "x": x, "y": ours, "marker": {"color": charts.ACCENT}},
    ]
    title = f"AWS vs ours by month · {charts.text(account['name'])} ({account['account_id']})"
    layout = charts.layout(title, "kg CO2e", barmode="group", xaxis={"type": "date", "tickformat": "%b %Y"})
    return charts.figure(f"reconciliation-{number}", data, layout)


@require_GET
def reconciliation_page(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    if team is None:
        return render(request, "dashboard/reconciliation.html", {"state": "no-team"})
    now = timezone.now()
    first, stop = reconciliation.last_complete_months(now.date())
    rows = reconciliation.rows(team, first, stop)
    collected = AwsCarbonEstimate.objects.filter(account__team=team).exists()
    by_account = defaultdict(list)
    for row in rows:
        by_account[row["account_id"]].append({**row, "gap": reconciliation.gap(row)})
    accounts = [
        {"account_id": a["account_id"], "name": a["name"]}
        for a in AwsAccount.objects.filter(team=team).values("account_id", "name").order_by("name", "account_id")
    ]
    sections = [
        {
            **account,
            "rows": by_account[account["account_id"]],
            "chart": _chart(n, account, by_account[account["account_id"]]),
        }
        for n, account in enumerate(accounts)
        if by_account[account["account_id"]]
    ]
    policy = policy_of(team)
    idle = idle_policy(policy, policy.idle_days * 24)
    return render(
        request,
        "dashboard/reconciliation.html",
        {
            "state": "data" if collected else "no-aws",
            "grant": GRANT,
            "sections": sections,
            "first": first,
            "last": rows[-1]["month"] if rows else None,
            "months": reconciliation.DEFAULT_MONTHS,
            "idle_rows": reconciliation.idle(team, idle, now),
            "idle_after_hours": idle.min_hours,
            "idle_max_cpu_pct": idle.max_cpu_pct,
            "idle_max_gpu_pct": idle.max_gpu_pct,
        },
    )
