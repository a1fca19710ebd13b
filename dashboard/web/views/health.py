"""Collection health: per account, region and source, when data last arrived and what went wrong."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from collectors.models import CollectionState, WorkerHeartbeat
from collectors.models.health import Source
from dashboard.footprint.models import EstimateFailure
from dashboard.schedule import PERIODIC_JOBS, period_seconds
from dashboard.teams.scoping import current_team


def lag_seconds(state: CollectionState, now) -> float | None:
    """How far behind the data is: from the watermark (utilization) or the last success (snapshots)."""
    reference = state.watermark if state.source == "utilization" else state.last_success
    return (now - reference).total_seconds() if reference else None


def collection_health(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    now = timezone.now()
    states = (
        (
            CollectionState.objects.filter(account__team=team)
            .select_related("account")
            .order_by("account__name", "region", "source")
        )
        if team
        else CollectionState.objects.none()
    )
    rows = [
        {
            "state": s,
            "lag_minutes": None if lag_seconds(s, now) is None else round(lag_seconds(s, now) / 60),
            "cloudtrail_unreadable": cloudtrail_unreadable(s),
        }
        for s in states
    ]
    context = {
        "rows": rows,
        "failing": sum(1 for s in states if s.last_error),
        "partial": sum(1 for s in states if s.resource_errors and not s.last_error),
        "unreadable": sum(1 for row in rows if row["cloudtrail_unreadable"]),
        "heartbeats": WorkerHeartbeat.objects.order_by("-last_seen")[:5],
        "jobs": [(job, period_seconds(job)) for job in PERIODIC_JOBS],
        **refused_hours(team),
    }
    return render(request, "collectors/health.html", context)


def cloudtrail_unreadable(state: CollectionState) -> dict | None:
    """A CloudTrail collection that could not read the events (no permission): why, and the first collection of
    the region, before which each endpoint's configuration is assumed to be the first one the inventory saw."""
    if state.source != Source.CLOUDTRAIL or state.last_summary.get("readable", True):
        return None
    first = state.last_summary.get("first_collection")
    return {
        "denied": state.last_summary.get("denied", ""),
        "first_collection": parse_datetime(first) if first else None,
    }


REFUSED_SHOWN = 10


def refused_hours(team) -> dict:
    """Variant-hours the estimator refused (recorded, skipped, retried when re-collected): how many, and the
    latest few with their reason."""
    if team is None:
        return {"refused_count": 0, "refused": []}
    refused = EstimateFailure.objects.filter(variant_hour__endpoint__account__team=team)
    count = refused.count()
    latest = refused.select_related("variant_hour__endpoint").order_by("-failed_at", "-variant_hour__hour")
    return {"refused_count": count, "refused": list(latest[:REFUSED_SHOWN]) if count else []}
