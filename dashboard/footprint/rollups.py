"""Daily and monthly rollups of the hourly data (``VariantDay``, ``VariantMonth``), kept current as hours are
estimated.

A refresh recomputes whole (endpoint, day) cells from their hours (with where their estimates come from,
``EstimateSourceDay``), then the (endpoint, month) cells those days fall in from their day rows: it deletes the
cells' rows and inserts the new sums in one transaction, so a re-collected or re-estimated hour, or a
configuration change in the middle of a day, never leaves a stale or duplicated row behind, and a month always
equals the sum of its days.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth

from collectors.models import VariantHour
from dashboard.footprint.measures import (
    ESTIMATED,
    PARTIAL,
    SUMMED,
    UTILIZATION,
    summed,
    total,
    weighted_aggregates,
    weighted_means,
)
from dashboard.footprint.models import EstimateSourceDay, VariantDay, VariantHourEstimate, VariantMonth

UTC = dt.UTC
NO_INVOCATION = Q(invocations__isnull=True) | Q(invocations=0)
ENDPOINTS_PER_QUERY = 200
SOURCE_FIELDS = ("methodology", "methodology_version", "factors", "fallbacks")
ROLLUP_LOCK = 0x5761_7474  # PostgreSQL advisory lock key serialising refreshes across workers


def serialise_refreshes() -> None:
    """Two workers refreshing the same cells at once would both insert them; on PostgreSQL the second waits for
    the first's transaction (SQLite's IMMEDIATE transactions already serialise writers)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ROLLUP_LOCK])


def footprint_sums() -> dict:
    """The sums a rollup row and an hour-grain series share, over estimated hours and their estimates, named
    ``t_<field>`` (an annotation may not share its name with the model field it sums). A ``measures.PARTIAL``
    column is NULL where any hour summed lacks it, so a partly re-estimated day never shows a low figure."""
    sums = {
        "instance_hours": total(Sum("instance_hours")),
        "idle_instance_hours": total(Sum("instance_hours", filter=NO_INVOCATION)),
        "invocations": total(Sum("invocations")),
        "idle_energy_kwh": total(Sum("estimate__energy_kwh", filter=NO_INVOCATION)),
        **{name: summed(f"estimate__{name}") for name in ESTIMATED},
    }
    return {f"t_{name}": aggregate for name, aggregate in sums.items()}


def _aggregates() -> dict:
    extra = {
        "hours": Count("id"),
        "cpu_util_max_pct": Max("cpu_util_max_pct"),
        "gpu_util_max_pct": Max("gpu_util_max_pct"),
        **weighted_aggregates(),
    }
    return {**footprint_sums(), **{f"t_{name}": aggregate for name, aggregate in extra.items()}}


def _row(grouped: dict) -> VariantDay:
    values = {name.removeprefix("t_"): value for name, value in grouped.items()}
    means = weighted_means(values)
    for name in UTILIZATION:
        values.pop(f"{name}_x"), values.pop(f"{name}_w")
    return VariantDay(**values, **means)


def _day_rows(endpoint_ids: list[int], first: dt.date, last: dt.date) -> list[VariantDay]:
    hours = VariantHour.objects.filter(
        endpoint_id__in=endpoint_ids,
        estimate__isnull=False,
        hour__gte=dt.datetime.combine(first, dt.time(), UTC),
        hour__lt=dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), UTC),
    )
    grouped = (
        hours.annotate(day=TruncDate("hour", tzinfo=UTC))
        .values("endpoint_id", "variant_name", "day", "instance_type")
        .annotate(account_id=Max("endpoint__account_id"), region=Max("endpoint__region"), **_aggregates())
        .order_by()
    )
    return [_row(values) for values in grouped]


def refresh(cells: Iterable[tuple[int, dt.date]]) -> int:
    """Recompute the rollup rows of these (endpoint id, UTC day) cells; returns how many rows were written."""
    days_by_endpoint: dict[int, set[dt.date]] = defaultdict(set)
    for endpoint_id, day in cells:
        days_by_endpoint[endpoint_id].add(day)
    # Endpoints that share a span of days are recomputed together: one query per group, not per cell.
    spans: dict[tuple[dt.date, dt.date], list[int]] = defaultdict(list)
    for endpoint_id, days in days_by_endpoint.items():
        spans[(min(days), max(days))].append(endpoint_id)
    written = 0
    for (first, last), endpoint_ids in spans.items():
        for start in range(0, len(endpoint_ids), ENDPOINTS_PER_QUERY):
            written += _replace(endpoint_ids[start : start + ENDPOINTS_PER_QUERY], first, last)
    return written


def _replace(endpoint_ids: list[int], first: dt.date, last: dt.date) -> int:
    with transaction.atomic():
        serialise_refreshes()
        rows = _day_rows(endpoint_ids, first, last)
        VariantDay.objects.filter(endpoint_id__in=endpoint_ids, day__gte=first, day__lte=last).delete()
        VariantDay.objects.bulk_create(rows, batch_size=1000)
        _replace_sources(endpoint_ids, first, last)
        _replace_months(endpoint_ids, month_of(first), month_of(last))
    return len(rows)


def _source_rows(endpoint_ids: list[int], first: dt.date, last: dt.date) -> list[EstimateSourceDay]:
    estimates = VariantHourEstimate.objects.filter(
        variant_hour__endpoint_id__in=endpoint_ids,
        variant_hour__hour__gte=dt.datetime.combine(first, dt.time(), UTC),
        variant_hour__hour__lt=dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), UTC),
    )
    grouped = (
        estimates.annotate(
            t_endpoint_id=F("variant_hour__endpoint_id"), t_day=TruncDate("variant_hour__hour", tzinfo=UTC)
        )
        .values("t_endpoint_id", "t_day", *SOURCE_FIELDS)
        .annotate(t_hours=Count("id"), t_last_computed_at=Max("computed_at"))
        .order_by()
    )
    return [EstimateSourceDay(**{name.removeprefix("t_"): value for name, value in row.items()}) for row in grouped]


def _replace_sources(endpoint_ids: list[int], first: dt.date, last: dt.date) -> None:
    """Recompute where the estimates of these endpoints' days come from (the endpoint page's provenance)."""
    rows = _source_rows(endpoint_ids, first, last)
    EstimateSourceDay.objects.filter(endpoint_id__in=endpoint_ids, day__gte=first, day__lte=last).delete()
    EstimateSourceDay.objects.bulk_create(rows, batch_size=1000)


def month_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(month: dt.date) -> dt.date:
    return (month + dt.timedelta(days=32)).replace(day=1)


def _month_aggregates() -> dict:
    """A month's sums over its day rows (NULL for a ``measures.PARTIAL`` column any day lacks); utilization as the
    days' weighted sums and weights (``<name>_x``, ``<name>_w``), which is what the day rows combine into over any
    period."""
    weighted = {name: total(aggregate) for name, aggregate in weighted_aggregates().items()}
    extra = {"cpu_util_max_pct": Max("cpu_util_max_pct"), "gpu_util_max_pct": Max("gpu_util_max_pct")}
    sums = {name: summed(name) if name in PARTIAL else Sum(name) for name in ("hours", *SUMMED)}
    return {f"t_{name}": aggregate for name, aggregate in {**sums, **weighted, **extra}.items()}


def _month_rows(endpoint_ids: list[int], first: dt.date, last: dt.date) -> list[VariantMonth]:
    grouped = (
        VariantDay.objects.filter(endpoint_id__in=endpoint_ids, day__gte=first, day__lt=next_month(last))
        .annotate(month=TruncMonth("day"))
        .values("endpoint_id", "variant_name", "month", "instance_type")
        .annotate(account_id=Max("account_id"), region=Max("region"), **_month_aggregates())
        .order_by()
    )
    return [VariantMonth(**{name.removeprefix("t_"): value for name, value in row.items()}) for row in grouped]


def _replace_months(endpoint_ids: list[int], first: dt.date, last: dt.date) -> None:
    """Recompute the months ``first``..``last`` (first days) of these endpoints from their day rows; called
    inside the transaction that replaced the days."""
    rows = _month_rows(endpoint_ids, first, last)
    VariantMonth.objects.filter(endpoint_id__in=endpoint_ids, month__gte=first, month__lte=last).delete()
    VariantMonth.objects.bulk_create(rows, batch_size=1000)


def cells_of(hours: Iterable[dict]) -> set[tuple[int, dt.date]]:
    """The (endpoint id, UTC day) cells that hours given as ``{"endpoint_id", "hour"}`` fall in."""
    return {(h["endpoint_id"], h["hour"].astimezone(UTC).date()) for h in hours}


def rebuild(progress=None) -> int:
    """Recompute every rollup row from the hourly data, an endpoint group at a time."""
    spans = (
        VariantHour.objects.values("endpoint_id").annotate(first=Min("hour"), last=Max("hour")).order_by("endpoint_id")
    )
    written = 0
    for span in spans:
        written += _replace(
            [span["endpoint_id"]], span["first"].astimezone(UTC).date(), span["last"].astimezone(UTC).date()
        )
        if progress:
            progress(1)
    # NOT EXISTS, not NOT IN: PostgreSQL would rescan millions of hour ids for every rollup row.
    without_hours = ~Exists(VariantHour.objects.filter(endpoint_id=OuterRef("endpoint_id")))
    VariantDay.objects.filter(without_hours).delete()
    VariantMonth.objects.filter(without_hours).delete()
    EstimateSourceDay.objects.filter(without_hours).delete()
    return written
