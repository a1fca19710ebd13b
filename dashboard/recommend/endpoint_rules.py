"""Rules over each live variant's hourly history: idle, over- and under-provisioned, intermittent traffic,
scale to zero between bursts, an unused GPU, more efficient silicon, a lower-carbon region, and consolidation of
small endpoints.

Every saving replays the variant's own hours on the proposed hardware (``savings.replay``), so it follows the
endpoint's real load; thresholds come from the team's policy (``TeamPolicy``), and what idle means from
``dashboard.recommend.policy.idle_policy``, the definition alerts and digests read too.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from collectors.models import InferenceComponent
from dashboard.footprint.idle import Idleness
from dashboard.recommend import commands, savings
from dashboard.recommend.draft import Confidence, Draft, Kind, Saving
from dashboard.recommend.history import Variant, live_variants, p95, scaled_to_zero, summary
from dashboard.recommend.policy import idle_policy
from estimator.catalog import ec2_type, instance_catalog

SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)  # what SageMaker Serverless Inference accepts
GRAVITON = {"c5": "c7g", "c6i": "c7g", "c7i": "c7g", "m5": "m6g", "m6i": "m6g", "m7i": "m7g", "r5": "r6g", "r6i": "r6g"}
CPU_FAMILIES = ("c6i", "m6i", "r6i")  # x86: a model that ran on a GPU host runs here without a rebuild
MIN_SAVING_SHARE = 0.05  # proposals saving less than 5 % of the variant's CO2e are noise
REGION_MIN_SHARE = 0.10


def family_types(family: str) -> list[str]:
    """The family's sizes in the catalog, as SageMaker names (no bare-metal)."""
    catalog = instance_catalog()
    names = catalog.index[(catalog["family"] == family) & ~catalog.index.str.endswith(".metal")]
    return [f"ml.{name}" for name in names]


def family_of(instance_type: str) -> str:
    return ec2_type(instance_type).split(".")[0]


def demand(variant: Variant) -> dict:
    """p95 of the work the variant does: vCPUs and GPUs busy in all (divisible over instances), and memory per
    instance (each instance holds the model, so memory is not divided)."""
    work = savings.work(variant.hours, variant.instance_type)
    size = variant.size()
    per_instance_gb = variant.hours["memory_util_pct"].fillna(0) / 100 * size["memory_gb"]
    return {
        "cpu": p95(work["cpu"]) or 0.0,
        "gpu": p95(work["gpu"]) or 0.0,
        "memory_gb": p95(per_instance_gb) or 0.0,
        "uses_gpu": size["gpus"] > 0 or size["accelerators"] > 0,
    }


def holds(instance_type: str, count: int, need: dict, headroom: float) -> bool:
    size = savings.capacity(instance_type)
    devices = max(size["gpus"], size["accelerators"])
    if need["uses_gpu"] and devices == 0:
        return False
    return (
        need["cpu"] * headroom <= size["vcpus"] * count
        and need["gpu"] * headroom <= devices * count
        and need["memory_gb"] * headroom <= size["memory_gb"]
    )


def footprint(variant: Variant, instance_type: str, count, region: str | None = None) -> Saving:
    frame = savings.replay(variant.hours, variant.instance_type, instance_type, count, region or variant.region)
    return savings.monthly(frame, len(variant.hours))


def current(variant: Variant) -> Saving:
    return footprint(variant, variant.instance_type, variant.hours["instance_hours"])


def worthwhile(now: Saving, saved: Saving) -> bool:
    return saved.co2e_kg > MIN_SAVING_SHARE * now.co2e_kg and saved.co2e_kg > 0


def best_fit(variant: Variant, types: list[str], counts: range, need: dict, headroom: float):
    """The (type, count) with the lowest CO2e among those that hold the demand, and its footprint."""
    options = []
    for instance_type in types:
        for count in counts:
            if holds(instance_type, count, need, headroom):
                options.append((footprint(variant, instance_type, float(count)), count, instance_type))
                break  # more instances of the same type only cost more
    if not options:
        return None
    saving, count, instance_type = min(options, key=lambda option: (option[0].co2e_kg, option[1]))
    return instance_type, count, saving


def draft(  # noqa: PLR0913 - one argument per Draft field it fills
    variant: Variant,
    kind: str,
    title: str,
    proposal: str,
    now_fp: Saving,
    new_fp: Saving,
    confidence: str,
    cli: str,
    proposed: dict,
    caveats: str = "",
    subject: str = "",
) -> Draft:
    hours = variant.hours
    return Draft(
        kind=kind,
        subject=subject or variant.subject,
        account_id=variant.endpoint["account_id"],
        region=variant.region,
        title=title,
        proposal=proposal,
        saving=Saving.difference(now_fp, new_fp),
        confidence=confidence,
        cli_command=cli,
        endpoint_id=variant.endpoint["id"],
        variant_name=variant.config["variant_name"],
        proposed=proposed,
        evidence=summary(variant),
        evidence_hours=len(hours),
        evidence_start=hours["hour"].min().to_pydatetime() if len(hours) else None,
        # exclusive, as every rule's: the end of the last hour looked at
        evidence_end=(hours["hour"].max() + pd.Timedelta(hours=1)).to_pydatetime() if len(hours) else None,
        caveats=caveats,
    )


def idle(variant: Variant, policy, facts: Idleness | None) -> Draft | None:
    """The variant's endpoint is idle (no invocation for ``idle_days`` while instances ran): delete it; with high
    confidence when its CPU and GPU corroborate."""
    if variant.serverless or facts is None or not facts.idle:
        return None
    name = variant.endpoint["name"]
    now_fp = current(variant)
    found = draft(
        variant,
        Kind.IDLE,
        f"Delete idle endpoint {name}",
        f"{name} served no inference in {facts.hours // 24} days (since {facts.since:%Y-%m-%d %H:%M} UTC) while "
        f"{variant.instances:.1f} × {variant.instance_type} ran. Delete it, or make it asynchronous with "
        "scale-to-zero or serverless if it is still needed now and then.",
        now_fp,
        Saving(0, 0, 0, 0, 0.0),
        Confidence.HIGH if facts.corroborated else Confidence.MEDIUM,
        commands.delete_endpoint(name, variant.region),
        {"deleted": True},
        "" if facts.corroborated else "CPU or GPU showed activity without invocations (batch or health checks?).",
    )
    found.evidence.update(idle_since=facts.since.isoformat(), idle_hours=facts.hours)
    return found


def overprovisioned(variant: Variant, policy, now: datetime) -> Draft | None:
    """Low p95 CPU, GPU and memory with enough data: the smallest size or count that holds the p95 load."""
    if variant.serverless or len(variant.hours) < policy.min_hours:
        return None
    stats = summary(variant)
    size = variant.size()
    if (size["gpus"] or size["accelerators"]) and "gpu_util_pct_p95" not in stats:
        return None  # the accelerator's load is unknown (Neuron cores publish no CloudWatch utilization)
    low = (
        stats.get("cpu_util_pct_p95", 0) < policy.cpu_p95_max_pct
        and stats.get("gpu_util_pct_p95", 0) < policy.gpu_p95_max_pct
        and stats.get("memory_util_pct_p95", 0) < policy.memory_p95_max_pct
    )
    if not low:
        return None
    need, headroom = demand(variant), 1 + policy.headroom_pct / 100
    top = max(policy.min_instances, math.ceil(variant.instances - 1e-9))
    fit = best_fit(
        variant, family_types(family_of(variant.instance_type)), range(policy.min_instances, top + 1), need, headroom
    )
    if fit is None:
        return None
    instance_type, count, new_fp = fit
    now_fp = current(variant)
    if (instance_type, count) == (variant.instance_type, variant.configured_instances):
        return None
    if not worthwhile(now_fp, Saving.difference(now_fp, new_fp)):
        return None
    name, variant_name = variant.endpoint["name"], variant.config["variant_name"]
    return draft(
        variant,
        Kind.OVERPROVISIONED,
        f"Right-size {name}/{variant_name}: {variant.configured_instances} × {variant.instance_type} → "
        f"{count} × {instance_type}",
        f"p95 utilization over {len(variant.hours)} hours is CPU {stats.get('cpu_util_pct_p95', 0):.0f} %, "
        f"GPU {stats.get('gpu_util_pct_p95', 0):.0f} %, memory {stats.get('memory_util_pct_p95', 0):.0f} %. "
        f"{count} × {instance_type} holds that load with {policy.headroom_pct:.0f} % headroom.",
        now_fp,
        new_fp,
        Confidence.HIGH if len(variant.hours) >= 7 * 24 else Confidence.MEDIUM,
        commands.update_variant(variant, instance_type, count),
        {"instance_type": instance_type, "instance_count": count},
        f"Keeps at least {policy.min_instances} instance(s) as the team's policy asks.",
    )


def underprovisioned(variant: Variant, policy, now: datetime) -> Draft | None:
    """Sustained high utilization: a performance risk, priced as what the next size up would add."""
    if variant.serverless or len(variant.hours) < policy.min_hours:
        return None
    hot = pd.concat(
        [variant.hours[name] > policy.busy_pct for name in ("cpu_util_pct", "gpu_util_pct", "memory_util_pct")], axis=1
    ).any(axis=1)
    share = 100 * hot.mean()
    if share < policy.busy_hours_pct:
        return None
    count = variant.configured_instances + 1
    now_fp = current(variant)
    new_fp = footprint(
        variant, variant.instance_type, variant.hours["instance_hours"] * count / max(variant.configured_instances, 1)
    )
    name, variant_name = variant.endpoint["name"], variant.config["variant_name"]
    return draft(
        variant,
        Kind.UNDERPROVISIONED,
        f"{name}/{variant_name} runs hot: {share:.0f} % of hours above {policy.busy_pct:.0f} %",
        f"Utilization stayed above {policy.busy_pct:.0f} % in {share:.0f} % of {len(variant.hours)} hours; "
        f"latency is at risk. Add an instance ({count} × {variant.instance_type}) or autoscaling. The "
        "saving is negative: this costs energy.",
        now_fp,
        new_fp,
        Confidence.MEDIUM,
        commands.update_variant(variant, variant.instance_type, count),
        {"instance_type": variant.instance_type, "instance_count": count},
    )


def intermittent(variant: Variant, policy, now: datetime) -> Draft | None:
    """Traffic in few hours of the day: serverless when it fits (no GPU, memory within 6 GB), else async with
    scale-to-zero."""
    if (
        variant.serverless
        or variant.endpoint["mode"] in ("async", "serverless")
        or len(variant.hours) < policy.min_hours
    ):
        return None
    active = variant.hours["invocations"].fillna(0) > 0
    share = 100 * active.mean()
    if share >= policy.active_hours_max_pct or not active.any():
        return None
    need, headroom = demand(variant), 1 + policy.headroom_pct / 100
    memory_mb = need["memory_gb"] * headroom * 1024
    fits = not need["uses_gpu"] and memory_mb <= SERVERLESS_MEMORY_MB[-1] and variant.variants_in_endpoint == 1
    now_fp = current(variant)
    name = variant.endpoint["name"]
    if fits:
        size_mb = next(size for size in SERVERLESS_MEMORY_MB if size >= memory_mb)
        frame = pd.DataFrame(
            {
                "instance_type": "",
                "region": variant.region,
                "hours": 1.0,
                "instance_count": 0.0,
                "cpu_util_pct": 0.0,
                "gpu_util_pct": float("nan"),
                "memory_util_pct": float("nan"),
                "invocations": variant.hours["invocations"].fillna(0.0),
                "serverless_memory_mb": float(size_mb),
                "model_latency_ms": variant.hours["model_latency_us"].fillna(0.0) / 1000,
            }
        )
        new_fp = savings.monthly(frame, len(variant.hours))
        new_fp.usd = None  # serverless is billed per GB-second of processing, not in this table per hour
        return draft(
            variant,
            Kind.INTERMITTENT,
            f"Make {name} serverless ({size_mb} MB)",
            f"Inferences arrived in {share:.0f} % of {len(variant.hours)} hours. Serverless Inference with "
            f"{size_mb} MB bills and draws power only while serving.",
            now_fp,
            new_fp,
            Confidence.MEDIUM,
            commands.to_serverless(variant, size_mb),
            {"serverless_memory_mb": size_mb},
            "Cold starts add latency to the first request after a quiet spell.",
        )
    frame = savings.replay(
        variant.hours[active],
        variant.instance_type,
        variant.instance_type,
        variant.hours.loc[active, "instance_hours"],
        variant.region,
    )
    new_fp = savings.monthly(frame, len(variant.hours))
    return draft(
        variant,
        Kind.INTERMITTENT,
        f"Make {name} asynchronous with scale-to-zero",
        f"Inferences arrived in {share:.0f} % of {len(variant.hours)} hours"
        f"{' and it needs a GPU' if need['uses_gpu'] else ''}. Asynchronous inference can scale to zero "
        "instances between bursts.",
        now_fp,
        new_fp,
        Confidence.LOW,
        commands.to_async(variant),
        {"mode": "async"},
        "Callers must accept asynchronous responses (results in S3); scaling up from zero takes minutes.",
    )


# Scale to zero (issue 17). A variant is *intermittent* when at least ``SCALE_TO_ZERO_IDLE_SHARE`` of its evidence
# hours lie in quiet stretches - at least ``MIN_IDLE_STRETCH_HOURS`` consecutive collected hours without an
# invocation - and it served traffic in the window (one that served none is the idle rule's). Shorter gaps are not
# counted: an instance cannot stop and start again within them. Each stretch gives back less than its length: the
# instance keeps running ``SCALE_IN_HOURS`` after the last request (target tracking scales in after 15 one-minute
# datapoints below its target) and starts ``STARTUP_HOURS`` before the next request is served (a GPU instance
# boots and loads its model in several minutes; AWS, "Scale an endpoint to zero instances").
MIN_IDLE_STRETCH_HOURS = 2
SCALE_TO_ZERO_IDLE_SHARE = 0.40
SCALE_IN_HOURS = 0.25
STARTUP_HOURS = 0.25


@dataclass(frozen=True)
class Stretches:
    """Quiet stretches long enough to scale to zero in, per hour of a variant's evidence."""

    quiet: np.ndarray  # bool: the hour lies in such a stretch
    kept: np.ndarray  # share of the hour's instance-hours still running with scale-to-zero (1 outside stretches)
    count: int
    longest_hours: int


def idle_stretches(hours: pd.DataFrame) -> Stretches:
    """Runs of consecutive hours without an invocation (a gap in the collected hours ends a run), of at least
    ``MIN_IDLE_STRETCH_HOURS``; each keeps ``SCALE_IN_HOURS`` of its first hour and ``STARTUP_HOURS`` of its last."""
    quiet = (hours["invocations"].fillna(0) <= 0).to_numpy()
    follows = hours["hour"].diff().eq(pd.Timedelta(hours=1)).to_numpy()
    starts = ~(quiet & np.concatenate(([False], quiet[:-1])) & follows)
    run = np.cumsum(starts)
    length = np.bincount(run)[run]
    long = quiet & (length >= MIN_IDLE_STRETCH_HOURS)
    first, last = long & starts, long & np.concatenate((starts[1:], [True]))
    kept = np.where(long, 0.0, 1.0) + SCALE_IN_HOURS * first + STARTUP_HOURS * last
    return Stretches(long, kept, int(first.sum()), int(length[long].max()) if long.any() else 0)


def scale_to_zero(variant: Variant, policy, now: datetime) -> Draft | None:
    """An intermittent GPU or accelerator variant that runs its instances through long quiet stretches: let it
    scale to zero - an asynchronous endpoint with Application Auto Scaling down to 0 instances, a real-time one
    through inference components with ManagedInstanceScaling MinInstanceCount 0 (the only way it can). Saves the
    instance-hours of the quiet stretches, less the scale-in and start-up time each stretch keeps."""
    mode = variant.endpoint["mode"]
    if variant.serverless or mode not in ("async", "realtime") or len(variant.hours) < policy.min_hours:
        return None
    size = variant.size()
    if not (size["gpus"] or size["accelerators"]) or variant.variants_in_endpoint > 1:
        return None
    if variant.config["inference_components"] and variant.config["min_instance_count"] == 0:
        return None  # already allowed to scale to zero
    if mode == "async" and scaled_to_zero(variant.endpoint["id"], variant.config["variant_name"]):
        return None  # already scales to zero (its auto scaling is not collected: its hours show it)
    hours = variant.hours
    stretches = idle_stretches(hours)
    if stretches.quiet.mean() < SCALE_TO_ZERO_IDLE_SHARE or not (hours["invocations"].fillna(0) > 0).any():
        return None
    now_fp = current(variant)
    frame = savings.replay(hours, variant.instance_type, variant.instance_type, hours["instance_hours"], variant.region)
    frame["instance_count"] = frame["instance_count"] * stretches.kept
    new_fp = savings.monthly(frame, len(hours))
    if not worthwhile(now_fp, Saving.difference(now_fp, new_fp)):
        return None  # e.g. an asynchronous endpoint that already scales in: its quiet hours run no instance
    found = (_async_to_zero if mode == "async" else _realtime_to_zero)(variant, stretches, now_fp, new_fp)
    saved_instance_hours = float((hours["instance_hours"] * (1 - stretches.kept)).sum())
    found.evidence.update(
        quiet_hours_pct=round(100 * float(stretches.quiet.mean()), 1),
        quiet_hours=int(stretches.quiet.sum()),
        quiet_stretches=stretches.count,
        longest_quiet_stretch_hours=stretches.longest_hours,
        instance_hours=round(float(hours["instance_hours"].sum()), 2),
        instance_hours_saved=round(saved_instance_hours, 2),
        kept_per_stretch_hours=SCALE_IN_HOURS + STARTUP_HOURS,
    )
    return found


def _quiet_words(variant: Variant, stretches: Stretches) -> str:
    return (
        f"{variant.endpoint['name']} served no request in {100 * stretches.quiet.mean():.0f} % of "
        f"{len(variant.hours)} hours ({stretches.count} quiet stretches of {MIN_IDLE_STRETCH_HOURS} hours or more, "
        f"the longest {stretches.longest_hours} hours) while {variant.instances:.1f} × {variant.instance_type} ran."
    )


def _async_to_zero(variant: Variant, stretches: Stretches, now_fp: Saving, new_fp: Saving) -> Draft:
    name, variant_name = variant.endpoint["name"], variant.config["variant_name"]
    return draft(
        variant,
        Kind.SCALE_TO_ZERO,
        f"Let {name}/{variant_name} scale to zero instances between bursts",
        f"{_quiet_words(variant, stretches)} Application Auto Scaling with a minimum of 0 instances scales the "
        "variant in when its queue stays empty (ApproximateBacklogSizePerInstance), and a step policy on "
        "HasBacklogWithoutCapacity starts an instance when a request arrives with none running. Saved: the quiet "
        f"stretches' instance-hours, less {60 * (SCALE_IN_HOURS + STARTUP_HOURS):.0f} minutes each for scale-in "
        "and start-up.",
        now_fp,
        new_fp,
        Confidence.MEDIUM if len(variant.hours) >= 7 * 24 else Confidence.LOW,
        commands.async_scale_to_zero(variant),
        {"min_capacity": 0},
        "Cold start: after a quiet stretch the first request waits in the queue while a GPU instance starts and "
        "loads the model (several minutes). Not for latency-critical traffic. put-scaling-policy prints the step "
        "policy's ARN: it is the alarm's action.",
    )


def _realtime_to_zero(variant: Variant, stretches: Stretches, now_fp: Saving, new_fp: Saving) -> Draft:
    name, variant_name = variant.endpoint["name"], variant.config["variant_name"]
    hosted = variant.config["inference_components"]
    components = _components(variant) if hosted else []
    how = (
        "Set ManagedInstanceScaling MinInstanceCount 0 on the variant and let its inference components' copies "
        "scale to 0."
        if hosted
        else "A real-time endpoint scales to zero only through inference components: host the model as one on a "
        f"new endpoint {name}-ic whose variant has ManagedInstanceScaling MinInstanceCount 0, its copies scaling to 0."
    )
    return draft(
        variant,
        Kind.SCALE_TO_ZERO,
        f"Let {name}/{variant_name} scale to zero instances with inference components",
        f"{_quiet_words(variant, stretches)} {how} Saved: the quiet stretches' instance-hours, less "
        f"{60 * (SCALE_IN_HOURS + STARTUP_HOURS):.0f} minutes each for scale-in and start-up.",
        now_fp,
        new_fp,
        Confidence.LOW,
        commands.inference_component_scale_to_zero(variant, components, _copy_requirements(variant)),
        {"min_instance_count": 0, "inference_components": True},
        "Cold start: after a quiet stretch a GPU instance and the model take minutes to come up, and requests fail "
        "(NoCapacityInvocationFailures) until they do: callers must retry with backoff. Not for latency-critical "
        "traffic. "
        + ("" if hosted else "Move callers to the new endpoint, then delete the old one. ")
        + "put-scaling-policy prints each step policy's ARN: it is its alarm's action.",
    )


def _components(variant: Variant) -> list[str]:
    """The live inference components on the variant (one query, only for a variant this rule fires on)."""
    return list(
        InferenceComponent.objects.filter(
            endpoint_id=variant.endpoint["id"], variant_name=variant.config["variant_name"], deleted_at__isnull=True
        ).values_list("name", flat=True)
    )


def _copy_requirements(variant: Variant) -> dict:
    """What one copy of the model reserves when it moves to an inference component: the instance's accelerators,
    half its vCPUs (physical cores) and its p95 memory with the headroom the sizing rules keep (at least 1 GiB)."""
    size = variant.size()
    memory_mb = demand(variant)["memory_gb"] * 1.3 * 1024
    return {
        "NumberOfAcceleratorDevicesRequired": int(max(size["gpus"], size["accelerators"])),
        "NumberOfCpuCoresRequired": max(1.0, size["vcpus"] / 2),
        "MinMemoryRequiredInMb": max(1024, math.ceil(memory_mb)),
    }


def gpu_unused(variant: Variant, policy, now: datetime) -> Draft | None:
    """A GPU that stays nearly idle: a CPU instance that holds the load (Inferentia with compilation)."""
    size = variant.size() if not variant.serverless else {}
    if variant.serverless or not size.get("gpus") or len(variant.hours) < policy.min_hours:
        return None
    gpu = p95(variant.hours["gpu_util_pct"])
    if gpu is None or gpu >= policy.gpu_unused_pct:
        return None
    need = {**demand(variant), "gpu": 0.0, "uses_gpu": False}
    need["cpu"] = max(need["cpu"], 2.0)  # the work the GPU did moves to the CPU: at least two busy vCPUs
    headroom = 1 + policy.headroom_pct / 100
    top = max(policy.min_instances, math.ceil(variant.instances - 1e-9))
    types = [t for family in CPU_FAMILIES for t in family_types(family)]
    fit = best_fit(variant, types, range(policy.min_instances, top + 1), need, headroom)
    if fit is None:
        return None
    instance_type, count, new_fp = fit
    now_fp = current(variant)
    if not worthwhile(now_fp, Saving.difference(now_fp, new_fp)):
        return None
    name, variant_name = variant.endpoint["name"], variant.config["variant_name"]
    return draft(
        variant,
        Kind.GPU_UNUSED,
        f"{name}/{variant_name}: GPU at p95 {gpu:.1f} % → {count} × {instance_type}",
        f"The {variant.instance_type} GPU stayed under {policy.gpu_unused_pct:.0f} % (p95 {gpu:.1f} %) over "
        f"{len(variant.hours)} hours. {count} × {instance_type} holds the CPU and memory load; "
        "ml.inf2.xlarge (Inferentia) is the alternative for models compiled with the Neuron SDK.",
        now_fp,
        new_fp,
        Confidence.LOW,
        commands.update_variant(variant, instance_type, count),
        {"instance_type": instance_type, "instance_count": count},
        "Load-test on CPU first: latency on CPU can be several times higher. Inferentia needs the model "
        "compiled with AWS Neuron.",
    )


def silicon(variant: Variant, policy, now: datetime) -> Draft | None:
    """x86 CPU instances with a Graviton equivalent of the same size."""
    if variant.serverless or len(variant.hours) < policy.min_hours:
        return None
    family = family_of(variant.instance_type)
    if family not in GRAVITON:
        return None
    target = f"ml.{GRAVITON[family]}.{ec2_type(variant.instance_type).split('.')[1]}"
    if ec2_type(target) not in instance_catalog().index:
        return None
    now_fp = current(variant)
    new_fp = footprint(variant, target, variant.hours["instance_hours"])
    if not worthwhile(now_fp, Saving.difference(now_fp, new_fp)):
        return None
    name, variant_name = variant.endpoint["name"], variant.config["variant_name"]
    count = variant.configured_instances
    return draft(
        variant,
        Kind.SILICON,
        f"Move {name}/{variant_name} to Graviton: {variant.instance_type} → {target}",
        f"{target} (AWS Graviton, Arm) has the same vCPUs and memory as {variant.instance_type} and draws "
        "less power for the same work.",
        now_fp,
        new_fp,
        Confidence.MEDIUM,
        commands.update_variant(variant, target, count),
        {"instance_type": target, "instance_count": count},
        "The container image must be built for arm64 (linux/arm64).",
    )


def region(variant: Variant, policy, now: datetime) -> Draft | None:
    """The same hardware in the lowest-carbon region the team allows (opt-in: ``allowed_regions``)."""
    choices = [r for r in policy.allowed_regions or [] if r != variant.region]
    if variant.serverless or not choices or len(variant.hours) < policy.min_hours:
        return None
    now_fp = current(variant)
    options = [(footprint(variant, variant.instance_type, variant.hours["instance_hours"], r), r) for r in choices]
    new_fp, best = min(options, key=lambda option: option[0].co2e_kg)
    saved = Saving.difference(now_fp, new_fp)
    if saved.co2e_kg <= REGION_MIN_SHARE * now_fp.co2e_kg:
        return None
    name, variant_name = variant.endpoint["name"], variant.config["variant_name"]
    return draft(
        variant,
        Kind.REGION,
        f"Serve {name}/{variant_name} from {best} instead of {variant.region}",
        f"The same {variant.instance_type} hours in {best} emit {100 * saved.co2e_kg / now_fp.co2e_kg:.0f} % "
        "less CO2e (grid carbon intensity and the region's data-centre PUE).",
        now_fp,
        new_fp,
        Confidence.MEDIUM,
        commands.redeploy_in_region(variant, best),
        {"region": best},
        "Moving a region changes latency for callers and where data is processed (data residency).",
    )


VARIANT_RULES = (overprovisioned, underprovisioned, intermittent, scale_to_zero, gpu_unused, silicon, region)


def consolidation(variants: list[Variant], policy, now: datetime) -> list[Draft]:
    """Several low-traffic single-model CPU endpoints in one account and region → one multi-model endpoint."""
    groups: dict[tuple[int, str], list[Variant]] = defaultdict(list)
    for variant in variants:
        small = (
            not variant.serverless
            and variant.endpoint["mode"] == "realtime"
            and variant.config["model_mode"] in ("", "SingleModel")
            and variant.variants_in_endpoint == 1
            and len(variant.hours) >= policy.min_hours
            and not demand(variant)["uses_gpu"]
            and variant.hours["invocations"].fillna(0).mean() < policy.consolidation_max_invocations_per_hour
            and variant.hours["invocations"].fillna(0).sum() > 0
        )
        if small:
            groups[(variant.endpoint["account_id"], variant.region)].append(variant)
    return [d for members in groups.values() if len(members) >= 2 if (d := _consolidate(members, policy))]


def _consolidate(members: list[Variant], policy) -> Draft | None:
    headroom = 1 + policy.headroom_pct / 100
    frames = [
        savings.work(m.hours, m.instance_type).assign(
            hour=m.hours["hour"].to_numpy(), invocations=m.hours["invocations"].fillna(0).to_numpy()
        )
        for m in members
    ]
    combined = pd.concat(frames).groupby("hour").sum()
    memory = sum(demand(m)["memory_gb"] for m in members)  # every model loaded at once
    need = {"cpu": p95(combined["cpu"]) or 0.0, "gpu": 0.0, "memory_gb": memory, "uses_gpu": False}
    families = pd.Series([family_of(m.instance_type) for m in members]).value_counts().index
    types = [t for family in families for t in family_types(family)]
    options = [
        (t, n)
        for t in types
        for n in range(policy.min_instances, policy.min_instances + 4)
        if holds(t, n, need, headroom)
    ]
    if not options:
        return None
    region = members[0].region
    observed = max(len(m.hours) for m in members)

    def proposal_footprint(instance_type: str, count: int) -> Saving:
        size = savings.capacity(instance_type)
        frame = pd.DataFrame(
            {
                "instance_type": instance_type,
                "region": region,
                "hours": 1.0,
                "instance_count": float(count),
                "cpu_util_pct": (100 * combined["cpu"] / (size["vcpus"] * count)).clip(upper=100).to_numpy(),
                "memory_util_pct": min(100.0, 100 * memory / size["memory_gb"]),
                "gpu_util_pct": float("nan"),
                "invocations": combined["invocations"].to_numpy(),
            }
        )
        return savings.monthly(frame, observed)

    new_fp, count, instance_type = min(
        ((proposal_footprint(t, n), n, t) for t, n in options), key=lambda option: (option[0].co2e_kg, option[1])
    )
    now_fp = _sum([current(m) for m in members])
    saved = Saving.difference(now_fp, new_fp)
    if not worthwhile(now_fp, saved):
        return None
    names = sorted(m.endpoint["name"] for m in members)
    account = members[0].endpoint["account__account_id"]
    return Draft(
        kind=Kind.CONSOLIDATION,
        subject=f"consolidation:{account}/{region}",
        account_id=members[0].endpoint["account_id"],
        region=region,
        title=f"Consolidate {len(members)} small endpoints in {region} into one multi-model endpoint",
        proposal=f"{', '.join(names)} each serve little traffic on their own instances. One multi-model "
        f"endpoint on {count} × {instance_type} holds their combined p95 CPU load and all their models' "
        "memory at once.",
        saving=saved,
        confidence=Confidence.LOW,
        cli_command=commands.consolidate(names, instance_type, count, region),
        proposed={"deleted_endpoints": names, "instance_type": instance_type, "instance_count": count},
        evidence={
            "endpoints": names,
            "combined_cpu_p95_vcpus": round(need["cpu"], 2),
            "models_memory_gb": round(memory, 2),
            "hours": observed,
        },
        evidence_hours=observed,
        caveats="Multi-model endpoints need models that share one serving "
        "container (framework and version); the first request to a model loads it.",
    )


def _sum(parts: list[Saving]) -> Saving:
    usd = None if any(p.usd is None for p in parts) else sum(p.usd for p in parts)
    return Saving(
        sum(p.kwh for p in parts),
        sum(p.co2e_kg for p in parts),
        sum(p.co2e_kg_low for p in parts),
        sum(p.co2e_kg_high for p in parts),
        usd,
    )


def endpoint_drafts(team, policy, now: datetime) -> list[Draft]:
    variants = live_variants(team, max(policy.lookback_days, policy.idle_days), now)
    lookback = pd.Timestamp(now - timedelta(days=policy.lookback_days))
    idle_after = policy.idle_days * 24  # hours; alerts and digests build the same policy with ``idle_hours``
    idleness = idle_policy(policy, idle_after).assess({v.endpoint["id"] for v in variants}, now)
    drafts = []
    for variant in variants:
        recent = Variant(
            variant.endpoint,
            variant.config,
            variant.since(lookback).reset_index(drop=True),
            variant.variants_in_endpoint,
        )
        if not variant.serverless and variant.instance_type and not _known(variant.instance_type):
            continue  # no capacity to size against; the estimator's fallback covers the footprint
        found = [idle(variant, policy, idleness.get(variant.endpoint["id"]))]
        found += [rule(recent, policy, now) for rule in VARIANT_RULES]
        drafts += [d for d in found if d]
    idle_ids = {d.endpoint_id for d in drafts if d.kind == Kind.IDLE}
    drafts = [d for d in drafts if d.kind == Kind.IDLE or d.endpoint_id not in idle_ids]  # delete first
    candidates = [
        Variant(v.endpoint, v.config, v.since(lookback).reset_index(drop=True), v.variants_in_endpoint)
        for v in variants
        if v.endpoint["id"] not in idle_ids and (v.serverless or _known(v.instance_type))
    ]
    return drafts + consolidation(candidates, policy, now)


def _known(instance_type: str) -> bool:
    return ec2_type(instance_type) in instance_catalog().index
