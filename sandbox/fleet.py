"""The demo ML fleet: who owns which endpoints, on what hardware, and how busy they are over time.

Everything here is deterministic: the same ``now`` gives the same fleet and the same series, and a
value depends only on the endpoint, the variant and the timestamp (never on the query window), so
a test can recompute independently what any hour of the simulated CloudWatch must contain.

Units follow AWS: host utilization in ``/aws/sagemaker/Endpoints`` is a percentage *summed* over
vCPUs (CPU) or GPUs (GPU, GPU memory); memory and disk are 0-100 %; ``ModelLatency`` is in
microseconds; ``Invocations`` is a count per minute.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from estimator.catalog import hardware

ACCOUNTS = {"111122223333": "ml-prod", "444455556666": "ml-research"}
REGIONS = ("us-east-1", "eu-west-1", "eu-north-1")
# Days of CloudWatch history seeded: 14 (what the collectors backfill) unless SANDBOX_HISTORY_DAYS says more; `make
# demo` asks for enough to cover the last complete month, which AWS's own monthly carbon figures are compared on.
HISTORY_DAYS = int(os.environ.get("SANDBOX_HISTORY_DAYS") or 14)
MINUTE_DETAIL_HOURS = 3
HOST_NAMESPACE = "/aws/sagemaker/Endpoints"
INVOCATION_NAMESPACE = "AWS/SageMaker"
COMPONENT_NAMESPACE = "/aws/sagemaker/InferenceComponents"
DEFAULT_PUBLISH_SECONDS = 60  # MetricsConfig.MetricPublishFrequencyInSeconds when absent
CLOUDTRAIL_DAYS = 90  # CloudTrail's event history keeps management events this long
ROLE_NAME = "WattsonReadOnly"

# Behaviours: how traffic (0..1 of the variant's peak) moves over time.
BUSY, OVERPROVISIONED, IDLE, INTERMITTENT, DIURNAL, STEADY = (
    "busy",
    "overprovisioned",
    "idle",
    "intermittent",
    "diurnal",
    "steady",
)


@dataclass(frozen=True)
class Load:
    """How hard the hardware works at full traffic (normalised %, per vCPU / per GPU)."""

    cpu_floor_pct: float = 2.0
    cpu_peak_pct: float = 60.0
    gpu_floor_pct: float = 0.0
    gpu_peak_pct: float = 0.0
    memory_pct: float = 35.0
    disk_pct: float = 18.0
    peak_rps: float = 20.0
    latency_ms: float = 25.0


@dataclass(frozen=True)
class Variant:
    name: str
    instance_type: str | None  # None for serverless
    instance_count: int = 1
    weight: float = 1.0
    max_instances: int | None = None  # autoscaling: the count follows traffic up to this
    serverless_memory_mb: int | None = None
    serverless_max_concurrency: int = 20
    load: Load = field(default_factory=Load)
    # ManagedInstanceScaling (min, max) in the config only; the instance count stays ``instance_count``
    # (unlike ``max_instances``, which makes the count follow traffic).
    managed_scaling: tuple[int, int] | None = None

    @property
    def serverless(self) -> bool:
        return self.instance_type is None


@dataclass(frozen=True)
class Component:
    """An inference component: a model with its own copies on an IC-based endpoint's variant.

    Each copy reserves ``cpu_cores`` cores, ``accelerators`` GPUs and ``memory_mb`` MB of the instances. The
    copy count was ``earlier_copies`` until ``copies_changed_days_ago`` (floored to the hour), ``copies`` since.
    ``load`` percentages are of what the copies reserved (the ``*UtilizationNormalized`` of the component).
    """

    name: str
    behaviour: str
    copies: int
    cpu_cores: float
    accelerators: int
    memory_mb: int
    load: Load
    variant: str = "AllTraffic"
    earlier_copies: int | None = None
    copies_changed_days_ago: float | None = None


@dataclass(frozen=True)
class Swap:
    """A past configuration change: ``variant`` ran on ``old_instance_type`` until ``days_ago``."""

    variant: str
    old_instance_type: str
    old_instance_count: int
    days_ago: float


@dataclass(frozen=True)
class Endpoint:
    name: str
    account: str
    region: str
    team: str
    behaviour: str
    variants: tuple[Variant, ...]
    owner: str = ""
    mode: str = "realtime"  # realtime | async | serverless | multi-model
    capture_pct: int | None = None
    deleted_days_ago: float | None = None
    idle_days: float = 0.0  # for IDLE: no invocations for this many days before now
    status: str = "InService"
    swap: Swap | None = None
    created_days_ago: float = 60.0
    extra_tags: tuple[tuple[str, str], ...] = ()
    metric_publish_seconds: int = DEFAULT_PUBLISH_SECONDS  # MetricsConfig.MetricPublishFrequencyInSeconds
    busy_gpus: int | None = None  # with enhanced metrics: only this many GPUs per instance carry the load
    enhanced_metrics: bool = False  # MetricsConfig.EnableEnhancedMetrics
    components: tuple[Component, ...] = ()  # inference components (an IC-based endpoint: no ModelName)

    @property
    def ic_based(self) -> bool:
        return bool(self.components)

    @property
    def metrics_config(self) -> dict | None:
        """The endpoint config's MetricsConfig, or None when the endpoint was created without one (AWS defaults)."""
        if self.metric_publish_seconds == DEFAULT_PUBLISH_SECONDS and not self.enhanced_metrics:
            return None
        return {
            "EnableEnhancedMetrics": self.enhanced_metrics,
            "MetricPublishFrequencyInSeconds": self.metric_publish_seconds,
        }

    @property
    def seed(self) -> int:
        return int(hashlib.sha256(self.name.encode()).hexdigest()[:8], 16)

    @property
    def deleted(self) -> bool:
        return self.deleted_days_ago is not None

    def tags(self) -> list[dict]:
        tags = [("team", self.team), ("owner", self.owner or f"{self.team}@example.com"), *self.extra_tags]
        return [{"Key": k, "Value": v} for k, v in tags]

    def capture_bucket(self) -> str:
        return f"{ACCOUNTS[self.account]}-datacapture-{self.region}"


# --- the hand-made part of the fleet: one endpoint per behaviour worth showing -------------------

PROD, RESEARCH = "111122223333", "444455556666"
_GPU_BUSY = Load(cpu_peak_pct=35, gpu_floor_pct=3, gpu_peak_pct=78, memory_pct=55, peak_rps=60, latency_ms=40)
_GPU_WASTE = Load(cpu_peak_pct=6, gpu_floor_pct=0.5, gpu_peak_pct=5, memory_pct=22, peak_rps=4, latency_ms=55)
_CPU_BUSY = Load(cpu_floor_pct=5, cpu_peak_pct=72, memory_pct=48, peak_rps=120, latency_ms=12)
_CPU_LIGHT = Load(cpu_floor_pct=1.5, cpu_peak_pct=9, memory_pct=20, peak_rps=3, latency_ms=18)
_INF = Load(cpu_peak_pct=25, memory_pct=40, peak_rps=90, latency_ms=9)

SHOWCASE = (
    Endpoint(
        "fraud-scoring",
        PROD,
        "us-east-1",
        "payments",
        BUSY,
        (Variant("AllTraffic", "ml.c5.2xlarge", 3, max_instances=6, load=_CPU_BUSY),),
        capture_pct=20,
    ),
    Endpoint(
        "recsys-ranker",
        PROD,
        "us-east-1",
        "recommendations",
        DIURNAL,
        (
            Variant("A", "ml.g5.2xlarge", 2, weight=0.8, load=_GPU_BUSY),
            Variant("B", "ml.g5.xlarge", 1, weight=0.2, load=_GPU_BUSY),
        ),
        swap=Swap("A", "ml.g5.4xlarge", 2, days_ago=5.0),
    ),
    Endpoint(
        "legacy-churn-model",
        PROD,
        "us-east-1",
        "growth",
        IDLE,
        (Variant("AllTraffic", "ml.p3.2xlarge", 1, load=_GPU_WASTE),),
        idle_days=9,
    ),
    Endpoint(
        "image-tagger",
        PROD,
        "us-east-1",
        "vision",
        OVERPROVISIONED,
        (Variant("AllTraffic", "ml.g4dn.12xlarge", 2, load=_GPU_WASTE),),
    ),
    Endpoint(
        "sentiment-serverless",
        PROD,
        "us-east-1",
        "support",
        INTERMITTENT,
        (Variant("AllTraffic", None, serverless_memory_mb=4096, load=Load(memory_pct=45, peak_rps=5)),),
        mode="serverless",
    ),
    Endpoint(
        "doc-summarizer-async",
        PROD,
        "us-east-1",
        "support",
        INTERMITTENT,
        (Variant("AllTraffic", "ml.g5.xlarge", 1, load=_GPU_BUSY),),
        mode="async",
    ),
    Endpoint(
        "multi-tenant-models",
        PROD,
        "us-east-1",
        "platform",
        STEADY,
        (Variant("AllTraffic", "ml.m5.2xlarge", 2, load=Load(cpu_peak_pct=30, memory_pct=70)),),
        mode="multi-model",
    ),
    Endpoint(
        "search-embeddings", PROD, "us-east-1", "search", BUSY, (Variant("AllTraffic", "ml.inf2.xlarge", 2, load=_INF),)
    ),
    Endpoint(
        "old-forecast",
        PROD,
        "us-east-1",
        "planning",
        STEADY,
        (Variant("AllTraffic", "ml.m5.xlarge", 1, load=_CPU_LIGHT),),
        deleted_days_ago=6.0,
    ),
    Endpoint(
        "clickstream-scorer",
        PROD,
        "us-east-1",
        "growth",
        BUSY,
        (Variant("AllTraffic", "ml.c6i.xlarge", 2, load=_CPU_BUSY),),
        capture_pct=100,
    ),
    Endpoint(
        "translate-inf1",
        PROD,
        "eu-west-1",
        "localization",
        DIURNAL,
        (Variant("AllTraffic", "ml.inf1.2xlarge", 1, load=_INF),),
        capture_pct=10,
    ),
    Endpoint(
        "tabular-xgb",
        PROD,
        "eu-west-1",
        "payments",
        STEADY,
        (Variant("AllTraffic", "ml.c7g.xlarge", 2, load=Load(cpu_peak_pct=45, peak_rps=40)),),
    ),
    Endpoint(
        "feature-lookup",
        PROD,
        "eu-west-1",
        "platform",
        STEADY,
        (Variant("AllTraffic", "ml.m6g.large", 2, load=Load(cpu_peak_pct=38, peak_rps=70)),),
    ),
    Endpoint(
        "ner-tagger",
        PROD,
        "eu-west-1",
        "localization",
        DIURNAL,
        (Variant("AllTraffic", "ml.c5.xlarge", 1, load=_CPU_BUSY),),
        status="Updating",
    ),
    Endpoint(
        "llm-playground",
        RESEARCH,
        "us-east-1",
        "research",
        INTERMITTENT,
        (Variant("AllTraffic", "ml.g5.12xlarge", 1, load=_GPU_BUSY),),
        capture_pct=100,
    ),
    Endpoint(
        "bert-experiment-3",
        RESEARCH,
        "us-east-1",
        "research",
        IDLE,
        (Variant("AllTraffic", "ml.g4dn.xlarge", 1, load=_GPU_WASTE),),
        idle_days=HISTORY_DAYS + 1,
    ),
    Endpoint(
        "green-classifier",
        RESEARCH,
        "eu-north-1",
        "research",
        DIURNAL,
        (Variant("AllTraffic", "ml.c6i.large", 1, load=_CPU_BUSY),),
        capture_pct=50,
    ),
    Endpoint(
        "vision-exp-7",
        RESEARCH,
        "eu-north-1",
        "research",
        IDLE,
        (Variant("AllTraffic", "ml.g5.2xlarge", 1, load=_GPU_WASTE),),
        status="Failed",
        idle_days=HISTORY_DAYS + 1,
    ),
    Endpoint(
        "embed-serverless",
        RESEARCH,
        "eu-north-1",
        "research",
        INTERMITTENT,
        (Variant("AllTraffic", None, serverless_memory_mb=2048, load=Load(memory_pct=30, peak_rps=2)),),
        mode="serverless",
    ),
)

# Issue 17: today's hosting. Appended after the older showcase so every earlier endpoint (and the generated
# ones) keeps its name and place.
_LLM_CHAT = Load(
    cpu_floor_pct=4, cpu_peak_pct=45, gpu_floor_pct=8, gpu_peak_pct=82, memory_pct=60, peak_rps=6, latency_ms=850
)
_LLM_RARE = Load(
    cpu_floor_pct=1, cpu_peak_pct=20, gpu_floor_pct=0.5, gpu_peak_pct=40, memory_pct=55, peak_rps=0.4, latency_ms=1200
)
_LLM_CODE = Load(
    cpu_floor_pct=2, cpu_peak_pct=35, gpu_floor_pct=2, gpu_peak_pct=70, memory_pct=62, peak_rps=2, latency_ms=1500
)
LLM_COPY = {"cpu_cores": 4.0, "accelerators": 1, "memory_mb": 24_576}  # what one copy of each LLM reserves

ISSUE_17 = (
    Endpoint(
        "llm-assistant",
        PROD,
        "us-east-1",
        "platform",
        STEADY,
        (Variant("AllTraffic", "ml.g5.12xlarge", 1, load=_GPU_BUSY, managed_scaling=(0, 2)),),
        created_days_ago=30.0,
        components=(
            Component("llm-assistant-chat", BUSY, 2, load=_LLM_CHAT, **LLM_COPY),
            Component("llm-assistant-summarize", INTERMITTENT, 1, load=_LLM_RARE, **LLM_COPY),
            Component(
                "llm-assistant-codegen",
                DIURNAL,
                0,
                load=_LLM_CODE,
                earlier_copies=1,
                copies_changed_days_ago=3.0,
                **LLM_COPY,
            ),
        ),
    ),
    Endpoint(
        "ctr-realtime-10s",
        PROD,
        "us-east-1",
        "growth",
        BUSY,
        (Variant("AllTraffic", "ml.c6i.2xlarge", 2, load=_CPU_BUSY),),
        created_days_ago=45.0,
        metric_publish_seconds=10,
    ),
    Endpoint(
        "vision-batch-gpu",
        PROD,
        "us-east-1",
        "vision",
        DIURNAL,
        (Variant("AllTraffic", "ml.g5.12xlarge", 1, load=_GPU_BUSY),),
        created_days_ago=40.0,
        enhanced_metrics=True,
        busy_gpus=1,
    ),
)
SHOWCASE = SHOWCASE + ISSUE_17
DEFAULT_FLEET_SIZE = 44 + len(ISSUE_17)  # 44 before issue 17: 19 showcase + 25 generated endpoints

# --- the generated part: a realistic spread of everything else -------------------------------------

_TEMPLATES = (
    ("ml.m5.xlarge", _CPU_LIGHT, OVERPROVISIONED),
    ("ml.c5.xlarge", _CPU_BUSY, DIURNAL),
    ("ml.c6i.2xlarge", _CPU_BUSY, BUSY),
    ("ml.m5.large", _CPU_LIGHT, STEADY),
    ("ml.g4dn.xlarge", _GPU_BUSY, DIURNAL),
    ("ml.g4dn.2xlarge", _GPU_WASTE, OVERPROVISIONED),
    ("ml.g5.xlarge", _GPU_BUSY, BUSY),
    ("ml.c7g.large", Load(cpu_peak_pct=50, peak_rps=35), STEADY),
    ("ml.m6g.xlarge", _CPU_LIGHT, INTERMITTENT),
    ("ml.inf1.xlarge", _INF, DIURNAL),
    ("ml.p3.2xlarge", _GPU_WASTE, OVERPROVISIONED),
    ("ml.m5.4xlarge", _CPU_LIGHT, IDLE),
)
_TEAMS = ("payments", "recommendations", "growth", "vision", "support", "platform", "search", "research")
_MODELS = ("xgb", "bert", "resnet", "lgbm", "t5", "clip", "gbdt", "distil", "vit", "whisper", "llama", "arima")


def generated_endpoints(count: int, start: int = 0) -> tuple[Endpoint, ...]:
    endpoints = []
    places = [(a, r) for a in ACCOUNTS for r in REGIONS]
    for i in range(start, start + count):
        instance_type, load, behaviour = _TEMPLATES[i % len(_TEMPLATES)]
        account, region = places[(i * 7 + i // len(places)) % len(places)]
        team = _TEAMS[i % len(_TEAMS)] if account == PROD else "research"
        name = f"{team}-{_MODELS[(i * 5) % len(_MODELS)]}-{i:04d}"
        variant = Variant("AllTraffic", instance_type, 1 + (i % 3 == 0), load=load)
        endpoints.append(
            Endpoint(
                name,
                account,
                region,
                team,
                behaviour,
                (variant,),
                idle_days=3 + i % 6 if behaviour == IDLE else 0.0,
                created_days_ago=20 + (i * 13) % 300,
            )
        )
    return tuple(endpoints)


def build_fleet(size: int | None = None) -> tuple[Endpoint, ...]:
    """The demo fleet (``DEFAULT_FLEET_SIZE``: 47 endpoints, 25 of them generated) or, with ``size``, a fleet of
    that many for benchmarks."""
    total = DEFAULT_FLEET_SIZE if size is None else max(size, len(SHOWCASE))
    return SHOWCASE + generated_endpoints(total - len(SHOWCASE))


# --- series --------------------------------------------------------------------------------------


def _noise(timestamps: np.ndarray, seed: int, salt: int) -> np.ndarray:
    """Deterministic pseudo-random numbers in [0, 1) from the timestamp alone."""
    x = np.sin(timestamps / 60.0 * 12.9898 + (seed % 10007) * 78.233 + salt * 37.719) * 43758.5453
    return x - np.floor(x)


def traffic(endpoint: Endpoint, timestamps: np.ndarray, now: float) -> np.ndarray:
    """Share (0..1) of the peak request rate at each timestamp (epoch seconds)."""
    hour = (timestamps % 86400) / 3600.0
    weekday = ((timestamps // 86400) + 3) % 7 < 5  # 1970-01-01 was a Thursday
    daily = 0.5 + 0.5 * np.cos((hour - 15.0) / 24.0 * 2 * math.pi)  # peak at 15:00 UTC
    weekly = np.where(weekday, 1.0, 0.45)
    jitter = 0.85 + 0.3 * _noise(timestamps, endpoint.seed, 1)
    shape = {
        BUSY: 0.55 + 0.45 * daily,
        DIURNAL: 0.08 + 0.92 * daily * weekly,
        STEADY: np.full_like(timestamps, 0.6),
        OVERPROVISIONED: 0.3 + 0.4 * daily,
        IDLE: np.full_like(timestamps, 0.25),
        INTERMITTENT: np.where((hour >= 2) & (hour < 4), 1.0, 0.0)
        + np.where(weekday & (hour >= 13) & (hour < 14), 0.6, 0.0),
    }[endpoint.behaviour]
    rate = np.clip(shape * jitter, 0.0, 1.0)
    if endpoint.behaviour == IDLE:
        rate = np.where(timestamps >= now - endpoint.idle_days * 86400, 0.0, rate)
    return rate


@dataclass(frozen=True)
class Segment:
    """A stretch of time during which a variant ran on one instance type."""

    instance_type: str | None
    instance_count: int
    start: float
    end: float


def segments(endpoint: Endpoint, variant: Variant, now: float) -> list[Segment]:
    start = now - endpoint.created_days_ago * 86400
    end = now - endpoint.deleted_days_ago * 86400 if endpoint.deleted else now + 365 * 86400
    swap = endpoint.swap
    if swap and swap.variant == variant.name:
        cut = now - swap.days_ago * 86400
        return [
            Segment(swap.old_instance_type, swap.old_instance_count, start, cut),
            Segment(variant.instance_type, variant.instance_count, cut, end),
        ]
    return [Segment(variant.instance_type, variant.instance_count, start, end)]


def series(endpoint: Endpoint, variant: Variant, timestamps: np.ndarray, now: float) -> dict[str, np.ndarray]:
    """Per-timestamp values: instances, invocations per minute and the *normalised* utilizations.

    Timestamps outside every segment (after deletion, before history) get zero instances.
    """
    rate = traffic(endpoint, timestamps, now)
    load = variant.load
    instances = np.zeros_like(timestamps)
    vcpus = np.zeros_like(timestamps)
    gpus = np.zeros_like(timestamps)
    for seg in segments(endpoint, variant, now):
        inside = (timestamps >= seg.start) & (timestamps < seg.end)
        count = float(seg.instance_count)
        if variant.max_instances:
            count_curve = np.ceil(count + (variant.max_instances - count) * np.clip(rate * 1.4 - 0.4, 0, 1))
        else:
            count_curve = np.full_like(timestamps, count)
        instances = np.where(inside, count_curve, instances)
        if seg.instance_type:
            hw = hardware(seg.instance_type)
            vcpus = np.where(inside, float(hw["vcpus"]), vcpus)
            gpus = np.where(inside, float(hw["gpu_count"]), gpus)
    if variant.serverless or endpoint.status == "Failed":
        instances = np.zeros_like(timestamps)  # serverless has no instances; a failed endpoint runs none
    busy_share = rate * variant.weight / np.maximum(instances, 1) * (variant.instance_count or 1)
    busy_share = np.clip(busy_share, 0, 1)
    wobble = 0.9 + 0.2 * _noise(timestamps, endpoint.seed, 2)
    cpu = np.clip(load.cpu_floor_pct + (load.cpu_peak_pct - load.cpu_floor_pct) * busy_share * wobble, 0, 100)
    gpu = np.clip(load.gpu_floor_pct + (load.gpu_peak_pct - load.gpu_floor_pct) * busy_share * wobble, 0, 100)
    if endpoint.busy_gpus:  # the load runs on the first busy_gpus devices of each instance, the others idle
        idle = np.maximum(gpus - endpoint.busy_gpus, 0.0)
        gpu = np.where(gpus > 0, (gpu * endpoint.busy_gpus + IDLE_GPU_PCT * idle) / np.maximum(gpus, 1), gpu)
    invocations = np.round(rate * variant.weight * load.peak_rps * 60.0)
    if endpoint.ic_based:  # an IC endpoint's traffic is its components'
        parts = [
            component_series(endpoint, c, timestamps, now) for c in endpoint.components if c.variant == variant.name
        ]
        invocations = sum((p["invocations_per_minute"] for p in parts), np.zeros_like(timestamps))
    # No traffic before the endpoint existed (a history longer than its life, as `make demo` seeds, shows none).
    invocations = np.where(timestamps >= now - endpoint.created_days_ago * 86400, invocations, 0.0)
    if endpoint.deleted:
        invocations = np.where(timestamps < now - endpoint.deleted_days_ago * 86400, invocations, 0.0)
    return {
        "instances": instances,
        "vcpus": vcpus,
        "gpus": gpus,
        "invocations_per_minute": invocations,
        "cpu_pct": cpu,
        "gpu_pct": np.where(gpus > 0, gpu, 0.0),
        "gpu_memory_pct": np.where(gpus > 0, np.clip(load.memory_pct + 10 * busy_share, 0, 100), 0.0),
        "memory_pct": np.clip(load.memory_pct + 8 * busy_share * wobble, 0, 100),
        "disk_pct": np.full_like(timestamps, load.disk_pct),
        "latency_us": load.latency_ms * 1000.0 * (1 + 0.6 * rate) * wobble,
    }


def floor_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def minute_grid(now: datetime) -> tuple[np.ndarray, int]:
    """Minute starts (epoch s) over the whole history, and the index where minute detail begins.

    The grid starts on an hour boundary; minutes before the returned index are seeded as hourly
    statistic sets, the last ``MINUTE_DETAIL_HOURS`` (plus the current hour) minute by minute.
    """
    now_minute = floor_minute(now)
    detail_start = now_minute.replace(minute=0) - timedelta(hours=MINUTE_DETAIL_HOURS)
    history_start = detail_start - timedelta(days=HISTORY_DAYS)
    minutes = np.arange(history_start.timestamp(), now_minute.timestamp(), 60.0)
    return minutes, HISTORY_DAYS * 24 * 60


# --- publish frequency, enhanced metrics, inference components ---------------------------------------

IDLE_GPU_PCT = 1.5  # a GPU no model uses still shows a little activity (driver, health checks)


def samples_per_minute(publish_seconds: int, timestamps: np.ndarray) -> np.ndarray:
    """How many samples one instance (or copy) publishes in the minute starting at each timestamp.

    One sample per publish period: 6 a minute at 10 s, 1 at 60 s, and at 300 s one in the minutes that start a
    period (timestamps divisible by 300), none in the others. So an hour holds 3600 / period samples.
    """
    if publish_seconds <= 60:
        return np.full_like(timestamps, 60.0 / publish_seconds)
    return np.where(timestamps % publish_seconds == 0, 1.0, 0.0)


def gpu_by_device(endpoint: Endpoint, variant: Variant, timestamps: np.ndarray, now: float) -> np.ndarray:
    """Per-GPU utilization (0-100 each), shape (gpus, len(timestamps)), as enhanced metrics publish it.

    With ``busy_gpus`` set, only the first ``busy_gpus`` devices carry the load, the others idle at
    ``IDLE_GPU_PCT`` (``series`` gives their mean as ``gpu_pct``); otherwise every device shows ``gpu_pct``.
    The devices' sum is always the variant's summed ``GPUUtilization``.
    """
    s = series(endpoint, variant, timestamps, now)
    gpus = int(s["gpus"].max())
    if gpus == 0:
        return np.zeros((0, len(timestamps)))
    busy = endpoint.busy_gpus or gpus
    rows = []
    for device in range(gpus):
        if device < busy:
            spare = (gpus - busy) * IDLE_GPU_PCT
            rows.append(np.clip((s["gpu_pct"] * gpus - spare) / busy, 0, 100))
        else:
            rows.append(np.full_like(timestamps, IDLE_GPU_PCT))
    return np.where(s["gpus"] > 0, np.array(rows), 0.0)


def instance_ids(endpoint: Endpoint, variant: Variant, count: int) -> list[str]:
    """Stable instance ids for the enhanced metrics' ``InstanceId`` dimension."""
    return [
        "i-" + hashlib.sha256(f"{endpoint.name}/{variant.name}/{k}".encode()).hexdigest()[:17] for k in range(count)
    ]


def component_copies(endpoint: Endpoint, component: Component, timestamps: np.ndarray, now: float) -> np.ndarray:
    """Copies of a component at each timestamp (0 before the endpoint existed and after it was deleted)."""
    copies = np.full_like(timestamps, float(component.copies))
    if component.copies_changed_days_ago is not None:
        cut = now - component.copies_changed_days_ago * 86400
        cut -= cut % 3600  # the change happened on the hour: every hour has one copy count
        copies = np.where(timestamps < cut, float(component.earlier_copies or 0), copies)
    start = now - endpoint.created_days_ago * 86400
    end = now - endpoint.deleted_days_ago * 86400 if endpoint.deleted else now + 365 * 86400
    return np.where((timestamps >= start) & (timestamps < end), copies, 0.0)


def component_changed_at(component: Component, now: float) -> float | None:
    """When the copy count changed (epoch s, on the hour), or None."""
    if component.copies_changed_days_ago is None:
        return None
    cut = now - component.copies_changed_days_ago * 86400
    return cut - cut % 3600


def component_series(endpoint: Endpoint, component: Component, timestamps: np.ndarray, now: float) -> dict:
    """Per-timestamp copies, invocations and utilizations (0-100 of what the copies reserved) of a component."""
    traffic_of = Endpoint(
        component.name, endpoint.account, endpoint.region, endpoint.team, component.behaviour, endpoint.variants
    )
    rate = traffic(traffic_of, timestamps, now)
    copies = component_copies(endpoint, component, timestamps, now)
    running = copies > 0
    load = component.load
    wobble = 0.9 + 0.2 * _noise(timestamps, traffic_of.seed, 2)
    invocations = np.where(running, np.round(rate * load.peak_rps * 60.0), 0.0)
    share = rate * wobble

    def pct(floor, peak):
        return np.where(running, np.clip(floor + (peak - floor) * share, 0, 100), 0.0)

    return {
        "copies": copies,
        "invocations_per_minute": invocations,
        "invocations_per_copy": np.where(running, invocations / np.maximum(copies, 1), 0.0),
        "cpu_pct": pct(load.cpu_floor_pct, load.cpu_peak_pct),
        "gpu_pct": pct(load.gpu_floor_pct, load.gpu_peak_pct) if component.accelerators else np.zeros_like(rate),
        "memory_pct": pct(load.memory_pct, load.memory_pct + 8),
        "gpu_memory_pct": pct(load.memory_pct, load.memory_pct + 10) if component.accelerators else np.zeros_like(rate),
        "latency_us": np.where(running, load.latency_ms * 1000.0 * (1 + 0.6 * rate) * wobble, 0.0),
    }


def ic_series(endpoint: Endpoint, variant: Variant, timestamps: np.ndarray, now: float) -> dict:
    """An IC-based variant at each timestamp: its instances, the reservations of all copies (0-100 % of the
    variant's capacity) and the instance-normalized utilizations, plus each component's ``component_series``.

    The variant's normalized utilization is what its components use, weighted by what they reserved:
    ``CPUUtilizationNormalized = Σ copies × cores × cpu_pct / (instances × vCPUs)`` (GPU: accelerators and GPUs;
    memory: MB and the instance memory), so unreserved capacity shows as unused.
    """
    base = series(endpoint, variant, timestamps, now)
    instances = base["instances"]
    hw = hardware(variant.instance_type)
    vcpus = instances * float(hw["vcpus"])
    gpus = instances * float(hw["gpu_count"])
    memory_mb = instances * float(hw["memory_gb"]) * 1024.0
    parts = {c.name: component_series(endpoint, c, timestamps, now) for c in endpoint.components}
    totals = {k: np.zeros_like(timestamps) for k in ("cores", "gpus", "mem", "cpu", "gpu", "memu", "gpumem")}
    for component in endpoint.components:
        part = parts[component.name]
        cores = part["copies"] * component.cpu_cores
        accelerators = part["copies"] * component.accelerators
        mem = part["copies"] * component.memory_mb
        totals["cores"] += cores
        totals["gpus"] += accelerators
        totals["mem"] += mem
        totals["cpu"] += cores * part["cpu_pct"]
        totals["gpu"] += accelerators * part["gpu_pct"]
        totals["memu"] += mem * part["memory_pct"]
        totals["gpumem"] += accelerators * part["gpu_memory_pct"]

    def share(numerator, capacity):
        return np.where(capacity > 0, numerator / np.maximum(capacity, 1e-9), 0.0)

    return {
        "instances": instances,
        "cpu_reservation_pct": 100 * share(totals["cores"], vcpus),
        "gpu_reservation_pct": 100 * share(totals["gpus"], gpus),
        "memory_reservation_pct": 100 * share(totals["mem"], memory_mb),
        "cpu_normalized_pct": share(totals["cpu"], vcpus),
        "gpu_normalized_pct": share(totals["gpu"], gpus),
        "memory_normalized_pct": share(totals["memu"], memory_mb),
        "gpu_memory_normalized_pct": share(totals["gpumem"], gpus),
        "components": parts,
    }


def hour_minutes(hour_start: datetime | float) -> np.ndarray:
    start = hour_start.timestamp() if isinstance(hour_start, datetime) else float(hour_start)
    return start + 60.0 * np.arange(60)


def ic_hour(endpoint: Endpoint, hour_start: datetime | float, now: datetime | float) -> dict:
    """What the sandbox publishes for one hour of an IC-based endpoint, for tests to recompute expectations.

    Returns ``{"instances", "instance_hours", "cpu_reservation_pct", "gpu_reservation_pct",
    "memory_reservation_pct", "cpu_normalized_pct", "gpu_normalized_pct", "memory_normalized_pct",
    "gpu_memory_normalized_pct", "components": {name: {"copies", "copy_hours", "cpu_cores", "accelerators",
    "memory_mb" (reserved per copy), "cpu_pct", "gpu_pct", "memory_pct", "gpu_memory_pct" (hour averages, as
    CloudWatch's Average over a 3600 s period gives them), "invocations" (Sum), "invocations_per_copy" (Sum),
    "latency_us" (invocation-weighted Average)}}}``. ``instances`` and ``copies`` are hour means (constant
    within an hour in the demo fleet); utilizations are averaged over the minutes with instances (copies).
    """
    stamp = now.timestamp() if isinstance(now, datetime) else float(now)
    minutes = hour_minutes(hour_start)
    variant = endpoint.variants[0]
    s = ic_series(endpoint, variant, minutes, stamp)
    running = s["instances"] > 0

    def mean(values, where):
        return float(values[where].mean()) if where.any() else 0.0

    out = {
        "instances": float(s["instances"].mean()),
        "instance_hours": float(s["instances"].sum() / 60.0),
        **{
            key: mean(s[key], running)
            for key in (
                "cpu_reservation_pct",
                "gpu_reservation_pct",
                "memory_reservation_pct",
                "cpu_normalized_pct",
                "gpu_normalized_pct",
                "memory_normalized_pct",
                "gpu_memory_normalized_pct",
            )
        },
        "components": {},
    }
    for component in endpoint.components:
        part = s["components"][component.name]
        live = part["copies"] > 0
        calls = part["invocations_per_minute"]
        out["components"][component.name] = {
            "copies": float(part["copies"].mean()),
            "copy_hours": float(part["copies"].sum() / 60.0),
            "cpu_cores": component.cpu_cores,
            "accelerators": component.accelerators,
            "memory_mb": component.memory_mb,
            "cpu_pct": mean(part["cpu_pct"], live),
            "gpu_pct": mean(part["gpu_pct"], live),
            "memory_pct": mean(part["memory_pct"], live),
            "gpu_memory_pct": mean(part["gpu_memory_pct"], live),
            "invocations": float(calls.sum()),
            "invocations_per_copy": float(part["invocations_per_copy"].sum()),
            "latency_us": float((part["latency_us"] * calls).sum() / calls.sum()) if calls.sum() else 0.0,
        }
    return out
