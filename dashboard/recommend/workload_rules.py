"""Rules for the rest of the ML lifecycle (issue 19): Trainium, managed Spot, tuning strategy, parallelism and
warm start, low GPU use in training, idle notebook instances and Studio apps.

Training rules look at a job *family* (reruns of one job: ``Workload.family``, else its name) in an account and
region, over the team's lookback (``TeamPolicy.lookback_days``); the family's newest job says how it runs today, so
a family whose newest job already follows the advice gets none (and the recommendation resolves: ``workload_state``).
Savings are monthly at the family's run rate: what its jobs used in the lookback, scaled to ``HOURS_PER_MONTH``
(assuming it keeps running as often). A change of hardware replays the family's hours on the proposed hardware
(``savings.replay``, as the endpoint rules do), so both sides go through the same estimator; savings that keep the
hardware (tuning, notebooks) are shares of the query layer's own figures (``footprint.workload_queries``), with
the CO2e range of the hours' stored estimates.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from django.db.models import Count, Q, Sum

from collectors.jobs import family as job_family
from collectors.models import TuningJob, Workload, WorkloadHour
from collectors.models.workloads import WorkloadKind
from dashboard.footprint import workload_queries
from dashboard.footprint.models import WorkloadHourEstimate
from dashboard.footprint.price_book import last_loaded
from dashboard.footprint.queries import team_accounts
from dashboard.recommend import savings
from dashboard.recommend import workload_commands as cli
from dashboard.recommend.draft import HOURS_PER_MONTH, Confidence, Draft, Kind, Saving
from dashboard.recommend.endpoint_rules import MIN_SAVING_SHARE, family_of, family_types, holds
from dashboard.recommend.history import p95
from dashboard.recommend.working_hours import WorkingTime
from estimator.catalog import ec2_type, instance_catalog

# Trainium: GPU training families and the frameworks the Neuron SDK trains (torch-neuronx, optimum-neuron for
# Hugging Face; TensorFlow through tensorflow-neuronx).
TRAINIUM_GPU_FAMILIES = ("p4d", "p4de", "p5", "p5e", "g5", "g6")
TRAINIUM_FRAMEWORKS = ("pytorch", "huggingface", "tensorflow")
TRAINIUM_MULTI, TRAINIUM_SINGLE = "ml.trn1.32xlarge", "ml.trn1.2xlarge"
TRAINIUM_CLAIMS = (
    "AWS's own figures, not measured here: Trainium (Trn1) instances use up to 29 % less energy than comparable "
    "accelerated instances for BERT-Large pre-training (AWS, Trn1 launch material, 2022-2023), and AWS's "
    'sustainability guidance for ML cites "up to 52 % less energy" (AWS Well-Architected Machine Learning Lens, '
    "sustainability pillar, 2023). The saving shown replays this family's own hours through Wattson's estimator."
)
# Managed Spot: what a Spot job pays of its on-demand price when the team has no Spot job of its own on the type.
# AWS states managed Spot training saves "up to 90 %" over on-demand (Amazon SageMaker Developer Guide, "Managed
# Spot Training", 2019-2024); we assume a typical 70 % (30 % paid), below that ceiling.
TYPICAL_SPOT_PAID_SHARE = 0.30
SPOT_MAX_RUNTIME_SECONDS = 48 * 3600  # managed Spot needs a stopping condition; longer jobs need checkpoints
SHORT_JOB_HOURS = 4.0  # an interruption of a job this short costs at most a rerun of it
# Tuning: AWS's guidance that Bayesian search reaches comparable objective values with about 10 times fewer
# training jobs than random search (Amazon SageMaker Developer Guide, "Best practices for hyperparameter tuning",
# and the AWS Well-Architected ML Lens, 2023).
BAYESIAN_JOB_FACTOR = 10
MIN_TUNING_CHILDREN = 10
WARM_START_JOB_SHARE = 0.5  # a warm-started re-tune given half the training jobs (no AWS figure: our assumption)
MIN_RETUNES = 2
# Low GPU use in training (the analogue of SageMaker Debugger's LowGPUUtilization rule): hours with a GPU metric.
MIN_GPU_HOURS = 3
# When a family has no smaller size, the next smaller GPU family with the same GPUs per instance.
GPU_DOWNSIZE = {"p5e": ("p5", "p4d"), "p5": ("p4d",), "p4de": ("p4d", "g6", "g5"), "p4d": ("g6", "g5")}
# Notebooks and Studio apps: out-of-hours hours in the lookback before the rule speaks.
MIN_OUT_OF_HOURS = 4
HOUR_FIELDS = (
    "workload_id",
    "hour",
    "instance_type",
    "instance_hours",
    "spot_instance_hours",
    "cpu_util_pct",
    "gpu_util_pct",
    "gpu_memory_util_pct",
    "memory_util_pct",
)
JOB_FIELDS = (
    "id",
    "account_id",
    "account__account_id",
    "region",
    "name",
    "family",
    "instance_type",
    "instance_count",
    "instance_groups",
    "spot",
    "framework",
    "max_runtime_seconds",
    "start_time",
    "end_time",
    "created_time",
    "training_seconds",
    "billable_seconds",
    "tuning_job_id",
)


@dataclass
class Window:
    accounts: list[dict]
    start: datetime
    end: datetime
    hours: int

    @property
    def scale(self) -> float:
        """From the lookback to a month at the same run rate."""
        return HOURS_PER_MONTH / self.hours


@dataclass
class Family:
    """Reruns of one training job in one account and region: its jobs (oldest first) and their hours."""

    account_pk: int
    account_id: str
    region: str
    name: str
    jobs: list[dict]
    hours: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def latest(self) -> dict:
        return self.jobs[-1]

    def subject(self, kind: str) -> str:
        return f"{kind}:{self.account_id}/{self.region}/{self.name}"

    def on_type(self, instance_type: str) -> pd.DataFrame:
        rows = self.hours[self.hours["instance_type"] == instance_type] if len(self.hours) else self.hours
        return rows.reset_index(drop=True)

    @property
    def ids(self) -> list[int]:
        return [job["id"] for job in self.jobs]


def family_key(job: dict) -> str:
    return job["family"] or job["name"]


def tuning_family(name: str) -> str:
    """A tuning job's name without the SDK's timestamp or counter ("xgb-hpo-241126-1200" → "xgb-hpo"): the jobs
    collector's definition of a family, which its training jobs' ``family`` holds."""
    return job_family(name)


def _started(job: dict) -> datetime:
    return job["start_time"] or job["created_time"]


def floor_hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def workload_drafts(team, policy, now: datetime) -> list[Draft]:
    accounts = team_accounts(team)
    if not accounts:
        return []
    end = floor_hour(now)
    window = Window(accounts, end - timedelta(days=policy.lookback_days), end, policy.lookback_days * 24)
    return [
        *training_drafts(team, policy, window),
        *tuning_drafts(team, policy, window),
        *idle_drafts(team, policy, window),
    ]


# --- shared -------------------------------------------------------------------------------------------------------


def _hours(ids: list[int], window: Window) -> pd.DataFrame:
    rows = WorkloadHour.objects.filter(workload_id__in=ids, hour__gte=window.start, hour__lt=window.end)
    frame = pd.DataFrame.from_records(list(rows.values_list(*HOUR_FIELDS)), columns=list(HOUR_FIELDS))
    for name in HOUR_FIELDS[3:]:
        frame[name] = frame[name].astype(float)
    return frame.sort_values(["hour", "workload_id"], kind="stable").reset_index(drop=True)


def bands(ids: list[int], window: Window) -> tuple[float, float]:
    """The low and high ends of the hours' operational CO2e as shares of its point estimate (their stored
    estimates), to give a share of the query layer's figure its range."""
    sums = WorkloadHourEstimate.objects.filter(
        workload_hour__workload_id__in=ids, workload_hour__hour__gte=window.start, workload_hour__hour__lt=window.end
    ).aggregate(point=Sum("co2e_kg"), low=Sum("co2e_kg_low"), high=Sum("co2e_kg_high"))
    if not sums["point"]:
        return 1.0, 1.0
    return sums["low"] / sums["point"], sums["high"] / sums["point"]


def share_of(totals: pd.DataFrame, share: float, window: Window, band: tuple[float, float]) -> Saving:
    """``share`` of the workloads' figures (query-layer totals over the lookback), as a month at that run rate."""
    if totals.empty:
        return Saving(0.0, 0.0, 0.0, 0.0, None)
    scale = share * window.scale
    operational, embodied = float(totals["co2e_kg"].sum()), float(totals["embodied_co2e_kg"].sum())
    cost = totals["cost_usd"].astype(float)
    return Saving(
        kwh=float(totals["energy_kwh"].sum()) * scale,
        co2e_kg=(operational + embodied) * scale,
        co2e_kg_low=(operational * band[0] + embodied) * scale,
        co2e_kg_high=(operational * band[1] + embodied) * scale,
        usd=None if cost.isna().any() or cost.empty else float(cost.sum()) * scale,
    )


def training_usd(frame: pd.DataFrame, kind: str = WorkloadKind.TRAINING) -> float | None:
    """List cost of an estimator input's instance-hours at the workload kind's price (Training, Notebook...), from
    the price book ``engine.recompute`` loaded; None where a type is unpriced."""
    book = last_loaded()
    if frame.empty:
        return 0.0
    at = pd.Series(pd.Timestamp.now(tz="UTC").tz_localize(None), index=frame.index, dtype="datetime64[ns]")
    hourly, _, _ = book.component_usd(pd.Series(kind, index=frame.index), frame["instance_type"], frame["region"], at)
    hourly = np.asarray(hourly, dtype=float)
    if np.isnan(hourly).any():
        return None
    return float((hourly * frame["instance_count"].to_numpy(dtype=float)).sum())


def replayed(  # noqa: PLR0913 - the hours, both types, the instances, where and over how long
    rows: pd.DataFrame, current_type: str, proposed_type: str, count, region: str, window: Window
) -> Saving:
    """A month of these hours on ``count`` x ``proposed_type`` at the family's run rate, priced at the training
    price of the proposed type."""
    frame = savings.replay(rows.assign(invocations=np.nan), current_type, proposed_type, count, region)
    found = savings.monthly(frame, window.hours)
    usd = training_usd(frame)
    found.usd = None if usd is None else usd * window.scale
    return found


def _draft(  # noqa: PLR0913 - one argument per Draft field it fills
    kind: str,
    subject: str,
    owner: tuple[int, str],
    workload_id: int | None,
    title: str,
    proposal: str,
    saving: Saving,
    confidence: str,
    command: str,
    proposed: dict,
    evidence: dict,
    rows: pd.DataFrame,
    caveats: list[str],
) -> Draft:
    hours = pd.to_datetime(rows["hour"], utc=True) if len(rows) else pd.Series(dtype="datetime64[ns, UTC]")
    return Draft(
        kind=kind,
        subject=subject,
        account_id=owner[0],
        region=owner[1],
        title=title,
        proposal=proposal,
        saving=saving,
        confidence=confidence,
        cli_command=command,
        workload_id=workload_id,
        proposed=proposed,
        evidence=evidence,
        evidence_hours=int(hours.nunique()),
        evidence_start=hours.min().to_pydatetime() if len(hours) else None,
        evidence_end=(hours.max() + pd.Timedelta(hours=1)).to_pydatetime() if len(hours) else None,
        caveats=" ".join(caveats),
    )


def _totals(totals: pd.DataFrame, ids: list[int]) -> pd.DataFrame:
    return totals[totals["workload_id"].isin(ids)] if len(totals) else totals


def _figures(totals: pd.DataFrame) -> dict:
    """The query layer's figures of some workloads over the lookback, for the evidence."""
    if totals.empty:
        return {}
    cost = totals["cost_usd"].astype(float)
    return {
        "instance_hours": round(float(totals["instance_hours"].sum()), 3),
        "energy_kwh": round(float(totals["energy_kwh"].sum()), 3),
        "co2e_kg": round(float((totals["co2e_kg"] + totals["embodied_co2e_kg"]).sum()), 3),
        "cost_usd": None if cost.isna().any() else round(float(cost.sum()), 2),
    }


# --- training families --------------------------------------------------------------------------------------------


def families(team, window: Window) -> list[Family]:
    """The team's training job families with a job running in the lookback, with their hours in it."""
    jobs = (
        Workload.objects.filter(account__team=team, kind=WorkloadKind.TRAINING)
        .filter(Q(end_time__isnull=True) | Q(end_time__gte=window.start))
        .filter(Q(start_time__lt=window.end) | Q(start_time__isnull=True))
        .values(*JOB_FIELDS)
    )
    grouped: dict[tuple, list[dict]] = defaultdict(list)
    for job in jobs:
        grouped[(job["account_id"], job["account__account_id"], job["region"], family_key(job))].append(job)
    found = [
        Family(pk, account, region, name, sorted(members, key=lambda j: (_started(j).timestamp(), j["id"])))
        for (pk, account, region, name), members in grouped.items()
        if all(m["start_time"] or m["created_time"] for m in members)
    ]
    hours = _hours([job["id"] for fam in found for job in fam.jobs], window)
    for fam in found:
        fam.hours = hours[hours["workload_id"].isin(fam.ids)].reset_index(drop=True)
    return sorted(found, key=lambda f: (f.account_id, f.region, f.name))


def training_drafts(team, policy, window: Window) -> list[Draft]:
    found = families(team, window)
    if not found:
        return []
    totals = workload_queries.workload_totals(window.accounts, window.start, window.end, kind=WorkloadKind.TRAINING)
    spot_share = spot_paid_shares(team)
    drafts = []
    for fam in found:
        if fam.hours.empty:
            continue
        mine = _totals(totals, fam.ids)
        for rule in (trainium, gpu_low):
            if made := rule(fam, policy, window, mine):
                drafts.append(made)
        if made := managed_spot(fam, window, mine, spot_share):
            drafts.append(made)
    return drafts


def _known(instance_type: str) -> bool:
    return bool(instance_type) and ec2_type(instance_type) in instance_catalog().index


def _framework(job: dict) -> str:
    return (job["framework"] or "").lower()


def trainium(fam: Family, policy, window: Window, totals: pd.DataFrame) -> Draft | None:
    """A GPU training family with a framework the Neuron SDK trains: the same hours on Trainium."""
    latest = fam.latest
    current = latest["instance_type"]
    if latest["instance_groups"] or not _known(current) or family_of(current) not in TRAINIUM_GPU_FAMILIES:
        return None
    if _framework(latest) not in TRAINIUM_FRAMEWORKS:
        return None
    rows = fam.on_type(current)
    if rows.empty:
        return None
    gpus = savings.capacity(current)["gpus"]
    target = TRAINIUM_MULTI if gpus > 1 else TRAINIUM_SINGLE
    count = int(latest["instance_count"] or 1)
    now_fp = replayed(rows, current, current, rows["instance_hours"], fam.region, window)
    new_fp = replayed(rows, current, target, rows["instance_hours"], fam.region, window)
    saved = Saving.difference(now_fp, new_fp)
    if saved.co2e_kg <= 0:
        return None
    share = 100 * saved.co2e_kg / now_fp.co2e_kg if now_fp.co2e_kg else 0.0
    caveats = [
        TRAINIUM_CLAIMS,
        "The training script must be ported to the AWS Neuron SDK (torch-neuronx, or optimum-neuron for Hugging "
        "Face; XLA devices, compilation on the first steps); throughput differs by model, so the job may take "
        "longer or shorter than on the GPUs.",
    ]
    if target == TRAINIUM_MULTI:
        caveats.append(f"{TRAINIUM_MULTI} has 16 Trainium chips against the {current}'s {gpus:.0f} GPUs.")
    if saved.usd is None:
        caveats.append("No training price is known for one of the types: the dollar saving is not shown.")
    return _draft(
        Kind.TRAINIUM,
        fam.subject(Kind.TRAINIUM),
        (fam.account_pk, fam.region),
        latest["id"],
        f"Train {fam.name} on Trainium: {count} × {current} → {count} × {target}",
        f"{fam.name} ({_framework(latest)}) ran {len(fam.jobs)} job(s) for {rows['instance_hours'].sum():.1f} "
        f"instance-hours on {current} in the last {policy.lookback_days} days. The same work on {target} "
        f"(AWS Trainium) emits about {share:.0f} % less CO2e by Wattson's estimate.",
        saved,
        Confidence.LOW,
        cli.trainium(fam.name, _framework(latest), target, count),
        {"instance_family": "trn1", "instance_type": target},
        {**_gpu_stats(rows), "jobs": len(fam.jobs), "latest_job": latest["name"], **_figures(totals)},
        rows,
        caveats,
    )


def _gpu_stats(rows: pd.DataFrame) -> dict:
    stats = {"hours": int(rows["hour"].nunique()), "instance_hours": round(float(rows["instance_hours"].sum()), 3)}
    for name in ("cpu_util_pct", "gpu_util_pct", "gpu_memory_util_pct", "memory_util_pct"):
        value = p95(rows[name])
        if value is not None:
            stats[f"{name}_p95"] = round(value, 1)
    return stats


def spot_paid_shares(team) -> dict[str, float]:
    """Per instance type, what the team's own managed Spot training jobs paid of their training time
    (billable ÷ training seconds, summed over its finished Spot jobs)."""
    rows = (
        Workload.objects.filter(
            account__team=team,
            kind=WorkloadKind.TRAINING,
            spot=True,
            training_seconds__gt=0,
            billable_seconds__isnull=False,
        )
        .values("instance_type")
        .annotate(billable=Sum("billable_seconds"), training=Sum("training_seconds"), jobs=Count("id"))
    )
    return {row["instance_type"]: min(1.0, row["billable"] / row["training"]) for row in rows if row["training"]}


def _interruptible(fam: Family) -> tuple[bool, float]:
    """Whether the family can run on Spot: its newest job has a stopping condition within what Spot waits for,
    and its jobs are short enough that an interruption costs at most a rerun. Returns the longest run (hours)."""
    latest = fam.latest
    longest = max(
        (
            ((j["end_time"] - j["start_time"]).total_seconds() / 3600)
            for j in fam.jobs
            if j["end_time"] and j["start_time"]
        ),
        default=math.inf,
    )
    runtime = latest["max_runtime_seconds"]
    return bool(runtime) and runtime <= SPOT_MAX_RUNTIME_SECONDS and longest <= SHORT_JOB_HOURS, longest


def managed_spot(fam: Family, window: Window, totals: pd.DataFrame, paid_shares: dict[str, float]) -> Draft | None:
    """A family on on-demand capacity whose jobs tolerate interruption: managed Spot training. It saves money, not
    energy: the same hours run on the same hardware."""
    latest = fam.latest
    if latest["spot"] or latest["instance_groups"]:
        return None
    ok, longest = _interruptible(fam)
    if not ok:
        return None
    on_demand = [j["id"] for j in fam.jobs if not j["spot"]]
    mine = _totals(totals, on_demand)
    rows = fam.hours[fam.hours["workload_id"].isin(on_demand)].reset_index(drop=True)
    if rows.empty:
        return None
    cost = mine["cost_usd"].astype(float) if len(mine) else pd.Series(dtype=float)
    monthly_usd = float(cost.sum()) * window.scale if len(cost) and not cost.isna().any() else None
    basis = "query"
    if monthly_usd is None:  # the query layer had no price: the type's training price over the same hours
        frame = savings.replay(rows.assign(invocations=np.nan), latest["instance_type"], latest["instance_type"],
                               rows["instance_hours"], fam.region)  # fmt: skip
        usd = training_usd(frame)
        monthly_usd, basis = (None if usd is None else usd * window.scale), "price book"
    paid = paid_shares.get(latest["instance_type"])
    measured = paid is not None
    paid = paid if measured else TYPICAL_SPOT_PAID_SHARE
    saved = Saving(0.0, 0.0, 0.0, 0.0, None if monthly_usd is None else monthly_usd * (1 - paid))
    runtime = int(latest["max_runtime_seconds"])
    where = (
        f"the team's own Spot jobs on {latest['instance_type']} paid {100 * paid:.0f} % of their training time"
        if measured
        else f"assuming Spot costs {100 * paid:.0f} % of on-demand (AWS: savings of up to 90 %)"
    )
    return _draft(
        Kind.MANAGED_SPOT,
        fam.subject(Kind.MANAGED_SPOT),
        (fam.account_pk, fam.region),
        latest["id"],
        f"Run {fam.name} on managed Spot training ({latest['instance_type']})",
        f"{fam.name}'s jobs ran at most {longest:.1f} h each with a {runtime // 3600} h stopping condition, short "
        f"enough to rerun after an interruption. Managed Spot training bills only the Spot time: {where}.",
        saved,
        Confidence.MEDIUM if measured else Confidence.LOW,
        cli.managed_spot(fam.name, _framework(latest), runtime, f"s3://<bucket>/checkpoints/{fam.name}/"),
        {"spot": True},
        {
            **_gpu_stats(rows),
            "jobs": len(on_demand),
            "longest_job_hours": round(longest, 2),
            "max_runtime_seconds": runtime,
            "spot_paid_share": round(paid, 4),
            "spot_paid_share_measured": measured,
            "on_demand_usd_monthly": None if monthly_usd is None else round(monthly_usd, 2),
            "cost_basis": basis,
            **_figures(mine),
        },
        rows,
        [
            "Spot saves money, not energy or CO2e: the same hours run on the same hardware, so the kWh and kg "
            "saved are 0.",
            "Jobs can be interrupted and wait for capacity (MaxWaitTimeInSeconds): write checkpoints to "
            "checkpoint_s3_uri so a resumed job does not start over.",
            *(
                []
                if monthly_usd is not None
                else [f"No training price is known for {latest['instance_type']}: the dollar saving cannot be shown."]
            ),
        ],
    )


def gpu_low(fam: Family, policy, window: Window, totals: pd.DataFrame) -> Draft | None:
    """A family whose GPUs stay under the policy's p95 (SageMaker Debugger's LowGPUUtilization, from the host
    metrics): the smallest GPU type or count that holds the p95 load with the policy's headroom, replayed."""
    latest = fam.latest
    current = latest["instance_type"]
    if latest["instance_groups"] or not _known(current) or not savings.capacity(current)["gpus"]:
        return None
    rows = fam.on_type(current)
    measured = rows["gpu_util_pct"].notna().sum() if len(rows) else 0
    gpu = p95(rows["gpu_util_pct"]) if len(rows) else None
    if gpu is None or measured < MIN_GPU_HOURS or gpu >= policy.training_gpu_low_pct:
        return None
    count = int(latest["instance_count"] or 1)
    busy = savings.work(rows, current)
    per_instance = rows["instance_hours"].where(rows["instance_hours"] > 0)
    need = {
        "cpu": p95(busy["cpu"]) or 0.0,
        "gpu": p95(busy["gpu"]) or 0.0,
        "memory_gb": p95(busy["memory_gb"] / per_instance) or 0.0,
        "uses_gpu": True,
    }
    headroom = 1 + policy.headroom_pct / 100
    family = family_of(current)
    types = family_types(family)
    smaller = [t for t in types if _gpus(t) * 1 <= _gpus(current)]
    options = _fits(rows, current, smaller, count, need, headroom, fam.region, window)
    options = [o for o in options if (o[2], o[1]) != (current, count)]
    downsized = False
    if not options:
        alternatives = [
            t for other in GPU_DOWNSIZE.get(family, ()) for t in family_types(other) if _gpus(t) <= _gpus(current)
        ]
        options, downsized = _fits(rows, current, alternatives, count, need, headroom, fam.region, window), True
    if not options:
        return None
    new_fp, new_count, target = min(options, key=lambda o: (o[0].co2e_kg, o[1]))
    now_fp = replayed(rows, current, current, rows["instance_hours"], fam.region, window)
    saved = Saving.difference(now_fp, new_fp)
    if saved.co2e_kg <= max(0.0, MIN_SAVING_SHARE * now_fp.co2e_kg):
        return None
    stats = _gpu_stats(rows)
    caveats = [
        "GPU memory must still hold the model, its optimizer state and a batch: check the p95 GPU memory "
        f"({stats.get('gpu_memory_util_pct_p95', 'unknown')} %) before moving; a larger batch size on the current "
        "GPUs is the other way to use them (Debugger's advice).",
        "The replay keeps the hours' work and spreads it over the proposed GPUs; a job's wall time may grow.",
    ]
    if downsized:
        caveats.append(f"{target} has another GPU model than {current}: per-GPU throughput differs.")
    return _draft(
        Kind.TRAINING_GPU_LOW,
        fam.subject(Kind.TRAINING_GPU_LOW),
        (fam.account_pk, fam.region),
        latest["id"],
        f"{fam.name}: GPU at p95 {gpu:.0f} % → {new_count} × {target} (from {count} × {current})",
        f"Over {measured} hours with host metrics in the last {policy.lookback_days} days, {fam.name}'s GPUs stayed "
        f"under {policy.training_gpu_low_pct:.0f} % (p95 {gpu:.1f} %), as SageMaker Debugger's LowGPUUtilization "
        f"rule would flag. {new_count} × {target} holds the p95 load with {policy.headroom_pct:.0f} % headroom.",
        saved,
        Confidence.LOW if downsized else Confidence.MEDIUM,
        cli.right_size(fam.name, _framework(latest), target, new_count),
        {"instance_type": target, "instance_count": new_count},
        {**stats, "jobs": len(fam.jobs), "latest_job": latest["name"], **_figures(totals)},
        rows,
        caveats,
    )


def _gpus(instance_type: str) -> float:
    size = savings.capacity(instance_type)
    return max(size["gpus"], size["accelerators"])


def _fits(  # noqa: PLR0913 - the hours, the types to try, the demand and where
    rows, current, types, count, need, headroom, region, window
) -> list[tuple[Saving, int, str]]:
    options = []
    for instance_type in types:
        for n in range(1, count + 1):
            if holds(instance_type, n, need, headroom):
                instances = rows["instance_hours"] * n / count
                options.append((replayed(rows, current, instance_type, instances, region, window), n, instance_type))
                break
    return options


# --- tuning -------------------------------------------------------------------------------------------------------


@dataclass
class TuningFamily:
    account_pk: int
    account_id: str
    region: str
    name: str
    jobs: list[dict]  # every tuning job of the family, oldest first

    @property
    def latest(self) -> dict:
        return self.jobs[-1]

    def subject(self, kind: str) -> str:
        return f"{kind}:{self.account_id}/{self.region}/{self.name}"


TUNING_FIELDS = (
    "id",
    "account_id",
    "account__account_id",
    "region",
    "name",
    "strategy",
    "max_parallel_jobs",
    "max_jobs",
    "warm_start_type",
    "created_time",
)


def tuning_families(team) -> list[TuningFamily]:
    grouped: dict[tuple, list[dict]] = defaultdict(list)
    rows = TuningJob.objects.filter(account__team=team).annotate(child_count=Count("children"))
    for job in rows.values(*TUNING_FIELDS, "child_count"):
        grouped[(job["account_id"], job["account__account_id"], job["region"], tuning_family(job["name"]))].append(job)
    return [
        TuningFamily(
            pk,
            account,
            region,
            name,
            sorted(jobs, key=lambda j: (j["created_time"] is not None, j["created_time"], j["id"])),
        )
        for (pk, account, region, name), jobs in sorted(grouped.items(), key=lambda item: item[0][1:])
    ]


def tuning_drafts(team, policy, window: Window) -> list[Draft]:
    found = tuning_families(team)
    if not found:
        return []
    totals = workload_queries.tuning_totals(window.accounts, window.start, window.end)
    children = pd.DataFrame.from_records(
        list(Workload.objects.filter(tuning_job__account__team=team).values_list("id", "tuning_job_id", "start_time")),
        columns=["id", "tuning_job_id", "start_time"],
    )
    drafts = []
    for fam in found:
        ids = [job["id"] for job in fam.jobs]
        recent = totals[totals["tuning_job_id"].isin(ids)] if len(totals) else totals
        if recent.empty:
            continue  # no child ran in the lookback: nothing current to advise on
        kids = children[children["tuning_job_id"].isin(recent["tuning_job_id"])]
        hours = _hours(kids["id"].tolist(), window)
        context = TuningContext(fam, recent, kids, hours, window)
        for rule in (tuning_strategy, tuning_parallel, tuning_warm_start):
            if made := rule(context, policy):
                drafts.append(made)
    return drafts


@dataclass
class TuningContext:
    family: TuningFamily
    totals: pd.DataFrame  # tuning_totals rows of the family's tuning jobs in the lookback
    children: pd.DataFrame
    hours: pd.DataFrame
    window: Window

    def latest_child(self) -> int | None:
        latest = self.children[self.children["tuning_job_id"] == self.family.latest["id"]]
        chosen = latest if len(latest) else self.children
        if chosen.empty:
            return None
        return int(chosen.sort_values(["start_time", "id"], na_position="first").iloc[-1]["id"])

    def share(self, fraction: float) -> Saving:
        band = bands(self.children["id"].tolist(), self.window)
        return share_of(self.totals, fraction, self.window, band)

    def evidence(self) -> dict:
        latest, cost = self.family.latest, self.totals["cost_usd"].astype(float)
        return {
            "tuning_jobs": int(len(self.totals)),
            "latest_tuning_job": latest["name"],
            "strategy": latest["strategy"],
            "max_parallel_jobs": latest["max_parallel_jobs"],
            "max_jobs": latest["max_jobs"],
            "children": int(self.totals["children"].sum()),
            "instance_hours": round(float(self.totals["instance_hours"].sum()), 3),
            "energy_kwh": round(float(self.totals["energy_kwh"].sum()), 3),
            "co2e_kg": round(float((self.totals["co2e_kg"] + self.totals["embodied_co2e_kg"]).sum()), 3),
            "cost_usd": None if cost.isna().any() else round(float(cost.sum()), 2),
        }

    def draft(self, kind, title, proposal, saving, confidence, command, proposed, caveats) -> Draft:  # noqa: PLR0913
        fam = self.family
        return _draft(kind, fam.subject(kind), (fam.account_pk, fam.region), self.latest_child(), title, proposal,
                      saving, confidence, command, proposed, self.evidence(), self.hours, caveats)  # fmt: skip


RUN_RATE = (
    "Monthly at the family's run rate: what its tuning jobs' training jobs used in the lookback, as if it keeps "
    "re-tuning as often."
)


def tuning_strategy(context: TuningContext, policy) -> Draft | None:
    """Random or grid search with many training jobs: Bayesian search, which AWS finds reaches comparable results
    with about 10 times fewer jobs."""
    fam, latest = context.family, context.family.latest
    if latest["strategy"] not in ("Random", "Grid") or (latest["child_count"] or 0) < MIN_TUNING_CHILDREN:
        return None
    fraction = 1 - 1 / BAYESIAN_JOB_FACTOR
    jobs = max(1, math.ceil((latest["max_jobs"] or latest["child_count"]) / BAYESIAN_JOB_FACTOR))
    return context.draft(
        Kind.TUNING_STRATEGY,
        f"Tune {fam.name} with Bayesian search instead of {latest['strategy'].lower()} search",
        f"{latest['name']} ran {latest['child_count']} training jobs with {latest['strategy']} search. AWS's "
        f"guidance is that Bayesian search finds comparable hyperparameters with about {BAYESIAN_JOB_FACTOR} times "
        f"fewer training jobs: about {jobs} here, saving {100 * fraction:.0f} % of the tuning's footprint.",
        context.share(fraction),
        Confidence.LOW,
        cli.tuning(
            fam.name,
            fam.region,
            {"previous": latest["name"], "config": {"ResourceLimits": {"MaxNumberOfTrainingJobs": jobs}}},
            "Re-tune with Bayesian search and fewer training jobs (copy the rest of the configuration)",
        ),
        {"strategy": "Bayesian"},
        [
            "AWS's guidance (SageMaker Developer Guide, hyperparameter tuning best practices), not measured here: "
            "how many fewer jobs Bayesian search needs depends on the search space and the objective.",
            "Bayesian search learns from finished jobs: run few in parallel (see the parallelism advice).",
            RUN_RATE,
        ],
    )


def tuning_parallel(context: TuningContext, policy) -> Draft | None:
    """Many parallel training jobs: fewer, so each one learns from more finished ones (no energy claimed)."""
    fam, latest = context.family, context.family.latest
    parallel = latest["max_parallel_jobs"] or 0
    if parallel <= policy.tuning_max_parallel or latest["strategy"] == "Grid":
        return None
    random = latest["strategy"] == "Random"
    return context.draft(
        Kind.TUNING_PARALLEL,
        f"Run at most {policy.tuning_max_parallel} of {fam.name}'s tuning jobs in parallel (now {parallel})",
        f"{latest['name']} runs {parallel} training jobs at once. Bayesian and Hyperband search choose each new "
        "job from the results of finished ones: with fewer running at once each is better informed, so the "
        "same quality needs fewer jobs."
        + (" With random search this matters once it moves to Bayesian search." if random else ""),
        Saving(0.0, 0.0, 0.0, 0.0, 0.0),
        Confidence.LOW,
        cli.tuning(
            fam.name,
            fam.region,
            {
                "previous": latest["name"],
                "config": {"ResourceLimits": {"MaxParallelTrainingJobs": policy.tuning_max_parallel}},
            },
            "Limit the parallel training jobs of the next tuning job",
        ),
        {"max_parallel_jobs": policy.tuning_max_parallel},
        [
            "No energy or cost saving is claimed: the benefit is better-informed jobs (quality per job), and the "
            "tuning takes longer in wall time.",
        ],
    )


def tuning_warm_start(context: TuningContext, policy) -> Draft | None:
    """A family re-tuned from scratch again and again: warm start from the previous tuning jobs."""
    fam, latest = context.family, context.family.latest
    cold = [job for job in fam.jobs if not job["warm_start_type"]]
    if latest["warm_start_type"] or len(cold) < MIN_RETUNES:
        return None
    parents = [job["name"] for job in fam.jobs[-5:]]
    jobs = max(1, math.ceil((latest["max_jobs"] or latest["child_count"] or 2) * WARM_START_JOB_SHARE))
    return context.draft(
        Kind.TUNING_WARM_START,
        f"Warm-start {fam.name}'s next tuning from its {len(cold)} earlier tuning jobs",
        f"{fam.name} was tuned {len(cold)} times from scratch. A warm start (IdenticalDataAndAlgorithm, or "
        "TransferLearning when the data changed) begins from what the earlier tuning jobs learned, so the next one "
        f"can be given {100 * WARM_START_JOB_SHARE:.0f} % of the training jobs ({jobs}).",
        context.share(WARM_START_JOB_SHARE),
        Confidence.LOW,
        cli.tuning(
            fam.name,
            fam.region,
            {
                "previous": latest["name"],
                "config": {"ResourceLimits": {"MaxNumberOfTrainingJobs": jobs}},
                "warm_start": {
                    "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": n} for n in parents],
                    "WarmStartType": "IdenticalDataAndAlgorithm",
                },
            },
            "Warm-start the next tuning job from the earlier ones, with fewer training jobs",
        ),
        {"warm_start": True},
        [
            f"AWS gives no figure for warm start: the saving assumes the warm-started job is given "
            f"{100 * WARM_START_JOB_SHARE:.0f} % of the training jobs, as proposed.",
            "At most 5 parent tuning jobs; the hyperparameter ranges must stay compatible.",
            RUN_RATE,
        ],
    )


# --- notebook instances and Studio apps ---------------------------------------------------------------------------

INTERACTIVE_FIELDS = (
    "id",
    "account_id",
    "account__account_id",
    "region",
    "kind",
    "name",
    "instance_type",
    "status",
    "auto_stop",
    "lifecycle_config_name",
    "domain_id",
    "space_name",
    "user_profile_name",
)


def left_running(team, statuses=("InService",)):
    """The team's notebook instances and Studio apps in service without auto-stop (``auto_stop`` not True)."""
    return (
        Workload.objects.filter(account__team=team, kind__in=[WorkloadKind.NOTEBOOK, WorkloadKind.STUDIO_APP])
        .filter(deleted_at__isnull=True, status__in=statuses)
        .exclude(auto_stop=True)
    )


def out_of_hours(hours: pd.DataFrame, working: WorkingTime) -> pd.Series:
    return pd.Series(working.outside(hours["hour"]), index=hours.index) & (hours["instance_hours"] > 0)


def idle_drafts(team, policy, window: Window) -> list[Draft]:
    candidates = list(left_running(team).values(*INTERACTIVE_FIELDS))
    if not candidates:
        return []
    working = WorkingTime.of(policy)
    hours = _hours([w["id"] for w in candidates], window)
    totals = workload_queries.workload_totals(
        window.accounts, window.start, window.end, ids=[w["id"] for w in candidates]
    )
    drafts = []
    for workload in candidates:
        rows = hours[hours["workload_id"] == workload["id"]].reset_index(drop=True)
        if rows.empty:
            continue
        outside = out_of_hours(rows, working)
        if outside.sum() < MIN_OUT_OF_HOURS:
            continue
        drafts.append(idle_draft(workload, rows, outside, _totals(totals, [workload["id"]]), working, window))
    return drafts


def out_of_hours_saving(
    workload_id: int, outside_hours: pd.Series, share: float, totals: pd.DataFrame, window: Window
) -> Saving:
    """The out-of-hours hours' figures (the query layer's hourly series), as a month at that rate; the cost is
    their share of the workload's instance-hours of its list cost."""
    series = workload_queries.workload_series(workload_id, window.start, window.end)
    if len(series):
        stamps = pd.to_datetime(series["hour"], utc=True)
        series = series[stamps.isin(pd.to_datetime(outside_hours, utc=True))]
    operational = float(series["co2e_kg"].astype(float).sum()) if len(series) else 0.0
    embodied = float(series["embodied_co2e_kg"].astype(float).sum()) if len(series) else 0.0
    low, high = bands([workload_id], window)
    cost = totals["cost_usd"].astype(float) if len(totals) else pd.Series(dtype=float)
    usd = None if cost.empty or cost.isna().any() else float(cost.sum()) * share * window.scale
    return Saving(
        kwh=(float(series["energy_kwh"].astype(float).sum()) if len(series) else 0.0) * window.scale,
        co2e_kg=(operational + embodied) * window.scale,
        co2e_kg_low=(operational * low + embodied) * window.scale,
        co2e_kg_high=(operational * high + embodied) * window.scale,
        usd=usd,
    )


def idle_draft(  # noqa: PLR0913 - the workload, its hours, which are out of hours, its totals, the time, the window
    workload: dict, rows: pd.DataFrame, outside: pd.Series, totals: pd.DataFrame, working: WorkingTime, window: Window
) -> Draft:
    notebook = workload["kind"] == WorkloadKind.NOTEBOOK
    kind = Kind.NOTEBOOK_IDLE if notebook else Kind.STUDIO_APP_IDLE
    name, region = workload["name"], workload["region"]
    out_hours = float(rows.loc[outside, "instance_hours"].sum())
    all_hours = float(rows["instance_hours"].sum())
    share = out_hours / all_hours if all_hours else 0.0
    saved = out_of_hours_saving(workload["id"], rows.loc[outside, "hour"], share, totals, window)
    what = "notebook instance" if notebook else "Studio app"
    fix = (
        "an auto-stop lifecycle configuration (AWS's auto-stop-idle sample: stops the instance after an hour "
        "without kernel activity)"
        if notebook
        else "idle shutdown on its space (or as the domain's default): JupyterLab apps stop after an hour idle"
    )
    return _draft(
        kind,
        f"{kind}:{workload['account__account_id']}/{region}/{name}",
        (workload["account_id"], region),
        workload["id"],
        f"Auto-stop {what} {name} ({workload['instance_type']}): {out_hours:.0f} h out of hours",
        f"{name} ran {out_hours:.0f} of its {all_hours:.0f} instance-hours in the last {window.hours // 24} days "
        f"outside working time ({working.text()}) and has no auto-stop. Add {fix}; nights and weekends then cost "
        "nothing.",
        saved,
        Confidence.MEDIUM,
        cli.notebook_auto_stop(name, region)
        if notebook
        else cli.studio_idle_settings(workload["domain_id"], workload["space_name"], region),
        {"auto_stop": True},
        {
            "instance_type": workload["instance_type"],
            "status": workload["status"],
            "out_of_hours_instance_hours": round(out_hours, 3),
            "instance_hours": round(all_hours, 3),
            "working_time": working.text(),
            "lifecycle_config_name": workload["lifecycle_config_name"],
            **({"space_name": workload["space_name"]} if not notebook else {}),
            **{f"period_{k}": v for k, v in _figures(totals).items()},
        },
        rows,
        [
            "Someone may use it out of hours: idle shutdown only stops it when no kernel or terminal is active, "
            "so a running computation keeps it up.",
            "Notebooks and Studio apps publish no utilization metric: their hours are charged at the estimator's "
            "default load.",
            "Monthly at the rate of the lookback: as if it keeps running as many nights and weekends.",
        ],
    )
