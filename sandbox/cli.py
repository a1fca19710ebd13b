"""``python -m sandbox`` (or ``manage.py sandbox``): start the simulated AWS, seed the fleet, keep it alive.

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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="sandbox", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (loopback by default)")
    parser.add_argument("--port", type=int, default=5055, help="port (0 picks a free one)")
    parser.add_argument("--scale", type=int, default=None, metavar="N",
                        help="seed N endpoints instead of the 44-endpoint demo fleet (for benchmarks)")
    parser.add_argument("--no-seed", action="store_true", help="start empty")
    parser.add_argument("--no-live", action="store_true", help="do not publish new metrics every minute")
    parser.add_argument("--ready-file", type=Path, help="write the URL and fleet summary here when ready")
    parser.add_argument("--fast-metrics", action="store_true",
                        help="write seeded metrics straight into the in-process store instead of over HTTP "
                             "(much faster for --scale; every other call still goes over HTTP)")
    return parser.parse_args(argv)


class SandboxNotReady(RuntimeError):
    pass


def wait_until_ready(process, ready_file: Path, seconds: float) -> dict:
    """The fleet summary a sandbox started with ``--ready-file`` writes once seeded; raises if it dies or stalls."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SandboxNotReady(f"the sandbox exited with code {process.returncode} (port already in use?)")
        if ready_file.exists() and ready_file.stat().st_size:
            return json.loads(ready_file.read_text())
        time.sleep(0.5)
    raise SandboxNotReady(f"the sandbox was not ready after {seconds:.0f} s")


def fleet_summary(endpoints, url: str, now: datetime) -> dict:
    return {
        "url": url,
        "seeded_at": now.isoformat(),
        "accounts": fl.ACCOUNTS,
        "regions": list(fl.REGIONS),
        "role_name": fl.ROLE_NAME,
        "scale": len(endpoints),
        "endpoints": [
            {"name": e.name, "account": e.account, "region": e.region, "team": e.team, "behaviour": e.behaviour,
             "mode": e.mode, "deleted": e.deleted, "status": e.status,
             "variants": [{"name": v.name, "instance_type": v.instance_type, "instance_count": v.instance_count}
                          for v in e.variants]}
            for e in endpoints
        ],
    }


def direct_metric_sink(server: SandboxServer):
    """Write into the server's own metric store (same process): for fleet-scale benchmarks."""
    from moto.cloudwatch.models import cloudwatch_backends

    from sandbox.patches import metric_store

    def put(account: str, region: str, namespace: str, data: list[dict]) -> None:
        metric_store(cloudwatch_backends[account][region]).put(namespace, data)

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
                    sink(endpoint.account, endpoint.region, namespace, data[i:i + PUT_BATCH])
                    sent += len(data[i:i + PUT_BATCH])
    return sent


def live_loop(endpoints, url: str, stop: threading.Event, started: datetime) -> None:
    minute = fl.floor_minute(started)
    while not stop.wait(timeout=max(0.0, (minute + timedelta(minutes=1) - datetime.now(UTC)).total_seconds())):
        try:
            publish_minute(endpoints, url, minute)
        except Exception as exc:  # noqa: BLE001 - the demo must keep running; say what happened
            print(f"sandbox: could not publish metrics for {minute:%H:%M}: {exc}", file=sys.stderr, flush=True)
        minute += timedelta(minutes=1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    server = SandboxServer(args.host, args.port).start()
    endpoints = fl.build_fleet(args.scale)
    now = datetime.now(UTC)
    print(f"Sandbox (simulated AWS) listening on {server.url}", flush=True)
    if not args.no_seed:
        print(f"Seeding {len(endpoints)} endpoints in {len(fl.ACCOUNTS)} accounts ...", flush=True)
        sink = direct_metric_sink(server) if args.fast_metrics else None
        report = seed(server.url, endpoints, now=now, sink=sink, progress=lambda m: print(m, flush=True))
        print(f"Seeded {report.endpoints} endpoints, {report.variants} variants, {report.datapoints:,} metric "
              f"statistic sets, {report.log_groups} log groups, {report.lens_files} Storage Lens reports "
              f"in {report.seconds:.1f} s", flush=True)
        server.app.fleet = fleet_summary(endpoints, server.url, now)
    if args.ready_file:
        args.ready_file.write_text(json.dumps(server.app.fleet or {"url": server.url}))
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
