"""Matching usage rows to table rows by name, on the distinct names only (no string work per row)."""

from collections.abc import Callable, Hashable
from typing import cast

import numpy as np
import pandas as pd

from estimator.factors import ANY_REGION


def lookup_codes(values: pd.Series, index: pd.Index, normalise: Callable[[str], str], fallback: int) -> np.ndarray:
    """Position in ``index`` of each value after ``normalise``; ``fallback`` for no match or a missing value."""
    codes, uniques = pd.factorize(values)
    names = [normalise(value) if isinstance(value, str) else "" for value in uniques]
    found = index.get_indexer(pd.Index(names))
    lookup = np.append(np.where(found < 0, fallback, found), fallback)  # code -1 (missing) reads the last entry
    return lookup[codes].astype(np.int32)


def normalise_region(region: str) -> str:
    return region.strip().lower()


def region_codes(regions: pd.Series, grid: pd.DataFrame) -> np.ndarray:
    """Row of ``grid`` for each region; an unknown or missing region gets the ``*`` row."""
    return lookup_codes(regions, grid.index, normalise_region, position(grid.index, ANY_REGION))


def position(index: pd.Index, label: Hashable) -> int:
    """Row of ``label`` in an index whose labels are unique (``get_loc`` then returns an int)."""
    return cast(int, index.get_loc(label))
