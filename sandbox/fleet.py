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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from estimator.catalog import hardware

ACCOUNTS = {"111122223333": "ml-prod", "444455556666": "ml-research"}
REGIONS = ("us-east-1", "eu-west-1", "eu-north-1")
HISTORY_DAYS = 14
MINUTE_DETAIL_HOURS = 3
HOST_NAMESPACE = "/aws/sagemaker/Endpoints"
INVOCATION_NAMESPACE = "AWS/SageMaker"
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

    @property
    def serverless(self) -> bool:
        return self.instance_type is None


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
    """The demo fleet (44 endpoints) or, with ``size``, a fleet of that many for benchmarks."""
    total = 44 if size is None else max(size, len(SHOWCASE))
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
    invocations = np.round(rate * variant.weight * load.peak_rps * 60.0)
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
