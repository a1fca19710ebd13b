"""A methodology resolved against operator overrides: the arrays the hot path indexes into."""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from estimator.catalog import ec2_type
from estimator.factors import Factors, Pue, grid_factors, resolve_lifetime, resolve_pue
from estimator.lookup import lookup_codes, position, region_codes
from estimator.methods import Methodology
from estimator.profiles import SERVERLESS, UNKNOWN, shipped_profiles
from estimator.tables import constant

HOT_PROFILE_COLUMNS = (
    "vcpus",
    "vcpus_without_metric",
    "cpu_min_watts",
    "cpu_span_watts",
    "gpu_count",
    "gpu_min_watts",
    "gpu_span_watts",
    "acc_count",
    "acc_min_watts",
    "acc_span_watts",
    "memory_excess_gb",
    "embodied_kg_per_hour",
    "power_uncertainty",
)


@dataclass(frozen=True)
class Setting:
    """One methodology with the operator's overrides applied: PUE, lifetime, per-type profiles, grid table."""

    method: Methodology
    pue: Pue
    lifetime_hours: float
    lifetime_source_id: str
    profiles: pd.DataFrame
    grid: pd.DataFrame

    @classmethod
    def resolve(cls, method: Methodology, factors: Factors) -> "Setting":
        lifetime_hours, lifetime_source = resolve_lifetime(factors)
        return cls(
            method,
            resolve_pue(method, factors),
            lifetime_hours,
            lifetime_source,
            shipped_profiles(method, lifetime_hours),
            grid_factors(method, factors),
        )

    @cached_property
    def profile_arrays(self) -> dict[str, np.ndarray]:
        """The profile columns the hot path needs, as float arrays to be indexed by type codes."""
        return {column: self.profiles[column].to_numpy(dtype=np.float64) for column in HOT_PROFILE_COLUMNS}

    @cached_property
    def instance_watts(self) -> dict[str, np.ndarray]:
        """Per profile row, what one instance draws, so the hot path gathers a few arrays per row instead of
        every coefficient: CPU idle and span watts (with and without a CPU metric), the GPU or accelerator
        devices' idle and span watts together (no type has both), whether they are GPUs, memory watts."""
        p = self.profile_arrays
        memory_watts = p["memory_excess_gb"] * constant("memory_watts_per_gb")
        return {
            "cpu_idle": p["vcpus"] * p["cpu_min_watts"],
            "cpu_span": p["vcpus"] * p["cpu_span_watts"],
            "cpu_idle_unmetered": p["vcpus_without_metric"] * p["cpu_min_watts"],
            "cpu_span_unmetered": p["vcpus_without_metric"] * p["cpu_span_watts"],
            "device_idle": p["gpu_count"] * p["gpu_min_watts"] + p["acc_count"] * p["acc_min_watts"],
            "device_span": p["gpu_count"] * p["gpu_span_watts"] + p["acc_count"] * p["acc_span_watts"],
            "device_is_gpu": p["gpu_count"] > 0,
            "memory": memory_watts,
        }

    @cached_property
    def grid_arrays(self) -> dict[str, np.ndarray]:
        columns = ("kgco2e_per_kwh", "market_kgco2e_per_kwh", "uncertainty")
        return {column: self.grid[column].to_numpy(dtype=np.float64) for column in columns}

    def type_codes(self, instance_types: pd.Series, serverless: np.ndarray) -> np.ndarray:
        """Profile row of each usage row: ``ml.`` prefix stripped, exact match, else the unknown row."""
        codes = lookup_codes(instance_types, self.profiles.index, ec2_type, position(self.profiles.index, UNKNOWN))
        codes[serverless] = self.profiles.index.get_loc(SERVERLESS)
        return codes

    def grid_codes(self, regions: pd.Series) -> np.ndarray:
        """Grid row of each usage row; an unknown region gets the ``*`` row."""
        return region_codes(regions, self.grid)
