"""The factor tables shipped in ``estimator/data``: one CSV per kind of factor, a source and year on every row."""

from functools import cache
from importlib import resources
from typing import Any, cast

import pandas as pd

PROVENANCE_COLUMNS = ("source", "source_year")

# Columns that may be empty; every other column is read as written (empty stays "").
NULLABLE_NUMBERS = {"burstable_baseline_pct": [""]}


def read_table(name: str, **read_options: Any) -> pd.DataFrame:
    """Read ``estimator/data/<name>.csv``; ``ValueError`` when a row lacks its source or source year."""
    with resources.files("estimator.data").joinpath(f"{name}.csv").open() as handle:
        frame: pd.DataFrame = pd.read_csv(handle, keep_default_na=False, na_values=NULLABLE_NUMBERS, **read_options)
    for column in PROVENANCE_COLUMNS:
        if column not in frame or (frame[column].astype(str).str.strip() == "").any():
            raise ValueError(f"{name}.csv: every row needs a {column!r}")
    return frame


@cache
def table(name: str, key: str) -> pd.DataFrame:
    """A factor table indexed by its unique ``key`` column."""
    frame = read_table(name)
    if not frame[key].is_unique:
        raise ValueError(f"{name}.csv lists a {key} twice")
    return frame.set_index(key)


def constant(name: str) -> float:
    """One named value of ``constants.csv`` (its unit is in the table)."""
    return float(cast(float, table("constants", "name").at[name, "value"]))


def constant_source(name: str) -> str:
    """The short source id of one constant, e.g. ``ccf2022``."""
    return str(table("constants", "name").at[name, "source_id"])
