"""``default``: measured utilization on Teads' load curve, GPUs and accelerators by model, current PUE and grid."""

from dataclasses import replace

import numpy as np
import pandas as pd

from estimator.curves import teads_curve
from estimator.methods.base import Methodology, ServerlessUse, average_cpu_watts, physical_chips
from estimator.tables import constant, table

SERVERLESS_HOST_FAMILY = "m5"  # embodied share of a serverless vCPU: a general-purpose host


def memory_excess_gb(hardware: pd.DataFrame) -> pd.Series:
    """RAM not already inside the per-vCPU CPU figures: the host's memory above its chips' SPECpower
    baseline, shared in proportion to this size's memory (for one-chip hosts this equals CCF's rule)."""
    baseline_gb = physical_chips(hardware["host_vcpus"]) * hardware["gb_per_chip"]
    host_excess_gb = (hardware["host_memory_gb"] - baseline_gb).clip(lower=0)
    return host_excess_gb * hardware["memory_gb"] / hardware["host_memory_gb"]


def serverless_use(memory_mb: np.ndarray, busy_hours: np.ndarray, lifetime_hours: float) -> ServerlessUse:
    """Invocation time x memory size: the vCPU share that comes with the memory runs flat out (AWS-average
    CPU at 100 %) while an invocation is being served, and all of the memory is powered."""
    vcpu_hours = busy_hours * memory_mb / constant("serverless_mb_per_vcpu")
    cpu_kwh = vcpu_hours * average_cpu_watts()[1] / 1000
    memory_kwh = busy_hours * memory_mb / 1024 * constant("memory_watts_per_gb") / 1000
    host = table("families", "family").loc[SERVERLESS_HOST_FAMILY]
    embodied_kg = vcpu_hours * host["host_embodied_kgco2e"] / host["host_vcpus"] / lifetime_hours
    return ServerlessUse(cpu_kwh, cpu_kwh, cpu_kwh, memory_kwh, embodied_kg)


DEFAULT_1 = Methodology(
    name="default",
    version="1.0.0",
    cpu_curve=teads_curve(),
    pue_constant="pue",
    pue_range_constants=("pue_low", "pue_high"),
    grid_table="grid_factors",
    prefers_ccf_microarchitecture=False,
    burstable_baseline_scaling=False,
    memory_excess_gb=memory_excess_gb,
    serverless_use=serverless_use,
    serverless_factor_ids=("serverless:1769MB=1vCPU@awslambda2024;cpu:AWS average@ccf2022;mem:ccf2022;emb:m5@ccf2022"),
)

# 2.0.0: the same CPU curve, memory and serverless rules; the model 2.0 choices (docs/methodology.md).
DEFAULT_2 = replace(
    DEFAULT_1,
    version="2.0.0",
    grid_table="grid_factors_v2",
    host_power="instance",
    device_table="gpu_power_v2",
    embodied_share="max",
    pue_table="pue_by_region",
)

DEFAULT = DEFAULT_2
