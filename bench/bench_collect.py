"""Benchmark the collectors against a sandbox seeded at fleet scale (default 1,000 endpoints).

The sandbox runs in its own process; this process is the collector, with its own database (a fresh SQLite
file, or DATABASE_URL if set). Prints, for the first backfill and for an incremental hourly cycle:
GetMetricData calls against the theoretical minimum (max of ceil(queries / 500) and
ceil(datapoints / 100,800) per region), wall time, and the collector's peak RSS.

Targets: calls at most 1.1 x the minimum; the incremental cycle for 1,000 endpoints under 60 s;
peak RSS under 300 MB.

    python bench/bench_collect.py [--endpoints 1000]
"""

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def start_sandbox(endpoints: int, folder: Path) -> tuple[subprocess.Popen, dict]:
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
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    from sandbox.cli import wait_until_ready

    return process, wait_until_ready(process, ready, 900)


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
    calls = minimum = hours = api_calls = 0
    utilization_seconds = 0.0
    for account, region, source in jobs:
        summary = runner.run(account, region, source)
        api_calls += summary.api_calls
        if source == "utilization":
            calls += summary.details["calls"]
            minimum += summary.details["minimum_calls"]
            hours += summary.details["hours"]
            utilization_seconds += summary.seconds
    elapsed = time.perf_counter() - started
    print(
        f"{label}: {hours:,} variant-hours; GetMetricData {calls} calls vs theoretical minimum {minimum} "
        f"(ratio {calls / max(minimum, 1):.2f}); {api_calls} AWS API calls in all; wall {elapsed:.1f} s "
        f"(utilization {utilization_seconds:.1f} s); collector peak RSS {peak_rss_mb():.0f} MB",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="wattson-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        sandbox, fleet = start_sandbox(args.endpoints, folder)
        print(
            f"sandbox: {fleet['scale']} endpoints seeded in {time.perf_counter() - started:.0f} s "
            f"(separate process, not measured below)",
            flush=True,
        )
        try:
            setup_django(folder, fleet)
            cycle("backfill (first run, 14 days)")
            cycle("incremental hourly cycle")
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=30)


if __name__ == "__main__":
    main()
