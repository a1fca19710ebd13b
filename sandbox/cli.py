"""``python -m sandbox`` (or ``manage.py sandbox``): start the simulated AWS, seed the fleet, keep it alive.

Resources are created through boto3 over HTTP, as production calls them; the 14-day metric history goes
straight into the server's metric store (same process), which makes the demo fleet ready in seconds.

While it runs, every minute it publishes the newest minute of metrics for every running variant,
so incremental collection always finds fresh data, exactly as it would on AWS.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from sandbox import fleet as fl
from sandbox.seed import PUT_BATCH, http_metric_sink, seed, variant_metrics
from sandbox.server import SandboxServer
from sandbox.workload_seed import publish_running_jobs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback by default)")
    parser.add_argument("--port", type=int, default=5055, help="port (0 picks a free one)")
    parser.add_argument(
        "--scale",
        type=int,
        default=None,
        metavar="N",
        help=f"seed N endpoints instead of the {fl.DEFAULT_FLEET_SIZE}-endpoint demo fleet (for benchmarks)",
    )
    parser.add_argument(
        "--training-jobs",
        type=int,
        default=None,
        metavar="N",
        help="also seed N generated training jobs with their host metrics (for benchmarks)",
    )
    parser.add_argument("--no-seed", action="store_true", help="start empty")
    parser.add_argument("--no-live", action="store_true", help="do not publish new metrics every minute")
    parser.add_argument(
        "--ready-file",
        type=Path,
        help="write the URL and fleet summary here when ready (and progress to FILE.progress)",
    )
    parser.add_argument(
        "--metrics-over-http",
        action="store_true",
        help="seed the metric history through PutMetricData over HTTP (about four times slower) "
        "instead of writing it straight into the in-process metric store",
    )
    parser.add_argument("--fast-metrics", action="store_true", help=argparse.SUPPRESS)  # the default now
    return parser.parse_args(argv)


class SandboxNotReady(RuntimeError):
    pass


STALL_SECONDS = 120.0  # no sign of progress for this long means stuck, however slow the machine


def progress_file(ready_file: Path) -> Path:
    """Where a sandbox started with ``--ready-file`` notes each seeding step, so a waiter can tell slow from stuck."""
    return ready_file.with_name(ready_file.name + ".progress")


def wait_until_ready(process, ready_file: Path, stall_seconds: float = STALL_SECONDS) -> dict:
    """The fleet summary a sandbox started with ``--ready-file`` writes once seeded.

    There is no deadline for the whole start: a loaded machine may seed several times slower than a quiet one.
    Raises when the process exits, or when its progress file has not changed for ``stall_seconds``.
    """
    progress, last_seen = progress_file(ready_file), None
    last_change = time.monotonic()
    while not (ready_file.exists() and ready_file.stat().st_size):
        if process.poll() is not None:
            raise SandboxNotReady(f"the sandbox exited with code {process.returncode} (port already in use?)")
        seen = _file_state(progress)
        if seen != last_seen:
            last_seen, last_change = seen, time.monotonic()
        elif time.monotonic() - last_change > stall_seconds:
            raise SandboxNotReady(
                f"the sandbox made no progress for {stall_seconds:.0f} s (last step: {_last_line(progress)!r})"
            )
        time.sleep(0.5)
    return json.loads(ready_file.read_text())


def _file_state(path: Path) -> tuple | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _last_line(path: Path) -> str:
    try:
        return path.read_text().strip().rsplit("\n", 1)[-1]
    except FileNotFoundError:
        return "not started"


class ProgressLog:
    """Prints each seeding step and, with a ready file, appends it to the progress file a waiter watches."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        if path:
            path.write_text("")

    def __call__(self, message: str) -> None:
        print(message, flush=True)
        self.beat(message.strip())

    def beat(self, note: str) -> None:
        if self.path:
            with self.path.open("a") as log:
                log.write(f"{datetime.now(UTC):%H:%M:%S} {note}\n")


def write_atomically(path: Path, text: str) -> None:
    """A waiter polling ``path`` sees nothing or all of it, never half a summary (a loaded machine writes slowly)."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text)
    partial.replace(path)


def fleet_summary(
    endpoints, url: str, now: datetime, cost_exports: dict | None = None, workloads: dict | None = None
) -> dict:
    """What the ready file and ``GET /_sandbox/fleet`` carry; ``cost_exports``: account id -> its CUR 2.0 export's
    ``bucket``, ``prefix`` and ``name`` (accounts without one are not listed)."""
    return {
        "url": url,
        "seeded_at": now.isoformat(),
        "accounts": fl.ACCOUNTS,
        "regions": list(fl.REGIONS),
        "role_name": fl.ROLE_NAME,
        "scale": len(endpoints),
        "cost_exports": cost_exports or {},
        "workloads": workloads or {},
        "endpoints": [
            {
                "name": e.name,
                "account": e.account,
                "region": e.region,
                "team": e.team,
                "behaviour": e.behaviour,
                "mode": e.mode,
                "deleted": e.deleted,
                "status": e.status,
                "variants": [
                    {"name": v.name, "instance_type": v.instance_type, "instance_count": v.instance_count}
                    for v in e.variants
                ],
                "metric_publish_seconds": e.metric_publish_seconds,
                "enhanced_metrics": e.enhanced_metrics,
                "inference_components": [
                    {
                        "name": c.name,
                        "variant": c.variant,
                        "copies": c.copies,
                        "cpu_cores": c.cpu_cores,
                        "accelerators": c.accelerators,
                        "memory_mb": c.memory_mb,
                        "behaviour": c.behaviour,
                        "earlier_copies": c.earlier_copies,
                        "copies_changed_days_ago": c.copies_changed_days_ago,
                    }
                    for c in e.components
                ],
            }
            for e in endpoints
        ],
    }


def direct_metric_sink(server: SandboxServer):
    """Write into the server's own metric store (same process), as PutMetricData would, without HTTP.

    The seeder builds exactly the datums it would send; only the transport is skipped. The other seeding
    calls (SageMaker, Logs, S3, Storage Lens) and the live minutes still go over HTTP through boto3.
    """
    from moto.cloudwatch.models import cloudwatch_backends

    from sandbox.patches import metric_store

    def put(account: str, region: str, namespace: str, data: list[dict]) -> None:
        metric_store(cloudwatch_backends[account][region]).put(namespace, data)

    return put


def with_heartbeat(sink, progress: ProgressLog):
    """A metric sink that notes each batch in the progress file: seeding metrics is the longest step."""

    def put(account: str, region: str, namespace: str, data: list[dict]) -> None:
        sink(account, region, namespace, data)
        progress.beat(f"metrics: {len(data)} in {namespace} for {account} {region}")

    return put


def publish_minute(endpoints, url: str, minute: datetime) -> int:
    """Publish the metrics of the minute starting at ``minute`` for every live variant."""
    sink = http_metric_sink(url)
    stamps = np.array([minute.timestamp()])
    sent = 0
    for endpoint in endpoints:
        for variant in endpoint.variants:
            for namespace, data in variant_metrics(endpoint, variant, stamps, 0, minute.timestamp()).items():
                for i in range(0, len(data), PUT_BATCH):
                    sink(endpoint.account, endpoint.region, namespace, data[i : i + PUT_BATCH])
                    sent += len(data[i : i + PUT_BATCH])
    return sent


def live_loop(endpoints, url: str, stop: threading.Event, started: datetime) -> None:
    minute = fl.floor_minute(started)
    while not stop.wait(timeout=max(0.0, (minute + timedelta(minutes=1) - datetime.now(UTC)).total_seconds())):
        try:
            publish_minute(endpoints, url, minute)
            # the demo's running training job keeps publishing its host metrics, as the endpoints do
            publish_running_jobs(http_metric_sink(url), minute, started)
        except Exception as exc:  # noqa: BLE001 - the demo must keep running; say what happened
            print(f"sandbox: could not publish metrics for {minute:%H:%M}: {exc}", file=sys.stderr, flush=True)
        minute += timedelta(minutes=1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    progress = ProgressLog(progress_file(args.ready_file) if args.ready_file else None)
    server = SandboxServer(args.host, args.port).start()
    endpoints = fl.build_fleet(args.scale)
    now = datetime.now(UTC)
    progress(f"Sandbox (simulated AWS) listening on {server.url}")
    if not args.no_seed:
        progress(f"Seeding {len(endpoints)} endpoints in {len(fl.ACCOUNTS)} accounts ...")
        sink = http_metric_sink(server.url) if args.metrics_over_http else direct_metric_sink(server)
        report = seed(
            server.url,
            endpoints,
            now=now,
            sink=with_heartbeat(sink, progress),
            progress=progress,
            training_jobs=args.training_jobs,
        )
        progress(
            f"Seeded {report.endpoints} endpoints, {report.variants} variants, {report.datapoints:,} metric "
            f"statistic sets, {report.log_groups} log groups, {report.lens_files} Storage Lens reports, "
            f"{report.cost_export_lines:,} cost export lines, {report.cloudtrail_events} CloudTrail events "
            f"in {report.seconds:.1f} s"
        )
        server.app.fleet = fleet_summary(endpoints, server.url, now, report.cost_exports, report.workloads)
    if args.ready_file:
        write_atomically(args.ready_file, json.dumps(server.app.fleet or {"url": server.url}))
    print(f"Ready. Point boto3 at it with AWS_ENDPOINT_URL={server.url}", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    if args.no_seed or args.no_live:
        stop.wait()
    else:
        live_loop(endpoints, server.url, stop, now)
    server.stop()
    return 0
