"""Energy and CO2e of workload-hours (jobs, notebook instances, Studio apps; issue 19), by the same estimator, the same
methodology and the same bookkeeping as endpoints' variant-hours (``estimates.py``): new hours, hours re-collected
since their estimate (``collected_at`` after ``computed_at``) and hours estimated by another methodology version are
pending, except those the current version refused since they were last collected (``WorkloadEstimateFailure``).

One workload-hour is one estimator row: its type and the workload's region, ``hours`` 1 and ``instance_count`` its
instance-hours (the hour's average number of instances, as a variant-hour's), utilization per vCPU / per GPU as the
collectors normalised it, NaN where no metric exists (notebooks, Studio apps, a job before its metrics are read):
the estimator then charges its default and names it in ``fallbacks``. Jobs take no requests: ``invocations`` NaN.
A row the estimator refuses is recorded and skipped, never costing the rows around it their estimate (the same
bisection as ``estimates.estimate_rows``)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

import estimator
from collectors.models import WorkloadHour
from dashboard.footprint import estimates as variant_estimates
from dashboard.footprint.estimates import current_version
from dashboard.footprint.models import WorkloadEstimateFailure, WorkloadHourEstimate

log = logging.getLogger(__name__)

BATCH_ROWS = 5000
ROW_FIELDS = (
    "pk",
    "instance_type",
    "workload__region",
    "instance_hours",
    "cpu_util_pct",
    "gpu_util_pct",
    "memory_util_pct",
)
LABELS = ("methodology", "methodology_version", "factors", "fallbacks")
# The estimator's numbers a workload-hour keeps (no invocations, so no per-1k-invocations intensity).
STORED = [f.name for f in WorkloadHourEstimate._meta.concrete_fields]
NUMBERS = [name for name in estimator.OUTPUT_COLUMNS if name not in LABELS and name in STORED]
REQUIRED = [name for name in NUMBERS if not WorkloadHourEstimate._meta.get_field(name).null]


def pending():
    """Workload-hours without an estimate, re-collected since it, or estimated by another methodology version,
    except those the current version refused since they were last collected."""
    refused = WorkloadEstimateFailure.objects.filter(
        workload_hour=OuterRef("pk"), methodology_version=current_version(), failed_at__gte=OuterRef("collected_at")
    )
    return WorkloadHour.objects.filter(
        Q(estimate__isnull=True)
        | Q(estimate__computed_at__lt=F("collected_at"))
        | ~Q(estimate__methodology_version=current_version())
    ).exclude(Exists(refused))


def usage_frame(rows: list[dict]) -> pd.DataFrame:
    """Estimator input: one row per workload-hour, numbered 0, 1, ... (``InputError.row`` is a position)."""
    frame = pd.DataFrame.from_records(rows, columns=ROW_FIELDS)
    return pd.DataFrame(
        {
            "instance_type": frame["instance_type"].astype(str),
            "region": frame["workload__region"].astype(str),
            "hours": 1.0,
            "instance_count": frame["instance_hours"].astype(float),
            "cpu_util_pct": frame["cpu_util_pct"].astype(float),
            "gpu_util_pct": frame["gpu_util_pct"].astype(float),
            "memory_util_pct": frame["memory_util_pct"].astype(float),
            "invocations": np.nan,
        }
    )


def estimate_rows(rows: list[dict]) -> tuple[list[dict], pd.DataFrame, dict[int, str]]:
    """The rows the estimator accepted, their estimates, and ``{hour pk: why}`` for each refused row: the variant-
    hours' bookkeeping (``estimates.estimate_rows``) on this module's input frame and required outputs."""
    return variant_estimates.estimate_rows(rows, frame_of=usage_frame, required=REQUIRED)


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def save(pks: list[int], estimates: pd.DataFrame, now) -> None:
    """Upsert the estimates of the hours ``pks`` (in the same order)."""
    objects = [
        WorkloadHourEstimate(
            workload_hour_id=pk,
            computed_at=now,
            methodology=str(row.methodology),
            methodology_version=str(row.methodology_version),
            factors=str(row.factors),
            fallbacks=str(row.fallbacks),
            **{name: _number(getattr(row, name)) for name in NUMBERS},
        )
        for pk, row in zip(pks, estimates.itertuples(index=False), strict=True)
    ]
    WorkloadHourEstimate.objects.bulk_create(
        objects,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["workload_hour"],
        update_fields=[f for f in STORED if f not in ("id", "workload_hour")],
    )


def record_refused(refused: dict[int, str], now) -> None:
    version = current_version()
    WorkloadEstimateFailure.objects.bulk_create(
        [
            WorkloadEstimateFailure(workload_hour_id=pk, methodology_version=version, error=why[:2000], failed_at=now)
            for pk, why in refused.items()
        ],
        update_conflicts=True,
        unique_fields=["workload_hour"],
        update_fields=["methodology_version", "error", "failed_at"],
    )
    for pk, why in refused.items():
        log.warning("workload-hour %s not estimated: %s", pk, why)


def estimate_pending(batch_size: int = BATCH_ROWS) -> int:
    """Estimate new, re-collected and outdated workload-hours; returns how many were estimated. One pass in key
    order: an hour re-collected meanwhile (or stamped ahead of this clock) waits for the next call, never loops."""
    done, last = 0, 0
    while True:
        batch = list(pending().filter(pk__gt=last).order_by("pk").values(*ROW_FIELDS)[:batch_size])
        if not batch:
            return done
        last = batch[-1]["pk"]
        now = timezone.now()
        rows, estimates, refused = estimate_rows(batch)
        with transaction.atomic():
            save([r["pk"] for r in rows], estimates, now)
            WorkloadEstimateFailure.objects.filter(workload_hour_id__in=[r["pk"] for r in rows]).delete()  # mended
            if refused:
                record_refused(refused, now)
                # A refused hour keeps no older estimate: its new usage is never paired with its old energy.
                WorkloadHourEstimate.objects.filter(workload_hour_id__in=list(refused)).delete()
        done += len(rows)
