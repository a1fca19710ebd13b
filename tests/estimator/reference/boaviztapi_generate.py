"""Regenerate ``boaviztapi_aws_power.csv``: BoaviztAPI's own power figures for our CPU-only catalog types.

Not part of the test run and not imported by the estimator. BoaviztAPI (AGPL-3.0) is run as a separate program,
never imported by Wattson; only the figures it outputs are kept. Run it in a throw-away virtualenv:

    python3 -m venv /tmp/bzvenv && /tmp/bzvenv/bin/pip install boaviztapi==2.4.1 httpx
    cd tests/estimator/reference && /tmp/bzvenv/bin/python boaviztapi_generate.py > boaviztapi_aws_power.csv

The script reads the catalog's ``instance_types.csv`` directly (no estimator import).
Each row is BoaviztAPI's ``POST /v1/cloud/instance?verbose=true`` for ``provider=aws`` at one ``time_workload``
(a constant load in %), the verbose ``avg_power`` of the instance (value, min, max) and its CPU and RAM parts.
"""

import csv
import sys
from importlib.metadata import version
from pathlib import Path

from boaviztapi.main import app
from fastapi.testclient import TestClient

LOADS = (0, 10, 50, 100)
CATALOG = Path(__file__).resolve().parents[3] / "estimator" / "data" / "instance_types.csv"
SOURCE = (
    "BoaviztAPI {v} (PyPI boaviztapi=={v}, matching Boavizta/boaviztapi commit 15878f045bf0, 2026-08-21) run "
    "offline: POST /v1/cloud/instance?verbose=true, provider aws, usage.time_workload = load_pct; verbose avg_power "
    "(W, whole instance incl. other_consumption_ratio), CPU-1 and RAM-1 avg_power; by tests/estimator/reference/"
    "boaviztapi_generate.py"
)


def cpu_only_types() -> list[str]:
    with CATALOG.open() as handle:
        rows = csv.DictReader(handle)
        return [r["instance_type"] for r in rows if r["gpu_count"] == "0" and r["accelerator_count"] == "0"]


def main() -> None:
    client = TestClient(app)
    known = set(client.get("/v1/cloud/instance/all_instances", params={"provider": "aws"}).json())
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(
        [
            "instance_type",
            "load_pct",
            "vcpus",
            "memory_gb",
            "platform_cpu",
            "watts",
            "watts_min",
            "watts_max",
            "cpu_watts",
            "ram_watts",
            "other_consumption_ratio",
            "source_id",
            "source",
            "source_year",
        ]
    )
    tool = version("boaviztapi")
    for name in cpu_only_types():
        if name not in known:
            continue
        for load in LOADS:
            body = {"provider": "aws", "instance_type": name, "usage": {"time_workload": load}}
            reply = client.post("/v1/cloud/instance", params={"verbose": "true", "criteria": "gwp"}, json=body)
            reply.raise_for_status()
            verbose = reply.json()["verbose"]
            power = verbose["avg_power"]
            cpu = verbose["CPU-1"]
            ram = sum(part["avg_power"]["value"] for key, part in verbose.items() if key.startswith("RAM-"))
            out.writerow(
                [
                    name,
                    load,
                    verbose["vcpu"]["value"],
                    verbose["memory"]["value"],
                    cpu.get("name", {}).get("value", ""),
                    round(power["value"], 4),
                    round(power["min"], 4),
                    round(power["max"], 4),
                    round(cpu["avg_power"]["value"], 4),
                    round(ram, 4),
                    verbose["other_consumption_ratio"]["value"],
                    f"boaviztapi{tool}",
                    SOURCE.format(v=tool),
                    2026,
                ]
            )


if __name__ == "__main__":
    main()
