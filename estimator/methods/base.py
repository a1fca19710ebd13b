"""What a methodology is made of: formulas and factor choices that differ between the two, nothing else."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from estimator.curves import Curve
from estimator.tables import constant, table


@dataclass(frozen=True)
class ServerlessUse:
    """IT energy (kWh, before PUE) and embodied emissions (kg) of serverless invocations, one value per row."""

    cpu_kwh: np.ndarray
    cpu_kwh_low: np.ndarray
    cpu_kwh_high: np.ndarray
    memory_kwh: np.ndarray
    embodied_co2e_kg: np.ndarray


@dataclass(frozen=True)
class Methodology:
    """Everything that differs between methodologies; ``version`` changes whenever a formula or factor does."""

    name: str
    version: str
    cpu_curve: Curve
    pue_constant: str  # a name in constants.csv
    pue_range_constants: tuple[str, str] | None  # (low, high) names in constants.csv; None: no PUE range
    grid_table: str
    prefers_ccf_microarchitecture: bool
    burstable_baseline_scaling: bool
    memory_excess_gb: Callable[[pd.DataFrame], pd.Series]
    serverless_use: Callable[[np.ndarray, np.ndarray, float], ServerlessUse]
    serverless_factor_ids: str
    # Model 2.0 choices; the defaults are the 1.x behaviour (``ccf`` and ``default`` 1.0.0).
    host_power: str = "per_vcpu"  # "per_vcpu": SPECpower watts per vCPU; "instance": Teads' whole-instance power
    device_table: str | None = None  # None: gpu_power/accelerator_power (min, max); else a three-idle device table
    embodied_share: str = "vcpu"  # "vcpu": vCPU share of the host; "max": the larger of vCPU and device share
    pue_table: str | None = None  # None: one PUE (``pue_constant``); else a per-region PUE table


def physical_chips(host_vcpus: pd.Series) -> pd.Series:
    """CCF's rule: a host has one physical chip per 96 vCPUs (rounded up)."""
    chips: pd.Series = np.ceil(host_vcpus / constant("vcpus_per_chip"))
    return chips


def average_cpu_watts() -> tuple[float, float]:
    """(min, max) watts per vCPU of the AWS-average microarchitecture, used where the CPU is unknown."""
    row = cast(pd.Series, table("cpu_power", "microarchitecture").loc["AWS average"])  # the index is unique
    return float(row["min_watts_per_vcpu"]), float(row["max_watts_per_vcpu"])
