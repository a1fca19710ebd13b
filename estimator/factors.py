"""Operator overrides (PUE, grid factors, embodied lifetime) and the resolved values a methodology uses."""

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from estimator.methods import Methodology
from estimator.tables import constant, constant_source, table

OPERATOR = "operator"
ANY_REGION = "*"


@dataclass(frozen=True)
class Factors:
    """Values an operator knows better than the shipped tables; ``None`` keeps the methodology's own.

    ``grid_kgco2e_per_kwh`` maps a region (e.g. ``"us-east-1"``, or ``"*"`` for every region not in the table)
    to kg CO2e per kWh. Overridden values appear as ``...@operator`` in the ``factors`` output column.
    """

    pue: float | None = None
    grid_kgco2e_per_kwh: Mapping[str, float] = field(default_factory=dict)
    lifetime_hours: float | None = None

    def __post_init__(self) -> None:
        for name, value in (("pue", self.pue), ("lifetime_hours", self.lifetime_hours)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be positive, got {value!r}")
        if self.pue is not None and self.pue < 1:
            raise ValueError(f"pue cannot be below 1, got {self.pue!r}")
        for region, value in self.grid_kgco2e_per_kwh.items():
            if not value >= 0:
                raise ValueError(f"grid factor for {region!r} must be >= 0 kg/kWh, got {value!r}")


@dataclass(frozen=True)
class Pue:
    point: float
    low: float
    high: float
    source_id: str


def resolve_pue(method: Methodology, factors: Factors) -> Pue:
    """The PUE and its uncertainty range; an operator's value is taken as exact."""
    if factors.pue is not None:
        return Pue(factors.pue, factors.pue, factors.pue, OPERATOR)
    point = constant(method.pue_constant)
    low, high = (constant(name) for name in method.pue_range_constants or (method.pue_constant,) * 2)
    return Pue(point, min(low, point), max(high, point), constant_source(method.pue_constant))


def resolve_lifetime(factors: Factors) -> tuple[float, str]:
    """Embodied lifetime in hours and where it comes from."""
    if factors.lifetime_hours is not None:
        return factors.lifetime_hours, OPERATOR
    return constant("embodied_lifetime_hours"), constant_source("embodied_lifetime_hours")


def grid_factors(method: Methodology, factors: Factors) -> pd.DataFrame:
    """Per region: ``kgco2e_per_kwh``, ``source_id`` and relative ``uncertainty``; the ``*`` row is the fallback."""
    shipped = table(method.grid_table, "region")[["kgco2e_per_kwh", "source_id"]].copy()
    shipped["uncertainty"] = constant("grid_uncertainty")
    shipped.loc[ANY_REGION, "uncertainty"] = constant("grid_uncertainty_unknown_region")
    overrides = pd.DataFrame(
        {"kgco2e_per_kwh": pd.Series(operator_grid(factors), dtype=float), "source_id": OPERATOR, "uncertainty": 0.0}
    )
    merged = pd.concat([shipped.drop(index=overrides.index, errors="ignore"), overrides])
    return merged.loc[[*merged.index.drop(ANY_REGION), ANY_REGION]]


def operator_grid(factors: Factors) -> dict[str, float]:
    """Overrides keyed like the tables (trimmed, lower-case region names)."""
    return {region.strip().lower(): float(value) for region, value in factors.grid_kgco2e_per_kwh.items()}
