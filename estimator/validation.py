"""Checks on a usage frame before estimation: a malformed value is reported by row and column, never guessed."""

from collections.abc import Hashable

import numpy as np
import pandas as pd

USAGE_COLUMNS = (
    "instance_type",
    "region",
    "hours",
    "instance_count",
    "cpu_util_pct",
    "gpu_util_pct",
    "memory_util_pct",
    "invocations",
)
SERVERLESS_COLUMNS = ("serverless_memory_mb", "model_latency_ms")
PERCENT_COLUMNS = ("cpu_util_pct", "gpu_util_pct", "memory_util_pct")
NON_NEGATIVE_COLUMNS = ("hours", "instance_count", "invocations", "model_latency_ms")


class InputError(ValueError):
    """A malformed usage frame; ``row`` is the index label and ``column`` the column of the first bad value."""

    def __init__(self, message: str, row: Hashable | None = None, column: str | None = None):
        super().__init__(message)
        self.row = row
        self.column = column


def numeric_frame(frame: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Float arrays of ``columns`` (when present); ``InputError`` at the first value that is not a number."""
    arrays = {}
    for column in columns:
        if column in frame:
            arrays[column] = as_numbers(frame, column)
    return arrays


def as_numbers(frame: pd.DataFrame, column: str) -> np.ndarray:
    values = frame[column]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = numbers.isna() & values.notna() & (values.astype(str).str.strip() != "")
    if bad.any():
        first = int(np.argmax(bad.to_numpy()))
        raise InputError(f"{column} is not a number: {values.iloc[first]!r}", row=values.index[first], column=column)
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def check_usage(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The numeric usage columns as float arrays, after checking presence, types and ranges."""
    needed = USAGE_COLUMNS + (SERVERLESS_COLUMNS if any(column in frame for column in SERVERLESS_COLUMNS) else ())
    missing = [column for column in needed if column not in frame]
    if missing:
        raise InputError(f"missing column {missing[0]!r} (needed: {', '.join(needed)})", column=missing[0])
    numbers = numeric_frame(frame, (*USAGE_COLUMNS[2:], *SERVERLESS_COLUMNS))
    serverless = ~np.isnan(numbers.get("serverless_memory_mb", np.full(len(frame), np.nan)))
    require(frame, numbers["hours"], np.isnan(numbers["hours"]), "hours", "is missing")
    require(
        frame,
        numbers["instance_count"],
        np.isnan(numbers["instance_count"]) & ~serverless,
        "instance_count",
        "is missing (needed unless serverless_memory_mb is set)",
    )
    check_ranges(frame, numbers)
    return numbers


def check_ranges(frame: pd.DataFrame, numbers: dict[str, np.ndarray]) -> None:
    for column in NON_NEGATIVE_COLUMNS:
        if column in numbers:
            require(frame, numbers[column], numbers[column] < 0, column, "is negative")
    for column in PERCENT_COLUMNS:
        require(
            frame,
            numbers[column],
            numbers[column] > 100,
            column,
            "is above 100: utilization must be normalised per vCPU / per GPU (0-100)",
        )
        require(frame, numbers[column], numbers[column] < 0, column, "is negative")
    if "serverless_memory_mb" in numbers:
        require(
            frame,
            numbers["serverless_memory_mb"],
            numbers["serverless_memory_mb"] <= 0,
            "serverless_memory_mb",
            "must be positive",
        )


def require(frame: pd.DataFrame, values: np.ndarray, bad: np.ndarray, column: str, problem: str) -> None:
    """``InputError`` naming the first row where ``bad`` holds."""
    if bad.any():
        position = int(np.argmax(bad))
        raise InputError(f"{column} {problem} (value {values[position]!r})", row=frame.index[position], column=column)
