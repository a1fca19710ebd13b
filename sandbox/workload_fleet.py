"""The demo's training, tuning, processing and transform jobs, notebook instances and Studio apps (issue 19).

Deterministic like ``fleet.py``: the same ``now`` gives the same workloads, timelines and host series, so a test
can recompute what Describe* and CloudWatch must return. Times are relative to ``now`` floored to the minute.

Host metrics follow AWS's ``/aws/sagemaker/TrainingJobs`` (``ProcessingJobs``, ``TransformJobs``) conventions:
dimension ``Host`` = ``<job>/algo-<n>`` (n from 1, hosts in ``InstanceGroups`` order for heterogeneous jobs;
AWS names transform hosts ``<job>/<instance-id>``: the sandbox uses ``algo-<n>`` for them too), one value a
minute, ``CPUUtilization`` summed over the host's vCPUs (0-100 x vCPUs), ``GPUUtilization`` and
``GPUMemoryUtilization`` summed over its GPUs, ``MemoryUtilization`` and ``DiskUtilization`` 0-100. Trainium
hosts publish no GPU metrics (the Neuron devices report through the Neuron monitor, not these metrics).
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from estimator.catalog import hardware
from sandbox import fleet as fl

TRAINING_NAMESPACE = "/aws/sagemaker/TrainingJobs"
PROCESSING_NAMESPACE = "/aws/sagemaker/ProcessingJobs"
TRANSFORM_NAMESPACE = "/aws/sagemaker/TransformJobs"
NAMESPACES = {"training": TRAINING_NAMESPACE, "processing": PROCESSING_NAMESPACE, "transform": TRANSFORM_NAMESPACE}
REGION = "us-east-1"
PYTORCH_IMAGE = (
    "763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-training:2.3.0-gpu-py311-cu121-ubuntu20.04-sagemaker"
)
NEURON_IMAGE = (
    "763104351884.dkr.ecr.{region}.amazonaws.com/pytorch-training-neuronx:2.1.2-neuronx-py310-sdk2.20.0-ubuntu20.04"
)
HF_IMAGE = (
    "763104351884.dkr.ecr.{region}.amazonaws.com/huggingface-pytorch-training:"
    "2.1.0-transformers4.36.0-gpu-py310-cu121-ubuntu20.04"
)
XGBOOST_IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN_IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
AUTOSTOP_SCRIPT = """#!/bin/bash
set -e
# Stop the notebook instance when idle (aws-samples/amazon-sagemaker-notebook-instance-lifecycle-config-samples)
IDLE_TIME=3600
echo "Fetching the autostop script"
wget https://raw.githubusercontent.com/aws-samples/amazon-sagemaker-notebook-instance-lifecycle-config-samples/master/scripts/auto-stop-idle/autostop.py
echo "Starting the SageMaker autostop script in cron"
CRON="*/5 * * * * /usr/bin/python3 $PWD/autostop.py --time $IDLE_TIME --ignore-connections"
(crontab -l 2>/dev/null; echo "$CRON >> /var/log/jupyter.log") | crontab -
"""
CONDA_SCRIPT = """#!/bin/bash
set -e
sudo -u ec2-user -i <<'EOF'
source /home/ec2-user/anaconda3/bin/activate pytorch_p310
pip install --quiet transformers datasets
EOF
"""


@dataclass(frozen=True)
class Group:
    name: str
    instance_type: str
    count: int


@dataclass(frozen=True)
class Job:
    """A training, processing or transform job. Times in hours before ``now``; ``minutes`` None = still running."""

    kind: str
    name: str
    instance_type: str
    count: int
    started_hours_ago: float
    minutes: float | None
    cpu_pct: float  # mean per vCPU, 0-100
    gpu_pct: float | None = None  # mean per GPU, 0-100 (None: no GPU metrics)
    memory_pct: float = 45.0
    account: str = fl.PROD
    region: str = REGION
    status: str | None = None  # None: Completed when it ended, InProgress while it runs
    failure_reason: str | None = None
    spot: bool = False
    billable_fraction: float | None = None  # managed Spot: billable / training seconds
    tuning: str | None = None
    groups: tuple[Group, ...] = ()
    image: str = PYTORCH_IMAGE
    team: str = "nlp"
    project: str = ""
    hyper_parameters: dict = field(default_factory=dict)
    hourly: bool = False  # benchmark jobs: one statistic set per host and hour, not per minute

    @property
    def hosts(self) -> list[tuple[str, str]]:
        """(host dimension, instance type) of every host, algo-1 first."""
        types = [g.instance_type for g in self.groups for _ in range(g.count)] or [self.instance_type] * self.count
        return [(f"{self.name}/algo-{n}", t) for n, t in enumerate(types, start=1)]

    def timeline(self, now: datetime) -> dict:
        """creation, start and end (None while running) as aware datetimes."""
        anchor = fl.floor_minute(now)
        start = anchor - timedelta(minutes=round(self.started_hours_ago * 60))
        end = None if self.minutes is None else start + timedelta(minutes=round(self.minutes))
        return {"created": start - timedelta(minutes=3), "start": start, "end": end}

    def final_status(self) -> str:
        return self.status or ("InProgress" if self.minutes is None else "Completed")


@dataclass(frozen=True)
class Tuning:
    name: str
    strategy: str
    max_parallel: int
    max_jobs: int
    started_hours_ago: float
    instance_type: str
    child_minutes: tuple[float, ...]
    account: str = fl.PROD
    region: str = REGION
    team: str = "growth"
    warm_start_parents: tuple[str, ...] = ()

    def children(self) -> list[Job]:
        """Children run in waves of ``max_parallel``; each wave starts when the previous one's longest ends."""
        jobs, offset_minutes = [], 0.0
        for wave in range(math.ceil(len(self.child_minutes) / self.max_parallel)):
            durations = self.child_minutes[wave * self.max_parallel : (wave + 1) * self.max_parallel]
            for i, minutes in enumerate(durations):
                index = wave * self.max_parallel + i + 1
                suffix = f"{zlib.crc32(f'{self.name}-{index}'.encode()):08x}"
                jobs.append(
                    Job(
                        "training",
                        f"{self.name}-{index:03d}-{suffix}",
                        self.instance_type,
                        1,
                        self.started_hours_ago - (offset_minutes + 2) / 60,
                        minutes,
                        cpu_pct=62.0 + (index % 5) * 4,
                        memory_pct=38.0,
                        account=self.account,
                        region=self.region,
                        tuning=self.name,
                        image=XGBOOST_IMAGE,
                        team=self.team,
                        project=self.name,
                        hyper_parameters={
                            "eta": f"{0.05 + 0.01 * (index % 7):.2f}",
                            "max_depth": str(3 + index % 6),
                            "num_round": "200",
                        },
                    )
                )
            offset_minutes += max(durations) + 1
        return jobs


@dataclass(frozen=True)
class Notebook:
    name: str
    instance_type: str
    created_days_ago: float
    status: str  # final status
    lifecycle_config: str | None = None
    account: str = fl.PROD
    region: str = REGION
    team: str = "research"
    stopped_days_ago: float | None = None  # a Stopped instance: when it was stopped
    office_hours: bool = False  # started every weekday at 09:00 UTC, stopped (auto-stop) at 18:30 UTC


@dataclass(frozen=True)
class StudioApp:
    domain: str
    space: str
    instance_type: str
    created_hours_ago: float
    deleted_hours_ago: float | None = None
    app_name: str = "default"
    account: str = fl.PROD
    region: str = REGION


@dataclass(frozen=True)
class Domain:
    name: str
    idle_shutdown: bool  # JupyterLab IdleSettings LifecycleManagement ENABLED in DefaultUserSettings
    spaces: tuple[tuple[str, int | None], ...]  # (space name, its IdleTimeoutInMinutes or None)
    account: str = fl.PROD
    region: str = REGION

    @property
    def domain_id(self) -> str:
        return f"d-{self.name}"  # moto's domain ids


def _runs(family: str, runs: int, every_hours: float, first_hours_ago: float, **job) -> list[Job]:
    """A family of reruns named as the SageMaker SDK names them (base job name + timestamp)."""
    kind = job.pop("kind", "training")
    return [
        Job(
            kind,
            f"{family}-{{ts}}-{k:03d}",
            started_hours_ago=first_hours_ago - k * every_hours,
            project=family,
            **job,
        )
        for k in range(runs)
    ]


def _sdk_name(job: Job, now: datetime) -> Job:
    """Fill the SDK timestamp (``%Y-%m-%d-%H-%M-%S-%f``[:-3], of the creation) into a ``{ts}`` name."""
    if "{ts}" not in job.name:
        return job
    created = job.timeline(now)["created"]
    stamp = created.strftime("%Y-%m-%d-%H-%M-%S")
    base = job.name.split("-{ts}-")[0]
    millis = job.name.rsplit("-", 1)[1]
    return _replace(job, name=f"{base}-{stamp}-{millis}")


def _replace(job: Job, **changes) -> Job:
    from dataclasses import replace

    return replace(job, **changes)


def demo_jobs(now: datetime) -> list[Job]:
    """The demo's training, processing and transform jobs (tuning children included), oldest first."""
    jobs: list[Job] = []
    jobs += _runs(
        "llm-finetune",
        3,
        every_hours=72,
        first_hours_ago=230,
        instance_type="ml.p4d.24xlarge",
        count=2,
        minutes=540,
        cpu_pct=14.0,
        gpu_pct=22.0,  # p95 of its hours stays under the default training_gpu_low_pct (30 %): the low-GPU advice
        memory_pct=38.0,
        hyper_parameters={"epochs": "3", "lr": "2e-5", "per_device_train_batch_size": "4"},
    )
    jobs += _runs(
        "bert-pretrain",
        2,
        every_hours=96,
        first_hours_ago=200,
        instance_type="ml.p5.48xlarge",
        count=2,
        minutes=720,
        cpu_pct=22.0,
        gpu_pct=82.0,
        memory_pct=52.0,
        account=fl.RESEARCH,
        image=HF_IMAGE,
        team="research",
    )
    jobs += _runs(
        "llama-trn1",
        1,
        every_hours=0,
        first_hours_ago=60,
        instance_type="ml.trn1.32xlarge",
        count=1,
        minutes=480,
        cpu_pct=18.0,
        gpu_pct=None,
        account=fl.RESEARCH,
        image=NEURON_IMAGE,
        team="research",
    )
    jobs += _runs(
        "resnet-spot",
        3,
        every_hours=48,
        first_hours_ago=150,
        instance_type="ml.g5.2xlarge",
        count=1,
        minutes=240,
        cpu_pct=35.0,
        gpu_pct=71.0,
        spot=True,
        billable_fraction=0.35,
        team="vision",
    )
    jobs += _runs(
        "t5-summarize",
        1,
        every_hours=0,
        first_hours_ago=30,
        instance_type="ml.g5.12xlarge",
        count=1,
        minutes=40,
        cpu_pct=20.0,
        gpu_pct=55.0,
        status="Failed",
        failure_reason="AlgorithmError: CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 22.20 GiB total "
        "capacity), exit code: 1",
    )
    jobs += _runs(
        "mistral-sft",
        1,
        every_hours=0,
        first_hours_ago=3,
        instance_type="ml.p4d.24xlarge",
        count=1,
        minutes=None,
        cpu_pct=16.0,
        gpu_pct=64.0,
    )
    jobs += _runs(
        "recsys-hetero",
        1,
        every_hours=0,
        first_hours_ago=50,
        instance_type="ml.c5.4xlarge",
        count=3,
        minutes=150,
        cpu_pct=48.0,
        gpu_pct=44.0,
        groups=(Group("data-loader", "ml.c5.4xlarge", 1), Group("trainer", "ml.g5.12xlarge", 2)),
        team="recommendations",
    )
    jobs += _runs(
        "feature-build",
        3,
        every_hours=24,
        first_hours_ago=75,
        kind="processing",
        instance_type="ml.m5.4xlarge",
        count=2,
        minutes=70,
        cpu_pct=55.0,
        image=SKLEARN_IMAGE,
        team="growth",
    )
    jobs += _runs(
        "batch-score",
        2,
        every_hours=24,
        first_hours_ago=40,
        kind="transform",
        instance_type="ml.c5.2xlarge",
        count=4,
        minutes=60,
        cpu_pct=68.0,
        image=XGBOOST_IMAGE,
        team="growth",
    )
    jobs += [child for tuning in TUNINGS for child in tuning.children()]
    jobs = [_sdk_name(j, now) for j in jobs]
    return sorted(jobs, key=lambda j: (j.timeline(now)["start"], j.name))


XGB_HPO = Tuning(
    "xgb-hpo",
    "Random",
    max_parallel=10,
    max_jobs=20,
    started_hours_ago=48,
    instance_type="ml.m5.xlarge",
    child_minutes=tuple(20 + (k * 7) % 21 for k in range(20)),
)
CHURN_HPO = Tuning(  # Bayesian with 8 in parallel: past the policy's 4, Bayesian learns little from each wave
    "churn-hpo",
    "Bayesian",
    max_parallel=8,
    max_jobs=8,
    started_hours_ago=100,
    instance_type="ml.m5.2xlarge",
    child_minutes=tuple(15 + (k * 5) % 11 for k in range(8)),
    account=fl.RESEARCH,
    team="growth",
)
TUNINGS = (XGB_HPO, CHURN_HPO)

NOTEBOOKS = (
    Notebook("research-nb", "ml.g5.xlarge", created_days_ago=21, status="InService", team="research"),
    Notebook(
        "team-nb",
        "ml.t3.medium",
        created_days_ago=30,
        status="InService",
        lifecycle_config="auto-stop-idle",
        office_hours=True,
        team="growth",
    ),
    Notebook(
        "old-experiments-nb",
        "ml.m5.xlarge",
        created_days_ago=60,
        status="Stopped",
        stopped_days_ago=12,
        lifecycle_config="conda-setup",
        team="vision",
    ),
)
LIFECYCLE_CONFIGS = {"auto-stop-idle": AUTOSTOP_SCRIPT, "conda-setup": CONDA_SCRIPT}

DOMAINS = (
    Domain("research-studio", idle_shutdown=False, spaces=(("llm-lab", None),)),
    Domain("team-studio", idle_shutdown=True, spaces=(("team-lab", 60), ("cv-lab", 60))),
)
STUDIO_APPS = (
    StudioApp("research-studio", "llm-lab", "ml.g5.xlarge", created_hours_ago=9 * 24),
    StudioApp("team-studio", "team-lab", "ml.t3.medium", created_hours_ago=5),
    StudioApp("team-studio", "cv-lab", "ml.g5.2xlarge", created_hours_ago=6 * 24, deleted_hours_ago=4 * 24),
)

OFFICE_START, OFFICE_STOP = (9, 0), (18, 30)  # UTC: team-nb is started at 09:00, auto-stop stops it by 18:30


def office_spans(notebook: Notebook, now: datetime) -> list[tuple[datetime, datetime | None]]:
    """Weekday running spans of an office-hours notebook since it was created (the last one open if running)."""
    created = now - timedelta(days=notebook.created_days_ago)
    spans: list[tuple[datetime, datetime | None]] = []
    day = created.date()
    while day <= now.date():
        if day.weekday() < 5:
            start = datetime(day.year, day.month, day.day, *OFFICE_START, tzinfo=UTC)
            stop = datetime(day.year, day.month, day.day, *OFFICE_STOP, tzinfo=UTC)
            if created <= start < now:
                spans.append((start, stop if stop <= now else None))
        day += timedelta(days=1)
    return spans


def notebook_status(notebook: Notebook, now: datetime) -> str:
    if notebook.office_hours:
        spans = office_spans(notebook, now)
        return "InService" if spans and spans[-1][1] is None else "Stopped"
    return notebook.status


# --- host series -----------------------------------------------------------------------------------


def _seed(*parts: object) -> int:
    return zlib.crc32("/".join(str(p) for p in parts).encode())


def minute_noise(minutes: np.ndarray, seed: int, sd: float) -> np.ndarray:
    """Uniform noise with standard deviation ``sd`` that depends only on the seed and each timestamp (never on the
    window asked for), so a minute published live equals the same minute of the seeded history."""
    raw = np.sin(minutes / 60.0 * 12.9898 + (seed % 100_000) * 78.233) * 43758.5453
    return (raw - np.floor(raw) - 0.5) * sd * math.sqrt(12)


def host_series(job: Job, host_index: int, instance_type: str, minutes: np.ndarray) -> dict[str, np.ndarray]:
    """Per-minute normalised utilization (0-100 per vCPU / per GPU) of one host, plus its vCPUs and GPUs."""
    hw = hardware(instance_type)
    vcpus, gpus = float(hw["vcpus"]), float(hw["gpu_count"])
    seed = _seed(job.name, host_index)
    rng = np.random.default_rng(seed)
    spread = 1 + 0.08 * (host_index - (len(job.hosts) - 1) / 2)  # hosts differ a little
    phase = rng.uniform(0, 2 * math.pi)
    wave = 1 + 0.12 * np.sin(2 * math.pi * minutes / (37 * 60) + phase)
    noise = minute_noise(minutes, seed, 0.03)

    def shaped(mean: float) -> np.ndarray:
        return np.clip(mean * spread * (wave + noise), 0.0, 100.0)

    out = {
        "vcpus": vcpus,
        "gpus": gpus,
        "cpu_pct": shaped(job.cpu_pct),
        "memory_pct": np.clip(job.memory_pct * (1 + 0.02 * np.sin(minutes / 900.0)), 0, 100),
        "disk_pct": np.full(len(minutes), 12.0 + host_index),
    }
    if gpus and job.gpu_pct is not None:
        out["gpu_pct"] = shaped(job.gpu_pct)
        out["gpu_memory_pct"] = np.clip(out["gpu_pct"] * 0.9 + 20.0, 0, 100)
    return out


def job_minutes(job: Job, now: datetime) -> np.ndarray:
    """Epoch starts of the minutes the job ran (up to ``now``'s minute while it runs)."""
    times = job.timeline(now)
    end = times["end"] or fl.floor_minute(now)
    return np.arange(times["start"].timestamp(), end.timestamp(), 60.0)


# --- the benchmark's generated jobs -------------------------------------------------------------------

GENERATED_TYPES = (
    ("ml.m5.xlarge", None),
    ("ml.c5.2xlarge", None),
    ("ml.m5.2xlarge", None),
    ("ml.g5.2xlarge", 55.0),
    ("ml.g4dn.xlarge", 40.0),
    ("ml.p3.2xlarge", 65.0),
)
GENERATED_REGIONS = ("us-east-1", "eu-west-1")


def generated_jobs(count: int, now: datetime) -> list[Job]:
    """``count`` finished training jobs of 1-6 h over the last 13 days, mixed CPU and GPU types, 1-2 instances;
    their metrics are hourly statistic sets (cheap to seed at 10,000 jobs)."""
    jobs = []
    for i in range(count):
        instance_type, gpu = GENERATED_TYPES[i % len(GENERATED_TYPES)]
        hours = 1 + (i * 7919) % 6
        started = 6 + (i * 104729) % (13 * 24 - 12)
        jobs.append(
            Job(
                "training",
                f"bench-train-{i:05d}",
                instance_type,
                1 + (i % 5 == 0),
                started_hours_ago=float(started),
                minutes=60.0 * hours - (i % 3) * 10,
                cpu_pct=20.0 + (i * 13) % 60,
                gpu_pct=gpu,
                region=GENERATED_REGIONS[i % len(GENERATED_REGIONS)],
                image=XGBOOST_IMAGE if gpu is None else PYTORCH_IMAGE,
                team=fl._TEAMS[i % len(fl._TEAMS)],
                project=f"bench-{i % 40:02d}",
                hourly=True,
            )
        )
    return jobs
