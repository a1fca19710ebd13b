"""Keep every collected variant-hour estimated: new or re-collected hours, and all history when the
methodology's version changes. Runs in batches after collection and on a schedule; each batch refreshes the
daily rollups its hours fall in, in the same transaction."""

from __future__ import annotations

import math

import pandas as pd
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

import estimator
from collectors.models import VariantHour
from dashboard.footprint import rollups
from dashboard.footprint.models import VariantHourEstimate

METHODOLOGY = "default"
BATCH_ROWS = 5000
ROW_FIELDS = (
    "pk",
    "instance_type",
    "endpoint__region",
    "instance_hours",
    "cpu_util_pct",
    "gpu_util_pct",
    "memory_util_pct",
    "invocations",
    "serverless_memory_mb",
    "model_latency_us",
)
LABELS = ("methodology", "methodology_version", "factors", "fallbacks")
NUMBERS = [name for name in estimator.OUTPUT_COLUMNS if name not in LABELS]


def current_version() -> str:
    return estimator.METHODOLOGIES[METHODOLOGY].version


def pending():
    """Hours without an estimate, re-collected since their estimate, or estimated by another version."""
    return VariantHour.objects.filter(
        Q(estimate__isnull=True)
        | Q(estimate__computed_at__lt=F("collected_at"))
        | ~Q(estimate__methodology_version=current_version())
    )


def usage_frame(rows: list[dict]) -> pd.DataFrame:
    """Estimator input: one row per variant-hour; ``instance_count`` is the average over the hour."""
    frame = pd.DataFrame.from_records(rows, columns=ROW_FIELDS)
    serverless = frame["serverless_memory_mb"].notna()
    return pd.DataFrame(
        {
            "instance_type": frame["instance_type"].where(~serverless, ""),
            "region": frame["endpoint__region"],
            "hours": 1.0,
            "instance_count": frame["instance_hours"].astype(float),
            "cpu_util_pct": frame["cpu_util_pct"].astype(float),
            "gpu_util_pct": frame["gpu_util_pct"].astype(float),
            "memory_util_pct": frame["memory_util_pct"].astype(float),
            "invocations": frame["invocations"].astype(float),
            "serverless_memory_mb": frame["serverless_memory_mb"].astype(float),
            "model_latency_ms": frame["model_latency_us"].astype(float) / 1000,
        }
    )


def _number(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def save(pks: list[int], estimates: pd.DataFrame, now) -> None:
    objects = [
        VariantHourEstimate(
            variant_hour_id=pk,
            computed_at=now,
            methodology=str(row.methodology),
            methodology_version=str(row.methodology_version),
            factors=str(row.factors),
            fallbacks=str(row.fallbacks),
            **{name: _number(getattr(row, name)) for name in NUMBERS},
        )
        for pk, row in zip(pks, estimates.itertuples(index=False), strict=True)
    ]
    with transaction.atomic():
        VariantHourEstimate.objects.bulk_create(
            objects,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["variant_hour"],
            update_fields=[
                f.name for f in VariantHourEstimate._meta.concrete_fields if f.name not in ("id", "variant_hour")
            ],
        )


def estimate_pending(progress=None) -> int:
    """Estimate every pending hour, a batch at a time; returns how many were (re)estimated."""
    done = 0
    while True:
        rows = list(pending().order_by("pk").values(*ROW_FIELDS, "endpoint_id", "hour")[:BATCH_ROWS])
        if not rows:
            return done
        now = timezone.now()
        estimates = estimator.estimate(usage_frame(rows), methodology=METHODOLOGY)
        with transaction.atomic():
            save([r["pk"] for r in rows], estimates, now)
            rollups.refresh(rollups.cells_of(rows))
        done += len(rows)
        if progress:
            progress(len(rows))
