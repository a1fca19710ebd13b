"""Benchmark the simulated AWS at fleet scale: can it stand in for AWS when 1,000+ endpoints are collected?

Prints: seeding time and datapoints, then a GetMetricData sweep of every variant's host metrics over the last
24 hours at a 60-second period (500 queries per call, NextToken paging) with calls and pages against the
theoretical minimum, wall time, and the peak RSS of this process (server and client live in it).

    python bench/bench_sandbox.py [--endpoints 1000]
"""

import argparse
import math
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sandbox import fleet as fl  # noqa: E402
from sandbox.cli import direct_metric_sink  # noqa: E402
from sandbox.clients import client  # noqa: E402
from sandbox.metric_store import MAX_DATAPOINTS_PER_CALL, MAX_QUERIES_PER_CALL  # noqa: E402
from sandbox.seed import seed  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402

HOST_METRICS = ("CPUUtilization", "MemoryUtilization", "DiskUtilization", "GPUUtilization", "GPUMemoryUtilization")
IC_HOST_METRICS = (
    "CPUUtilizationNormalized",
    "MemoryUtilizationNormalized",
    "GPUUtilizationNormalized",
    "GPUMemoryUtilizationNormalized",
    "CPUReservation",
    "GPUReservation",
    "MemoryReservation",
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def queries_for(endpoints) -> dict[tuple, list[dict]]:
    by_place = {}
    for e in endpoints:
        for v in e.variants:
            if v.serverless:
                continue
            metrics = HOST_METRICS if v.instance_type and "g" in v.instance_type.split(".")[1][:2] else HOST_METRICS[:3]
            if e.ic_based:  # IC-based variants publish normalized utilizations and reservations instead
                metrics = IC_HOST_METRICS
            for m in metrics:
                dims = [{"Name": "EndpointName", "Value": e.name}, {"Name": "VariantName", "Value": v.name}]
                by_place.setdefault((e.account, e.region), []).append(
                    {
                        "Id": f"q{len(by_place.get((e.account, e.region), []))}",
                        "MetricStat": {
                            "Metric": {"Namespace": fl.HOST_NAMESPACE, "MetricName": m, "Dimensions": dims},
                            "Period": 60,
                            "Stat": "Average",
                        },
                    }
                )
    return by_place


def sweep(url: str, by_place: dict, start: datetime, end: datetime) -> dict:
    calls = datapoints = 0
    minimum_calls = 0
    for (account, region), queries in by_place.items():
        cw = client("cloudwatch", url, region, account)
        place_points = 0
        for i in range(0, len(queries), MAX_QUERIES_PER_CALL):
            chunk, token = queries[i : i + MAX_QUERIES_PER_CALL], None
            while True:
                kwargs = {"NextToken": token} if token else {}
                page = cw.get_metric_data(MetricDataQueries=chunk, StartTime=start, EndTime=end, **kwargs)
                calls += 1
                place_points += sum(len(r["Values"]) for r in page["MetricDataResults"])
                token = page.get("NextToken")
                if not token:
                    break
        datapoints += place_points
        minimum_calls += max(
            math.ceil(len(queries) / MAX_QUERIES_PER_CALL), math.ceil(place_points / MAX_DATAPOINTS_PER_CALL)
        )
    return {
        "calls": calls,
        "minimum_calls": minimum_calls,
        "datapoints": datapoints,
        "queries": sum(len(q) for q in by_place.values()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--endpoints", type=int, default=1000)
    args = parser.parse_args()
    server = SandboxServer().start()
    endpoints = fl.build_fleet(args.endpoints)
    now = datetime.now(UTC)
    started = time.perf_counter()
    report = seed(server.url, endpoints, now=now, sink=direct_metric_sink(server), progress=lambda _: None)
    seeded = time.perf_counter() - started
    print(
        f"sandbox seed: {report.endpoints} endpoints, {report.variants} variants, {report.datapoints:,} statistic "
        f"sets (metrics written in-process), {report.log_groups} log groups, {report.lens_files} Storage Lens "
        f"reports, {report.cloudtrail_events} CloudTrail events in {seeded:.1f} s; peak RSS {peak_rss_mb():.0f} MB"
    )
    by_place = queries_for(endpoints)
    started = time.perf_counter()
    result = sweep(server.url, by_place, now - timedelta(hours=24), now)
    elapsed = time.perf_counter() - started
    print(
        f"GetMetricData sweep, 24 h at 60 s: {result['queries']:,} queries, {result['datapoints']:,} datapoints, "
        f"{result['calls']} calls (theoretical minimum {result['minimum_calls']}, "
        f"ratio {result['calls'] / max(result['minimum_calls'], 1):.2f}) in {elapsed:.1f} s "
        f"({elapsed / max(result['calls'], 1):.2f} s per call); peak RSS {peak_rss_mb():.0f} MB"
    )
    server.stop()


if __name__ == "__main__":
    main()
