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
    """Per region: location-based ``kgco2e_per_kwh`` and its ``source_id``, market-based
    ``market_kgco2e_per_kwh`` and its ``market_source_id``, relative ``uncertainty`` of the location factor, and
    ``market_fallback`` (no market factor: the location factor stands in); the ``*`` row is the fallback.

    A grid table without market figures (``ccf``, ``default`` 1.x) gives market = location everywhere, as the
    GHG Protocol Scope 2 hierarchy's last step does. An operator's factor sets both."""
    shipped = shipped_grid(method.grid_table)
    shipped["uncertainty"] = constant("grid_uncertainty")
    shipped.loc[ANY_REGION, "uncertainty"] = constant("grid_uncertainty_unknown_region")
    values = pd.Series(operator_grid(factors), dtype=float)
    overrides = pd.DataFrame(
        {
            "kgco2e_per_kwh": values,
            "source_id": OPERATOR,
            "market_kgco2e_per_kwh": values,
            "market_source_id": OPERATOR,
            "market_fallback": False,
            "uncertainty": 0.0,
        }
    )
    merged = pd.concat([shipped.drop(index=overrides.index, errors="ignore"), overrides])
    return merged.loc[[*merged.index.drop(ANY_REGION), ANY_REGION]]


def shipped_grid(name: str) -> pd.DataFrame:
    """A shipped grid table in one shape, whichever of the two layouts it is written in: ``kgco2e_per_kwh``
    (location only) or ``location_kgco2e_per_kwh`` with ``market_kgco2e_per_kwh`` (empty: none published)."""
    rows = table(name, "region")
    if "location_kgco2e_per_kwh" not in rows:
        location = rows["kgco2e_per_kwh"].astype(float)
        return pd.DataFrame(
            {
                "kgco2e_per_kwh": location,
                "source_id": rows["source_id"],
                "market_kgco2e_per_kwh": location,
                "market_source_id": rows["source_id"],
                "market_fallback": False,
            }
        )
    location = rows["location_kgco2e_per_kwh"].astype(float)
    market = pd.to_numeric(rows["market_kgco2e_per_kwh"], errors="coerce")
    missing = market.isna()
    return pd.DataFrame(
        {
            "kgco2e_per_kwh": location,
            "source_id": rows["location_source_id"],
            "market_kgco2e_per_kwh": market.fillna(location),
            "market_source_id": rows["market_source_id"].where(~missing, "location"),
            "market_fallback": missing,
        }
    )


def operator_grid(factors: Factors) -> dict[str, float]:
    """Overrides keyed like the tables (trimmed, lower-case region names)."""
    return {region.strip().lower(): float(value) for region, value in factors.grid_kgco2e_per_kwh.items()}
