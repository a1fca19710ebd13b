"""``estimate()``: energy, CO2e, uncertainty range and provenance of hourly SageMaker usage rows."""

import numpy as np
import pandas as pd

from estimator.energy import Codes, estimate_block
from estimator.factors import Factors
from estimator.methods import Methodology, methodology_named
from estimator.provenance import provenance_columns, provenance_keys
from estimator.setting import Setting
from estimator.validation import check_usage

NUMERIC_OUTPUT = (
    "cpu_kwh",
    "gpu_kwh",
    "memory_kwh",
    "accelerator_kwh",
    "energy_kwh",
    "co2e_kg",
    "co2e_market_kg",
    "embodied_co2e_kg",
    "co2e_kg_low",
    "co2e_kg_high",
    "gco2e_per_1k_invocations",
)
OUTPUT_COLUMNS = (*NUMERIC_OUTPUT, "methodology", "methodology_version", "factors", "fallbacks")
BLOCK_ROWS = 1 << 19  # bounds temporaries to a few tens of MB whatever the frame size


def estimate(
    frame: pd.DataFrame, methodology: str | Methodology = "default", factors: Factors | None = None
) -> pd.DataFrame:
    """The input rows with energy (kWh), CO2e (kg), the uncertainty range and provenance added.

    Input columns: ``instance_type, region, hours, instance_count, cpu_util_pct, gpu_util_pct, memory_util_pct,
    invocations`` (utilizations 0-100 per vCPU / per GPU, NaN = unknown), optionally ``serverless_memory_mb`` and
    ``model_latency_ms`` (a row with ``serverless_memory_mb`` set is a serverless variant). ``methodology`` is a
    name in ``METHODOLOGIES`` (its current version) or a ``Methodology`` itself, e.g. ``DEFAULT_1`` to compare.
    Output columns: ``OUTPUT_COLUMNS``. Raises ``InputError`` for a malformed frame; unknown types and regions
    are flagged in ``fallbacks``, never raised.
    """
    method = methodology if isinstance(methodology, Methodology) else methodology_named(methodology)
    setting = Setting.resolve(method, factors or Factors())
    usage = check_usage(frame)
    codes = row_codes(frame, usage, setting)
    values, keys = estimate_blocks(usage, codes, setting)
    estimates = pd.DataFrame(values.T, index=frame.index, columns=list(NUMERIC_OUTPUT), copy=False)
    labels = {"methodology": setting.method.name, "methodology_version": setting.method.version}
    for column, label in labels.items():
        estimates[column] = pd.Categorical.from_codes(np.zeros(len(frame), dtype=np.int8), categories=pd.Index([label]))
    for column, categorical in provenance_columns(keys, setting).items():
        estimates[column] = categorical
    return pd.concat([frame.drop(columns=list(OUTPUT_COLUMNS), errors="ignore"), estimates], axis=1)


def row_codes(frame: pd.DataFrame, usage: dict[str, np.ndarray], setting: Setting) -> Codes:
    serverless = ~np.isnan(usage.get("serverless_memory_mb", np.full(len(frame), np.nan)))
    return Codes(
        setting.type_codes(frame["instance_type"], serverless), setting.grid_codes(frame["region"]), serverless
    )


def estimate_blocks(usage: dict[str, np.ndarray], codes: Codes, setting: Setting) -> tuple[np.ndarray, np.ndarray]:
    """Numeric outputs as one (column, row) array, and provenance keys, computed block by block."""
    rows = len(codes.type)
    values = np.empty((len(NUMERIC_OUTPUT), rows))
    keys = np.empty(rows, dtype=np.int64)
    for start in range(0, rows, BLOCK_ROWS):
        block = slice(start, start + BLOCK_ROWS)
        block_usage = {name: column[block] for name, column in usage.items()}
        block_codes = Codes(codes.type[block], codes.grid[block], codes.serverless[block])
        for position, column in enumerate(estimate_block(block_usage, block_codes, setting).values()):
            values[position, block] = column
        keys[block] = provenance_keys(block_usage, block_codes, setting)
    return values, keys
