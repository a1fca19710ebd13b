"""Operator overrides (PUE, grid factors, embodied lifetime) and the resolved values a methodology uses."""

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from estimator.methods import Methodology
from estimator.tables import constant, constant_source, table

OPERATOR = "operator"
ANY_REGION = "*"


@dataclass(frozen=True)
class Factors:
    """Values an operator knows better than the shipped tables; ``None`` keeps the methodology's own.

    ``grid_kgco2e_per_kwh`` maps a region (e.g. ``"us-east-1"``, or ``"*"`` for every region not in the table)
    to location-based kg CO2e per kWh. The market-based factor stays the published one where there is one (e.g. 0
    where AWS reports 100 % renewable matching) and follows this value where none is published. Overridden values
    appear as ``...@operator`` in the ``factors`` output column.
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


PUE_FALLBACK = "pue: AWS global"
MARKET_FALLBACK = "market: location factor (no AWS 100 % matching, no residual mix)"


def pue_factors(method: Methodology, factors: Factors, regions: pd.Index) -> pd.DataFrame:
    """Per region: ``pue`` and its range ``pue_low``/``pue_high``, ``pue_source_id`` and ``pue_fallback`` (the
    region has no published PUE of its own: the global figure stands in). One PUE everywhere for a methodology
    without a PUE table; an operator's PUE is taken as exact everywhere."""
    if factors.pue is not None:
        value = factors.pue
        return pd.DataFrame(
            {"pue": value, "pue_low": value, "pue_high": value, "pue_source_id": OPERATOR, "pue_fallback": False},
            index=regions,
        )
    low, high = (constant(name) for name in method.pue_range_constants or (method.pue_constant,) * 2)
    if method.pue_table is None:
        point = constant(method.pue_constant)
        source, fallback = constant_source(method.pue_constant), False
        frame = pd.DataFrame({"pue": point, "pue_source_id": source, "pue_fallback": fallback}, index=regions)
    else:
        shipped = table(method.pue_table, "region")
        known = shipped.reindex(regions)
        missing = known["pue"].isna()
        known.loc[missing] = shipped.loc[[ANY_REGION] * int(missing.sum())].to_numpy()
        frame = pd.DataFrame(
            {
                "pue": known["pue"].astype(float),
                "pue_source_id": known["source_id"],
                "pue_fallback": known["basis"].ne("aws-region") | missing,
            },
            index=regions,
        )
    frame["pue_low"] = np.minimum(low, frame["pue"])
    frame["pue_high"] = np.maximum(high, frame["pue"])
    return frame


def resolve_lifetime(factors: Factors) -> tuple[float, str]:
    """Embodied lifetime in hours and where it comes from."""
    if factors.lifetime_hours is not None:
        return factors.lifetime_hours, OPERATOR
    return constant("embodied_lifetime_hours"), constant_source("embodied_lifetime_hours")


def grid_factors(method: Methodology, factors: Factors) -> pd.DataFrame:
    """Per region: location-based ``kgco2e_per_kwh`` and its ``source_id``, market-based
    ``market_kgco2e_per_kwh`` and its ``market_source_id``, relative ``uncertainty`` of the location factor,
    ``market_fallback`` (no market factor: the location factor stands in), the PUE columns of ``pue_factors``;
    the ``*`` row is the fallback.

    A grid table without market figures (``ccf``, ``default`` 1.x) gives market = location everywhere, as the
    GHG Protocol Scope 2 hierarchy's last step does. An operator's factor replaces the location factor; the
    market factor stays the published one where there is one (AWS's renewable matching does not change with the
    grid's average), and follows the operator's factor where the location factor stood in for it."""
    shipped = shipped_grid(method.grid_table)
    shipped["uncertainty"] = np.where(
        shipped.pop("assumed"), constant("grid_uncertainty_assumed"), constant("grid_uncertainty")
    )
    shipped.loc[ANY_REGION, "uncertainty"] = constant("grid_uncertainty_unknown_region")
    values = pd.Series(operator_grid(factors), dtype=float)
    published = shipped.reindex(values.index)
    # Where a published market factor exists (NaN, so False, for a region the table does not list).
    keeps_market = published["market_fallback"].eq(False) & method_has_market(shipped)
    overrides = pd.DataFrame(
        {
            "kgco2e_per_kwh": values,
            "source_id": OPERATOR,
            "market_kgco2e_per_kwh": published["market_kgco2e_per_kwh"].where(keeps_market, values),
            "market_source_id": published["market_source_id"].where(keeps_market, OPERATOR),
            "market_fallback": ~keeps_market & method_has_market(shipped),
            "uncertainty": 0.0,
        }
    )
    merged = pd.concat([shipped.drop(index=overrides.index, errors="ignore"), overrides])
    merged = merged.loc[[*merged.index.drop(ANY_REGION), ANY_REGION]]
    return merged.join(pue_factors(method, factors, merged.index))


def method_has_market(shipped: pd.DataFrame) -> bool:
    """Whether the grid table publishes market-based factors at all (1.x and ``ccf`` tables do not)."""
    return not shipped["market_source_id"].equals(shipped["source_id"])


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
                "assumed": False,
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
            "assumed": rows["assumption"].eq("yes"),
        }
    )


def operator_grid(factors: Factors) -> dict[str, float]:
    """Overrides keyed like the tables (trimmed, lower-case region names)."""
    return {region.strip().lower(): float(value) for region, value in factors.grid_kgco2e_per_kwh.items()}
