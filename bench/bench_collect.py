"""Benchmark the collectors against a sandbox seeded at fleet scale (default 1,000 endpoints).

The sandbox runs in its own process; this process is the collector, with its own database (a fresh SQLite
file, or DATABASE_URL if set). Prints, for the first backfill and for an incremental hourly cycle:
GetMetricData calls against the theoretical minimum (max of ceil(queries / 500) and
ceil(datapoints / 100,800) per region), wall time, and the collector's peak RSS.

Of the endpoints, ``--component-endpoints`` (default 100) host three inference components each: this
benchmark creates them through the sandbox's SageMaker API (ml.g5.12xlarge, no ModelName) and puts their
hourly metrics (the variant's normalized utilizations and reservations, each component's normalized
utilizations and invocations) with PutMetricData, as AWS publishes them; the rest is the sandbox's generated
fleet. Their queries are packed into the same GetMetricData calls as the other variants'.

The sandbox also seeds ``--training-jobs`` (default 10,000) generated training jobs of 1-6 hours over the last
13 days with hourly host metrics (plus the demo's jobs, notebooks and Studio apps); after inventory and utilization
each cycle runs the jobs, job_metrics and notebooks collectors, and prints their List/Describe counts and the job
metrics' GetMetricData calls against their minimum (max of ceil(queries / 500) and ceil(sum of queries x job
hours / 100,800) per region).

Targets: calls at most 1.1 x the minimum; the incremental cycle for 1,000 endpoints under 60 s;
peak RSS under 300 MB for endpoints alone, under 400 MB with 10,000 training jobs.

    python bench/bench_collect.py [--endpoints 1000] [--component-endpoints 100] [--training-jobs 10000]
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def start_sandbox(endpoints: int, folder: Path, training_jobs: int = 0) -> tuple[subprocess.Popen, dict]:
    ready = folder / "ready.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "--port",
            "0",
            "--scale",
            str(endpoints),
            "--fast-metrics",
            "--no-live",
            "--ready-file",
            str(ready),
            *(["--training-jobs", str(training_jobs)] if training_jobs else []),
        ],
        cwd=ROOT,
        stdout=(folder / "sandbox.log").open("w"),
        stderr=subprocess.STDOUT,
    )
    from sandbox.cli import SandboxNotReady, wait_until_ready

    try:
        return process, wait_until_ready(process, ready, 900)
    except SandboxNotReady as exc:
        raise SandboxNotReady(f"{exc}:\n{(folder / 'sandbox.log').read_text()[-3000:]}") from exc


COMPONENT_COPIES = (2, 1, 0)  # each hosting endpoint: a busy component, a light one, one scaled to zero
COMPONENTS_PER_ENDPOINT = len(COMPONENT_COPIES)
COMPONENT_SPEC = {
    "NumberOfCpuCoresRequired": 4,
    "NumberOfAcceleratorDevicesRequired": 1,
    "MinMemoryRequiredInMb": 24576,
}


def hourly_datum(metric: str, dims: dict, moment: datetime, samples: float, value: float) -> dict:
    return {
        "MetricName": metric,
        "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
        "Timestamp": moment,
        "StatisticValues": {"SampleCount": samples, "Sum": samples * value, "Minimum": value, "Maximum": value},
    }


def component_endpoint_metrics(name: str, hours: list[datetime]) -> dict[str, list[dict]]:
    """One hosting endpoint's hourly statistic sets, by namespace: 1 instance at 60 s, copies 2, 1 and 0."""
    from sandbox import fleet as fl

    variant = {"EndpointName": name, "VariantName": "AllTraffic"}
    data: dict[str, list[dict]] = {fl.HOST_NAMESPACE: [], "/aws/sagemaker/InferenceComponents": [], "AWS/SageMaker": []}
    for index, hour in enumerate(hours):
        load = 20.0 + (index % 24) * 2.5
        for metric, value in (
            ("CPUUtilizationNormalized", load / 2),
            ("MemoryUtilizationNormalized", 55.0),
            ("GPUUtilizationNormalized", load),
            ("GPUMemoryUtilizationNormalized", 60.0),
            ("CPUReservation", 25.0),
            ("GPUReservation", 75.0),
            ("MemoryReservation", 38.0),
        ):
            data[fl.HOST_NAMESPACE].append(hourly_datum(metric, variant, hour, 60, value))
        for c, copies in enumerate(COMPONENT_COPIES):
            if not copies:
                continue  # a component at zero copies publishes nothing
            component = {"InferenceComponentName": f"{name}-c{c}"}
            for metric in ("CPUUtilizationNormalized", "MemoryUtilizationNormalized", "GPUUtilizationNormalized"):
                data["/aws/sagemaker/InferenceComponents"].append(
                    hourly_datum(metric, component, hour, 60 * copies, load)
                )
            data["/aws/sagemaker/InferenceComponents"].append(
                hourly_datum("GPUMemoryUtilizationNormalized", component, hour, 60 * copies, 70.0)
            )
            data["AWS/SageMaker"].append(hourly_datum("Invocations", component, hour, 60, load * 10))
            data["AWS/SageMaker"].append(hourly_datum("InvocationsPerCopy", component, hour, 60, load * 10 / copies))
            data["AWS/SageMaker"].append(hourly_datum("ModelLatency", component, hour, 60 * load * 10, 45_000.0))
    return data


def create_component_endpoint(sm, account: str, name: str, created: datetime) -> None:
    sm.create_endpoint_config(
        EndpointConfigName=f"{name}-config",
        ExecutionRoleArn=f"arn:aws:iam::{account}:role/SageMakerExecution",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "InstanceType": "ml.g5.12xlarge",
                "InitialInstanceCount": 1,
                "ManagedInstanceScaling": {"Status": "ENABLED", "MinInstanceCount": 0, "MaxInstanceCount": 2},
            }
        ],
    )
    sm.create_endpoint(
        EndpointName=name,
        EndpointConfigName=f"{name}-config",
        Tags=[{"Key": "team", "Value": "platform"}, {"Key": "sandbox:creationTime", "Value": created.isoformat()}],
    )
    for c, copies in enumerate(COMPONENT_COPIES):
        sm.create_inference_component(
            InferenceComponentName=f"{name}-c{c}",
            EndpointName=name,
            VariantName="AllTraffic",
            Specification={"ModelName": "bench-llm", "ComputeResourceRequirements": COMPONENT_SPEC},
            RuntimeConfig={"CopyCount": copies},
        )


def seed_component_endpoints(sandbox: dict, count: int) -> int:
    """``count`` endpoints hosting three inference components each, spread over the fleet's accounts and
    regions, with 14 days of hourly metrics; returns the statistic sets put."""
    from sandbox import fleet as fl
    from sandbox.clients import client
    from sandbox.seed import PUT_BATCH

    now = datetime.fromisoformat(sandbox["seeded_at"])
    first = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=fl.HISTORY_DAYS)
    hours = [first + timedelta(hours=h) for h in range(int((now - first).total_seconds() // 3600) + 1)]
    places = [(account, region) for account in fl.ACCOUNTS for region in fl.REGIONS]
    for account, region in places:
        client("sagemaker", sandbox["url"], region, account).create_model(
            ModelName="bench-llm",
            PrimaryContainer={"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.29.0"},
            ExecutionRoleArn=f"arn:aws:iam::{account}:role/SageMakerExecution",
        )

    def put(batch) -> int:
        account, region, namespace, data = batch
        client("cloudwatch", sandbox["url"], region, account).put_metric_data(Namespace=namespace, MetricData=data)
        return len(data)

    put_total = 0
    with ThreadPoolExecutor(max_workers=4) as pool:
        for i in range(count):  # one endpoint at a time: this process's peak RSS is the collector's
            account, region = places[i % len(places)]
            name = f"llm-shared-{i:03d}"
            sm = client("sagemaker", sandbox["url"], region, account)
            create_component_endpoint(sm, account, name, now - timedelta(days=30))
            batches = [
                (account, region, namespace, data[j : j + PUT_BATCH])
                for namespace, data in component_endpoint_metrics(name, hours).items()
                for j in range(0, len(data), PUT_BATCH)
            ]
            put_total += sum(pool.map(put, batches))
    return put_total


def setup_django(folder: Path, sandbox: dict) -> None:
    os.environ.setdefault("VAR_DIR", str(folder))
    os.environ.setdefault("DEBUG", "false")  # as deployed: DEBUG keeps every SQL statement in memory
    os.environ.update(
        {
            "AWS_ENDPOINT_URL": sandbox["url"],
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
            "DJANGO_SETTINGS_MODULE": "dashboard.settings",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("sandbox_accounts", str(folder / "ready.json"), stdout=open(os.devnull, "w"))  # noqa: SIM115


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cycle(label: str) -> None:
    from collectors import runner
    from collectors.models import AwsAccount

    jobs = [j for j in runner.plan(AwsAccount.objects.all()) if j[2] in ("inventory", "utilization")]
    started = time.perf_counter()
    calls = minimum = hours = component_hours = components = api_calls = 0
    utilization_seconds = 0.0
    for account, region, source in jobs:
        summary = runner.run(account, region, source)
        api_calls += summary.api_calls
        if source == "utilization":
            calls += summary.details["calls"]
            minimum += summary.details["minimum_calls"]
            hours += summary.details["hours"]
            component_hours += summary.details["component_hours"]
            components += summary.details["components"]
            utilization_seconds += summary.seconds
    elapsed = time.perf_counter() - started
    print(
        f"{label}: {hours:,} variant-hours, {component_hours:,} component-hours of {components} inference "
        f"components; GetMetricData {calls} calls vs theoretical minimum {minimum} "
        f"(ratio {calls / max(minimum, 1):.2f}); {api_calls} AWS API calls in all; wall {elapsed:.1f} s "
        f"(utilization {utilization_seconds:.1f} s); collector peak RSS {peak_rss_mb():.0f} MB",
        flush=True,
    )
    workload_cycle(label)


def workload_cycle(label: str) -> None:
    """Jobs, their host metrics, notebooks and Studio apps: every account and region, after the endpoints."""
    from collections import Counter

    from collectors import runner
    from collectors.models import AwsAccount, CollectionState

    plan = [j for j in runner.plan(AwsAccount.objects.all()) if j[2] in ("jobs", "job_metrics", "notebooks")]
    totals: Counter = Counter()
    operations: Counter = Counter()
    seconds: Counter = Counter()
    for account, region, source in plan:
        summary = runner.run(account, region, source)
        seconds[source] += summary.seconds
        state = CollectionState.objects.get(account=account, region=region, source=source)
        operations.update(state.last_summary.get("api_calls", {}))
        details = summary.details
        if source == "jobs":
            totals.update({k: details[k] for k in ("training", "tuning", "processing", "transform", "described")})
        elif source == "job_metrics":
            totals.update({f"metrics_{k}": details[k] for k in ("jobs", "hours", "queries", "calls", "minimum_calls")})
            totals["job_hours"] += details["job_hours"]
        else:
            totals.update({k: details[k] for k in ("notebooks", "apps")})
            totals["notebook_hours"] += details["hours"]
    ratio = totals["metrics_calls"] / max(totals["metrics_minimum_calls"], 1)
    lists = sum(n for op, n in operations.items() if op.startswith("sagemaker:List") and op != "sagemaker:ListTags")
    describes = sum(n for op, n in operations.items() if ":Describe" in op)
    print(
        f"{label}, workloads: jobs {totals['training']:,} training, {totals['tuning']} tuning, "
        f"{totals['processing']} processing, {totals['transform']} transform ({totals['described']:,} described); "
        f"SageMaker List* pages {lists:,}, Describe* calls {describes:,}, ListTags "
        f"{operations['sagemaker:ListTags']:,}; job metrics of {totals['metrics_jobs']:,} jobs "
        f"({totals['job_hours']:,} job-hours, {totals['metrics_queries']:,} queries): {totals['metrics_hours']:,} "
        f"workload-hours, GetMetricData {totals['metrics_calls']} calls vs theoretical minimum "
        f"{totals['metrics_minimum_calls']} (ratio {ratio:.2f}); "
        f"{totals['notebooks']} notebooks and {totals['apps']} Studio apps ({totals['notebook_hours']:,} hours); "
        f"wall jobs {seconds['jobs']:.1f} s, job_metrics {seconds['job_metrics']:.1f} s, notebooks "
        f"{seconds['notebooks']:.1f} s; collector peak RSS {peak_rss_mb():.0f} MB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    parser.add_argument("--component-endpoints", type=int, default=100, help="of the endpoints, how many host 3 ICs")
    parser.add_argument("--training-jobs", type=int, default=10_000, help="generated training jobs (0: none)")
    args = parser.parse_args()
    plain = args.endpoints - args.component_endpoints
    with tempfile.TemporaryDirectory(prefix="wattson-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        sandbox, fleet = start_sandbox(plain, folder, args.training_jobs)
        try:
            seeded = seed_component_endpoints(fleet, args.component_endpoints)
            print(
                f"sandbox: {fleet['scale']} endpoints seeded, then {args.component_endpoints} endpoints hosting "
                f"{COMPONENTS_PER_ENDPOINT} inference components each ({seeded:,} statistic sets) and "
                f"{args.training_jobs:,} generated training jobs in "
                f"{time.perf_counter() - started:.0f} s (separate process, not measured below)",
                flush=True,
            )
            setup_django(folder, fleet)
            cycle("backfill (first run, 14 days)")
            cycle("incremental hourly cycle")
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=30)


if __name__ == "__main__":
    main()
