"""Regenerate ``v1_before_9136e12.csv``: ``default`` 1.0.0 and ``ccf`` as the estimator computed them before model 2.0
touched it (commit f0efa42, the parent of 9136e12), on a fixed sample of usage rows.

Not part of the test run. Run the old estimator from a separate worktree, never this checkout's code:

    git worktree add /tmp/est-old f0efa42
    PYTHONPATH=/tmp/est-old /work/main/.venv/bin/python tests/estimator/reference/v1_generate.py \
        > tests/estimator/reference/v1_before_9136e12.csv
    git worktree remove /tmp/est-old

``test_default_2.py::test_version_1_is_unchanged`` re-runs the current ``DEFAULT_1`` and ``CCF`` on the same input
columns and compares every numeric output the old code had.
"""

import sys

import numpy as np
import pandas as pd

import estimator
from estimator import estimate

NAN = float("nan")
INPUT = [
    "instance_type",
    "region",
    "hours",
    "instance_count",
    "cpu_util_pct",
    "gpu_util_pct",
    "memory_util_pct",
    "invocations",
    "serverless_memory_mb",
    "model_latency_ms",
]
SAMPLE = [
    ("ml.m5.xlarge", "us-east-1", 1.0, 1.0, 35.0, NAN, 40.0, 1000.0, NAN, NAN),
    ("ml.m5.xlarge", "eu-west-2", 2.0, 3.0, NAN, NAN, NAN, NAN, NAN, NAN),
    ("ml.c5.2xlarge", "ap-south-2", 1.0, 1.0, 0.0, NAN, 10.0, 0.0, NAN, NAN),
    ("ml.c5.2xlarge", "eu-central-1", 0.5, 2.0, 100.0, NAN, 90.0, 50.0, NAN, NAN),
    ("ml.t3.medium", "us-west-2", 1.0, 1.0, NAN, NAN, NAN, 10.0, NAN, NAN),
    ("ml.t3.medium", "us-west-2", 1.0, 1.0, 7.0, NAN, NAN, 10.0, NAN, NAN),
    ("ml.r5.large", "eu-west-1", 1.0, 1.0, 62.5, NAN, 70.0, NAN, NAN, NAN),
    ("ml.m6g.large", "us-east-2", 1.0, 1.0, 20.0, NAN, NAN, NAN, NAN, NAN),
    ("ml.c6g.xlarge", "ap-northeast-1", 1.0, 1.0, 80.0, NAN, NAN, NAN, NAN, NAN),
    ("ml.g4dn.xlarge", "us-east-1", 1.0, 1.0, 20.0, 0.0, NAN, 500.0, NAN, NAN),
    ("ml.g4dn.xlarge", "us-east-1", 1.0, 1.0, 20.0, NAN, NAN, NAN, NAN, NAN),
    ("ml.g5.2xlarge", "eu-west-2", 1.0, 2.0, 15.0, 100.0, NAN, NAN, NAN, NAN),
    ("ml.g5.48xlarge", "us-west-2", 3.0, 1.0, 45.0, 65.0, NAN, NAN, NAN, NAN),
    ("ml.g6.xlarge", "ca-central-1", 1.0, 1.0, 30.0, 30.0, NAN, NAN, NAN, NAN),
    ("ml.p3.2xlarge", "ap-southeast-2", 1.0, 1.0, 5.0, 95.0, NAN, NAN, NAN, NAN),
    ("ml.p4d.24xlarge", "us-east-1", 1.0, 1.0, 50.0, 50.0, NAN, NAN, NAN, NAN),
    ("ml.inf1.xlarge", "us-east-1", 1.0, 1.0, 25.0, 40.0, NAN, NAN, NAN, NAN),
    ("ml.inf2.24xlarge", "sa-east-1", 1.0, 1.0, NAN, NAN, NAN, NAN, NAN, NAN),
    ("ml.trn1.2xlarge", "us-east-1", 1.0, 1.0, 10.0, 90.0, NAN, NAN, NAN, NAN),
    ("ml.zz9.large", "us-east-1", 1.0, 1.0, 50.0, NAN, NAN, NAN, NAN, NAN),
    ("ml.m5.xlarge", "xx-nowhere-1", 1.0, 1.0, 50.0, NAN, NAN, NAN, NAN, NAN),
    (NAN, "us-east-1", 1.0, NAN, NAN, NAN, NAN, 3600.0, 2048.0, 120.0),
    (NAN, "eu-west-2", 1.0, NAN, NAN, NAN, NAN, 100.0, 6144.0, NAN),
]
NUMERIC = [
    "cpu_kwh",
    "gpu_kwh",
    "memory_kwh",
    "accelerator_kwh",
    "energy_kwh",
    "co2e_kg",
    "embodied_co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "gco2e_per_1k_invocations",
]


def main() -> None:
    frame = pd.DataFrame(SAMPLE, columns=INPUT)
    parts = []
    for name in ("default", "ccf"):
        result = estimate(frame.copy(), name)
        assert result["methodology_version"].astype(str).eq("1.0.0").all(), "run the old estimator (see docstring)"
        part = frame.copy()
        part.insert(0, "methodology", name)
        for column in NUMERIC:
            part[column] = result[column].to_numpy(dtype=float)
        part["factors"] = result["factors"].astype(str).to_numpy()
        part["fallbacks"] = result["fallbacks"].astype(str).to_numpy()
        parts.append(part)
    rows = pd.concat(parts, ignore_index=True)
    print(f"# estimator at {estimator.__file__}", file=sys.stderr)
    rows.to_csv(sys.stdout, index=False, float_format="%.17g", na_rep="")
    assert np.isfinite(rows[NUMERIC[:-1]].to_numpy()).all()


if __name__ == "__main__":
    main()
