"""What the endpoint rules look at: each live variant's current configuration and its recent hours on it.

Three queries per team whatever its size (endpoints, open configurations, hours), folded in pandas.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from django.conf import settings
from django.db.models import Min, Q
from django.utils import timezone

from collectors.models import CollectionState, Endpoint, VariantConfig, VariantHour
from collectors.models.health import Source
from dashboard.recommend.savings import capacity

HOUR_FIELDS = (
    "endpoint_id",
    "variant_name",
    "hour",
    "instance_type",
    "instance_hours",
    "cpu_util_pct",
    "gpu_util_pct",
    "memory_util_pct",
    "invocations",
    "model_latency_us",
)
ENDPOINT_FIELDS = (
    "id",
    "name",
    "region",
    "mode",
    "status",
    "tags",
    "account_id",
    "account__account_id",
    "capture_enabled",
    "capture_pct",
    "capture_destination",
)
CONFIG_FIELDS = (
    "endpoint_id",
    "variant_name",
    "valid_from",
    "instance_type",
    "initial_instance_count",
    "current_instance_count",
    "serverless_memory_mb",
    "model_mode",
    "model_name",
    "accelerator_type",
    "endpoint_config_name",
    "min_instance_count",
    "max_instance_count",
    "inference_components",
)


@dataclass
class Variant:
    """A live variant: its endpoint, its open configuration, and its hours on that configuration."""

    endpoint: dict
    config: dict
    hours: pd.DataFrame  # one row per hour within the lookback, oldest first
    variants_in_endpoint: int

    @property
    def instance_type(self) -> str:
        return self.config["instance_type"]

    @property
    def serverless(self) -> bool:
        return self.config["serverless_memory_mb"] is not None

    @property
    def region(self) -> str:
        return self.endpoint["region"]

    @property
    def subject(self) -> str:
        return f"endpoint:{self.endpoint['id']}/{self.config['variant_name']}"

    @property
    def instances(self) -> float:
        """Mean instances running over the hours (autoscaling moves it)."""
        return float(self.hours["instance_hours"].mean()) if len(self.hours) else 0.0

    @property
    def configured_instances(self) -> int:
        return int(self.config["current_instance_count"] or self.config["initial_instance_count"] or 1)

    def size(self) -> dict:
        return capacity(self.instance_type)

    def since(self, start: datetime) -> pd.DataFrame:
        return self.hours[self.hours["hour"] >= start]


def p95(values: pd.Series) -> float | None:
    values = values.dropna()
    return float(np.percentile(values, 95)) if len(values) else None


def summary(variant: Variant) -> dict:
    """The evidence every endpoint rule shows: hours, traffic and p50/p95 of each normalised utilization."""
    hours = variant.hours
    out = {
        "hours": len(hours),
        "instance_type": variant.instance_type,
        "mean_instances": round(variant.instances, 2),
        "invocations": float(hours["invocations"].fillna(0).sum()),
        "active_hours": int((hours["invocations"].fillna(0) > 0).sum()),
    }
    for name in ("cpu_util_pct", "gpu_util_pct", "memory_util_pct"):
        values = hours[name].dropna()
        if len(values):
            out[f"{name}_p50"] = round(float(values.median()), 2)
            out[f"{name}_p95"] = round(p95(values), 2)
    return out


def live_variants(team, lookback_days: int, now: datetime) -> list[Variant]:
    """Every variant of the team's endpoints that still exist, with its hours on its current configuration."""
    endpoints = {
        e["id"]: e
        for e in Endpoint.objects.filter(account__team=team, deleted_at__isnull=True).values(*ENDPOINT_FIELDS)
    }
    configs = list(
        VariantConfig.objects.filter(endpoint_id__in=list(endpoints), valid_to__isnull=True)
        .values(*CONFIG_FIELDS)
        .order_by("endpoint_id", "variant_name")
    )
    start = now - timedelta(days=lookback_days)
    rows = VariantHour.objects.filter(endpoint_id__in=list(endpoints), hour__gte=start).values(*HOUR_FIELDS)
    hours = pd.DataFrame.from_records(list(rows), columns=HOUR_FIELDS)
    hours["hour"] = pd.to_datetime(hours["hour"], utc=True)
    grouped = {key: frame for key, frame in hours.groupby(["endpoint_id", "variant_name"], sort=False)}
    per_endpoint = pd.Series([c["endpoint_id"] for c in configs]).value_counts().to_dict() if configs else {}
    variants = []
    for config in configs:
        frame = grouped.get((config["endpoint_id"], config["variant_name"]), hours.iloc[0:0])
        on_config = frame[frame["instance_type"] == config["instance_type"]].sort_values("hour")
        variants.append(
            Variant(
                endpoints[config["endpoint_id"]],
                config,
                on_config.reset_index(drop=True),
                per_endpoint.get(config["endpoint_id"], 1),
            )
        )
    return variants


SCALED_TO_ZERO_HOURS = 24


def scaled_to_zero(endpoint_id: int, variant_name: str) -> bool:
    """Whether the variant ran no instance in a quiet hour of the last ``SCALED_TO_ZERO_HOURS``: how an asynchronous
    endpoint's scale-to-zero shows, since its Application Auto Scaling policy is not collected.

    At zero instances nothing publishes a datapoint, so such an hour usually has no row at all. Two consecutive
    hours without an instance-hour of the variant (a quiet stretch as the rule counts them) count too when the
    collection demonstrably read them: they lie before the region's utilization watermark less the hours it
    re-reads for late datapoints, after the variant's first configuration, and other endpoints of the same account
    and region have rows for them (so a collection that failed or skipped the hours reads as nothing)."""
    now = timezone.now()
    since = (now - timedelta(hours=SCALED_TO_ZERO_HOURS)).replace(minute=0, second=0, microsecond=0)
    hours = VariantHour.objects.filter(endpoint_id=endpoint_id, variant_name=variant_name, hour__gte=since)
    if hours.filter(Q(invocations__isnull=True) | Q(invocations=0), instance_hours=0).exists():
        return True
    endpoint = Endpoint.objects.get(pk=endpoint_id)
    state = CollectionState.objects.filter(
        account_id=endpoint.account_id, region=endpoint.region, source=Source.UTILIZATION
    ).first()
    if state is None or state.watermark is None:
        return False
    hour = timedelta(hours=1)
    configs = VariantConfig.objects.filter(endpoint_id=endpoint_id, variant_name=variant_name)
    existed = configs.aggregate(first=Min("valid_from"))["first"] or endpoint.created_time or endpoint.first_seen
    start = max(since, (existed + hour - timedelta(microseconds=1)).replace(minute=0, second=0, microsecond=0))
    end = state.watermark.replace(minute=0, second=0, microsecond=0) - timedelta(hours=settings.COLLECT_REREAD_HOURS)
    if end - start < 2 * hour:
        return False
    running = set(hours.filter(hour__gte=start, hour__lt=end, instance_hours__gt=0).values_list("hour", flat=True))
    read = (
        VariantHour.objects.filter(
            endpoint__account_id=endpoint.account_id, endpoint__region=endpoint.region, hour__gte=start, hour__lt=end
        )
        .exclude(endpoint_id=endpoint_id)
        .values_list("hour", flat=True)
        .distinct()
    )
    missing = sorted(set(read) - running)
    return any(later - earlier == hour for earlier, later in zip(missing, missing[1:], strict=False))
