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
    """The column as floats. A boolean is refused rather than read as 0 or 1 (a shifted or mistyped column
    would otherwise pass as a utilization), and so is an infinite or overflowing value (``1e999``)."""
    values = frame[column]
    if pd.api.types.is_bool_dtype(values):
        booleans = values.to_numpy(dtype=bool) | True
    elif pd.api.types.is_object_dtype(values):  # mixed values: look at each (never for a numeric column)
        booleans = values.map(lambda value: isinstance(value, bool | np.bool_)).to_numpy(dtype=bool)
    else:
        booleans = np.zeros(0, dtype=bool)
    if booleans.any():
        first = int(np.argmax(booleans))
        raise InputError(
            f"{column} is a boolean ({plain(values.iloc[first])}), not a number", row=values.index[first], column=column
        )
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        coerced = pd.to_numeric(values, errors="coerce")
        bad = coerced.isna() & values.notna() & (values.astype(str).str.strip() != "")
        if bad.any():
            first = int(np.argmax(bad.to_numpy()))
            raise InputError(
                f"{column} is not a number: {plain(values.iloc[first])}", row=values.index[first], column=column
            )
        numbers = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
    require(frame, numbers, np.isinf(numbers), column, "is not a finite number")
    return numbers


def plain(value: object) -> str:
    """A value as a user wrote it: ``1.5``, ``'two'``, never ``np.float64(1.5)``."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


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
        raise InputError(
            f"{column} {problem} (value {plain(values[position])})", row=frame.index[position], column=column
        )
