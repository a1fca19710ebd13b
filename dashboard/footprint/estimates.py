"""Keep every collected variant-hour estimated: new or re-collected hours, and all history when the
methodology's version changes. Runs in batches after collection and on a schedule; each batch refreshes the
daily rollups its hours fall in, in the same transaction."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.utils import timezone

import estimator
from collectors.models import ComponentHour, VariantHour
from dashboard.footprint import components, rollups
from dashboard.footprint.models import ComponentHourEstimate, EstimateFailure, VariantHourEstimate
from estimator.validation import check_usage

log = logging.getLogger(__name__)

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
    """Hours without an estimate, re-collected since their estimate, or estimated by another version, and hours
    one of whose inference components' hours is not split yet or was (re-)collected since the hour was estimated
    (its split is made with the hour's estimate: ``components.estimate_components``) - except those the current
    version refused since they were last collected (``EstimateFailure``)."""
    refused = EstimateFailure.objects.filter(
        variant_hour=OuterRef("pk"), methodology_version=current_version(), failed_at__gte=OuterRef("collected_at")
    )
    # The variant-hours of component hours not split yet or collected since: a subquery that does not refer to the
    # outer row, so the database computes it once (a hashed set), not once per variant-hour. Its inner lookup runs
    # only for those component hours, normally the last collection's.
    host = VariantHour.objects.filter(
        endpoint_id=OuterRef("component__endpoint_id"),
        variant_name=OuterRef("component__variant_name"),
        hour=OuterRef("hour"),
    )
    unsplit = (
        ComponentHour.objects.filter(Q(estimate__isnull=True) | Q(collected_at__gt=F("estimate__computed_at")))
        .annotate(host=Subquery(host.order_by().values("pk")[:1]))
        .filter(host__isnull=False)
        .values("host")
    )
    return VariantHour.objects.filter(
        Q(estimate__isnull=True)
        | Q(estimate__computed_at__lt=F("collected_at"))
        | ~Q(estimate__methodology_version=current_version())
        | Q(pk__in=unsplit)
    ).exclude(Exists(refused))


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


# Output columns a stored estimate may not leave empty (``gco2e_per_1k_invocations`` may: no invocations).
REQUIRED = [name for name in NUMBERS if not VariantHourEstimate._meta.get_field(name).null]


def estimate_rows(
    rows: list[dict], frame_of: Callable[[list[dict]], pd.DataFrame] | None = None, required: list[str] | None = None
) -> tuple[list[dict], pd.DataFrame, dict[int, str]]:
    """The rows the estimator accepted, their estimates, and ``{hour pk: why}`` for each row it refused: a value it
    rejects (``InputError`` names the row) or a result that is not a number. One bad row never costs the others
    their estimate: the estimator's input checks weed out the values it refuses first (``_valid_rows``), and should
    the estimate itself refuse a row, the rows around it are estimated in halves.

    ``frame_of`` builds the estimator's input from the rows (numbered 0, 1, ...; variant-hours' ``usage_frame`` by
    default) and ``required`` names the outputs a stored estimate may not leave empty: the workload-hours
    (``workload_estimates``) pass their own, and share this bookkeeping."""
    frame_of = frame_of or usage_frame
    required = REQUIRED if required is None else required
    refused: dict[int, str] = {}
    parts = _accepted_parts(_valid_rows(list(rows), refused, frame_of), refused, frame_of)
    accepted = [row for part, _ in parts for row in part]
    if not accepted:
        return [], pd.DataFrame(columns=list(estimator.OUTPUT_COLUMNS)), refused
    estimates = pd.concat([frame for _, frame in parts], ignore_index=True)
    empty = estimates[required].isna().to_numpy()
    bad = np.flatnonzero(empty.any(axis=1))
    for position in bad:
        columns = ", ".join(np.asarray(required)[empty[position]])
        refused[accepted[position]["pk"]] = f"the estimate is not a number in {columns}"
    keep = ~empty.any(axis=1)
    kept_rows = [row for row, kept in zip(accepted, keep, strict=True) if kept]
    return kept_rows, estimates[keep].reset_index(drop=True), refused


def _valid_rows(rows: list[dict], refused: dict[int, str], frame_of=usage_frame) -> list[dict]:
    """The rows whose values the estimator's own input checks accept, each refused one recorded with its reason. The
    checks (cheap, vectorised) are run again without each refused row until none is left, so many bad rows cost a
    check each rather than an estimate each."""
    frame = frame_of(rows)
    while len(frame):
        try:
            check_usage(frame)
            break
        except estimator.InputError as error:
            if error.row is None:  # the frame itself is wrong (a column we failed to send): our bug, not a row's
                raise
            refused[rows[int(error.row)]["pk"]] = str(error)  # usage_frame numbers its rows 0, 1, ...
            frame = frame.drop(index=error.row)
    return [rows[position] for position in frame.index]


def _accepted_parts(
    rows: list[dict], refused: dict[int, str], frame_of=usage_frame
) -> list[tuple[list[dict], pd.DataFrame]]:
    if not rows:
        return []
    try:
        return [(rows, estimator.estimate(frame_of(rows), methodology=METHODOLOGY))]
    except estimator.InputError as error:
        if error.row is None:  # the frame itself is wrong (a column we failed to send): our bug, not a row's
            raise
        position = int(error.row)  # usage_frame numbers its rows 0, 1, ...
        refused[rows[position]["pk"]] = str(error)
        rest = rows[:position] + rows[position + 1 :]
        middle = len(rest) // 2
        return _accepted_parts(rest[:middle], refused, frame_of) + _accepted_parts(rest[middle:], refused, frame_of)


def record_refused(refused: dict[int, str], now) -> None:
    """Keep why each hour was refused (replacing an older reason): Collection health shows them."""
    version = current_version()
    EstimateFailure.objects.bulk_create(
        [
            EstimateFailure(variant_hour_id=pk, methodology_version=version, error=why[:2000], failed_at=now)
            for pk, why in refused.items()
        ],
        update_conflicts=True,
        unique_fields=["variant_hour"],
        update_fields=["methodology_version", "error", "failed_at"],
    )
    for pk, why in refused.items():
        log.warning("variant-hour %s not estimated: %s", pk, why)


FRESH_CHECK_BATCHES = 20  # while re-estimating history, look for never-estimated hours every this many batches


def next_batch(fresh_first: bool) -> tuple[list[dict], bool]:
    """The next pending hours, oldest first. With ``fresh_first``, hours never estimated come before hours to be
    re-estimated, so that after a methodology version change newly collected hours do not wait behind the whole
    of history (looked for every ``FRESH_CHECK_BATCHES`` batches: the look costs a scan when there are none).
    Returns the batch and whether it is of never-estimated hours."""
    fields = tuple(dict.fromkeys((*ROW_FIELDS, *components.HOUR_FIELDS)))
    if fresh_first:
        fresh = list(pending().filter(estimate__isnull=True).order_by("pk").values(*fields)[:BATCH_ROWS])
        if fresh:
            return fresh, True
    return list(pending().order_by("pk").values(*fields)[:BATCH_ROWS]), False


def estimate_pending(progress=None) -> int:
    """Estimate every pending hour, a batch at a time; returns how many were (re)estimated. A row the estimator
    refuses is recorded and skipped (``estimate_rows``), never blocking the rows after it."""
    done, since_fresh_look = 0, 0
    while True:
        look = since_fresh_look % FRESH_CHECK_BATCHES == 0
        batch, fresh = next_batch(fresh_first=look)
        since_fresh_look = 0 if fresh else since_fresh_look + 1  # keep taking fresh hours while there are any
        if not batch:
            return done
        now = timezone.now()
        rows, estimates, refused = estimate_rows(batch)
        with transaction.atomic():
            save([r["pk"] for r in rows], estimates, now)
            components.estimate_components(rows, estimates, now, usage_frame, METHODOLOGY)
            EstimateFailure.objects.filter(variant_hour_id__in=[r["pk"] for r in rows]).delete()  # mended
            if refused:
                record_refused(refused, now)
                # A refused hour keeps no older estimate: the rollups then leave it out, rather than pair its new
                # usage with the energy of what it was before it was re-collected.
                VariantHourEstimate.objects.filter(variant_hour_id__in=list(refused)).delete()
                ComponentHourEstimate.objects.filter(variant_hour_id__in=list(refused)).delete()
            rollups.refresh(rollups.cells_of(batch))
        done += len(rows)
        if progress:
            progress(len(batch))
