"""Building usage frames for the estimator tests: one dict per row, unspecified columns unknown (NaN)."""

import numpy as np
import pandas as pd

from estimator.validation import USAGE_COLUMNS

NAN = float("nan")


def usage(*rows: dict) -> pd.DataFrame:
    """A usage frame; every row defaults to one instance-hour with no metric, in us-east-1."""
    defaults = {column: NAN for column in USAGE_COLUMNS}
    defaults.update(region="us-east-1", hours=1.0, instance_count=1.0)
    return pd.DataFrame([{**defaults, **row} for row in rows])


def one(row_frame: pd.DataFrame, column: str) -> float:
    """The single value of ``column`` in a one-row result."""
    assert len(row_frame) == 1
    return float(row_frame[column].iloc[0])


def serverless(memory_mb: float, invocations: float, latency_ms: float, **extra) -> dict:
    return {
        "instance_type": np.nan,
        "instance_count": NAN,
        "serverless_memory_mb": memory_mb,
        "invocations": invocations,
        "model_latency_ms": latency_ms,
        **extra,
    }
