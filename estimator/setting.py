"""A methodology resolved against operator overrides: the arrays the hot path indexes into."""

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from estimator.catalog import ec2_type
from estimator.factors import ANY_REGION, Factors, Pue, grid_factors, resolve_lifetime, resolve_pue
from estimator.methods import Methodology
from estimator.profiles import SERVERLESS, UNKNOWN, shipped_profiles


@dataclass(frozen=True)
class Setting:
    method: Methodology
    pue: Pue
    lifetime_hours: float
    lifetime_source_id: str
    profiles: pd.DataFrame
    grid: pd.DataFrame

    @classmethod
    def resolve(cls, method: Methodology, factors: Factors) -> "Setting":
        lifetime_hours, lifetime_source = resolve_lifetime(factors)
        return cls(method, resolve_pue(method, factors), lifetime_hours, lifetime_source,
                   shipped_profiles(method.name, lifetime_hours), grid_factors(method, factors))

    @cached_property
    def profile_arrays(self) -> dict[str, np.ndarray]:
        """Numeric profile columns as arrays, to be indexed by type codes."""
        numeric = self.profiles.select_dtypes(include=["number", "bool"])
        return {column: numeric[column].to_numpy() for column in numeric}

    @cached_property
    def grid_arrays(self) -> dict[str, np.ndarray]:
        return {column: self.grid[column].to_numpy(dtype=np.float64) for column in ("kgco2e_per_kwh", "uncertainty")}

    def type_codes(self, instance_types: pd.Series, serverless: np.ndarray) -> np.ndarray:
        """Profile row of each usage row: ``ml.`` prefix stripped, exact match, else the unknown row."""
        codes = lookup_codes(instance_types, self.profiles.index, ec2_type, self.profiles.index.get_loc(UNKNOWN))
        codes[serverless] = self.profiles.index.get_loc(SERVERLESS)
        return codes

    def grid_codes(self, regions: pd.Series) -> np.ndarray:
        """Grid row of each usage row; an unknown region gets the ``*`` row."""
        return lookup_codes(regions, self.grid.index, normalise_region, self.grid.index.get_loc(ANY_REGION))


def normalise_region(region: str) -> str:
    return region.strip().lower()


def lookup_codes(values: pd.Series, index: pd.Index, normalise, fallback: int) -> np.ndarray:
    """Row of ``index`` matching each value after ``normalise``; ``fallback`` for no match or a missing value.

    Works on the distinct values only (``pd.factorize``), so cost does not grow with string work per row.
    """
    codes, uniques = pd.factorize(values)
    names = [normalise(value) if isinstance(value, str) else "" for value in uniques]
    found = index.get_indexer(names)
    lookup = np.append(np.where(found < 0, fallback, found), fallback)  # code -1 (missing) reads the last entry
    return lookup[codes].astype(np.int32)
