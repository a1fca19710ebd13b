"""A methodology resolved against operator overrides: the arrays the hot path indexes into."""

from dataclasses import dataclass
from functools import cached_property, lru_cache

import numpy as np
import pandas as pd

from estimator.catalog import ec2_type
from estimator.factors import Factors, grid_factors, resolve_lifetime
from estimator.lookup import lookup_codes, position, region_codes
from estimator.methods import Methodology
from estimator.profiles import BREAKPOINTS, CPU_WATTS, MEMORY_WATTS, SERVERLESS, UNKNOWN, shipped_profiles

INNER_BREAKPOINTS = np.array(BREAKPOINTS[1:-1])  # segment k of a utilization: searchsorted(INNER, u, "right")


@dataclass(frozen=True)
class Setting:
    """One methodology with the operator's overrides applied: lifetime, per-type profiles, per-region grid and PUE."""

    method: Methodology
    lifetime_hours: float
    lifetime_source_id: str
    profiles: pd.DataFrame
    grid: pd.DataFrame

    @classmethod
    def resolve(cls, method: Methodology, factors: Factors) -> "Setting":
        """The setting of ``method`` with ``factors``, built once per distinct pair and then reused (with the
        arrays it derives): a caller estimating many small frames (the recommendations replay each candidate)
        would otherwise rebuild the grid and profile tables each time. Settings are never modified."""
        grid = tuple(sorted(factors.grid_kgco2e_per_kwh.items()))
        return _resolved(method, factors.pue, grid, factors.lifetime_hours)

    @cached_property
    def instance_watts(self) -> dict[str, np.ndarray]:
        """Per profile row, what one instance draws, so the hot path gathers a few arrays per row instead of
        every coefficient.

        Host (CPU and memory): watts at each breakpoint, flattened ``(profile, breakpoint)``, and the slope of
        each segment, flattened ``(profile, segment)``, so a row's watts are ``start + (u - breakpoint) x slope``;
        ``cpu_unmetered_scale`` for rows without a CPU metric. Devices (GPUs or accelerators; no type has both):
        point idle and span to board power, how far the range's low idle lies below the point idle and its high
        idle above it, whether they are GPUs."""
        p = self.profiles
        steps = np.diff(np.array(BREAKPOINTS))
        arrays: dict[str, np.ndarray] = {}
        for part, columns in (("cpu", CPU_WATTS), ("memory", MEMORY_WATTS)):
            points = p[list(columns)].to_numpy(dtype=np.float64)
            arrays[f"{part}_points"] = points
            arrays[f"{part}_start"] = points[:, :-1].ravel()
            arrays[f"{part}_slope"] = (np.diff(points, axis=1) / steps).ravel()
        arrays["cpu_unmetered_scale"] = p["cpu_unmetered_scale"].to_numpy(dtype=np.float64)

        def devices(column: str) -> np.ndarray:
            gpu = p["gpu_count"] * p[f"gpu_{column}"]
            accelerator = p["acc_count"] * p[f"acc_{column}"]
            return (gpu + accelerator).to_numpy(dtype=np.float64)

        idle = devices("idle_watts")
        arrays["device_idle"] = idle
        arrays["device_span"] = devices("board_watts") - idle
        arrays["device_below"] = idle - devices("idle_low_watts")
        arrays["device_above"] = devices("idle_high_watts") - idle
        arrays["device_is_gpu"] = (p["gpu_count"] > 0).to_numpy()
        arrays["embodied_kg_per_hour"] = p["embodied_kg_per_hour"].to_numpy(dtype=np.float64)
        arrays["power_uncertainty"] = p["power_uncertainty"].to_numpy(dtype=np.float64)
        return arrays

    @cached_property
    def grid_arrays(self) -> dict[str, np.ndarray]:
        """Per grid row: PUE, kg CO2e per facility kWh (location and market), and the factors that turn IT kWh
        into the range's ends (PUE range x grid factor x its uncertainty)."""
        g = self.grid
        location = g["kgco2e_per_kwh"].to_numpy(dtype=np.float64)
        spread = g["uncertainty"].to_numpy(dtype=np.float64)
        return {
            "pue": g["pue"].to_numpy(dtype=np.float64),
            "kgco2e_per_kwh": location,
            "market_kgco2e_per_kwh": g["market_kgco2e_per_kwh"].to_numpy(dtype=np.float64),
            "low_kg_per_it_kwh": g["pue_low"].to_numpy(dtype=np.float64) * location * (1 - spread),
            "high_kg_per_it_kwh": g["pue_high"].to_numpy(dtype=np.float64) * location * (1 + spread),
        }

    def type_codes(self, instance_types: pd.Series, serverless: np.ndarray) -> np.ndarray:
        """Profile row of each usage row: ``ml.`` prefix stripped, exact match, else the unknown row."""
        codes = lookup_codes(instance_types, self.profiles.index, ec2_type, position(self.profiles.index, UNKNOWN))
        codes[serverless] = self.profiles.index.get_loc(SERVERLESS)
        return codes

    def grid_codes(self, regions: pd.Series) -> np.ndarray:
        """Grid row of each usage row; an unknown region gets the ``*`` row."""
        return region_codes(regions, self.grid)


@lru_cache(maxsize=32)
def _resolved(
    method: Methodology,
    pue: float | None,
    grid: tuple[tuple[str, float], ...],
    lifetime_hours: float | None,
) -> Setting:
    factors = Factors(pue=pue, grid_kgco2e_per_kwh=dict(grid), lifetime_hours=lifetime_hours)
    lifetime, lifetime_source = resolve_lifetime(factors)
    return Setting(method, lifetime, lifetime_source, shipped_profiles(method, lifetime), grid_factors(method, factors))
