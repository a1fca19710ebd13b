"""``ccf``: Cloud Carbon Footprint's published coefficients and formulas (AWS constants of Nov 2022).

Reproduced so that users can cross-check against that tool; the known defects of its implementation are
not reproduced (see docs/methodology.md, "Differences from Cloud Carbon Footprint").
"""

import numpy as np
import pandas as pd

from estimator.curves import LINEAR
from estimator.methods.base import Methodology, ServerlessUse, average_cpu_watts, physical_chips
from estimator.tables import constant


def memory_excess_gb(hardware: pd.DataFrame) -> pd.Series:
    """CCF's memory rule: RAM per chip of the family's largest size above what a SPECpower server of that
    microarchitecture already has, scaled to this size; none for burstable types."""
    per_chip_gb = hardware["host_memory_gb"] / physical_chips(hardware["host_vcpus"])
    excess_gb = (per_chip_gb - hardware["gb_per_chip"]).clip(lower=0)
    scaled_gb = excess_gb * hardware["memory_gb"] / hardware["host_memory_gb"]
    return scaled_gb.where(hardware["burstable_baseline_pct"].isna(), 0.0)


def serverless_use(memory_mb: np.ndarray, busy_hours: np.ndarray, lifetime_hours: float) -> ServerlessUse:
    """CCF's Lambda rule: GB-seconds / 3600 vCPU-hours on the AWS-average CPU at 50 %; no memory, no embodied."""
    vcpu_hours = busy_hours * memory_mb / constant("ccf_serverless_mb_per_vcpu")
    min_watts, max_watts = average_cpu_watts()
    point_watts = min_watts + constant("default_util_pct") / 100 * (max_watts - min_watts)
    zeros = np.zeros_like(vcpu_hours)
    return ServerlessUse(
        vcpu_hours * point_watts / 1000, vcpu_hours * min_watts / 1000, vcpu_hours * max_watts / 1000, zeros, zeros
    )


CCF = Methodology(
    name="ccf",
    version="1.0.0",
    cpu_curve=LINEAR,
    pue_constant="ccf_pue",
    pue_range_constants=None,
    grid_table="grid_factors_ccf",
    prefers_ccf_microarchitecture=True,
    burstable_baseline_scaling=True,
    memory_excess_gb=memory_excess_gb,
    serverless_use=serverless_use,
    serverless_factor_ids="serverless:1GB=1vCPU@ccf2022;cpu:AWS average@ccf2022",
)
