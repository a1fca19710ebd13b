"""The ``factors`` and ``fallbacks`` columns: which sources a row used and which defaults stood in for data.

Strings are built once per distinct (profile row, grid row, missing-data flags) and handed out as categorical
codes, so millions of rows cost one small integer each and no string work per row.
"""

import numpy as np
import pandas as pd

from estimator.energy import Codes, serverless_time_unknown
from estimator.factors import ANY_REGION, MARKET_FALLBACK, PUE_FALLBACK, method_has_market
from estimator.setting import Setting
from estimator.tables import constant

CPU_MISSING, GPU_MISSING, SERVERLESS_INCOMPLETE = 1, 2, 4
FLAG_STATES = 8


def provenance_keys(usage: dict[str, np.ndarray], codes: Codes, setting: Setting) -> np.ndarray:
    """One small integer per row that determines both provenance strings."""
    instance = ~codes.serverless
    flags = (np.isnan(usage["cpu_util_pct"]) & instance) * CPU_MISSING
    flags |= (np.isnan(usage["gpu_util_pct"]) & instance) * GPU_MISSING
    if codes.serverless.any():
        flags |= serverless_time_unknown(usage, codes.serverless) * SERVERLESS_INCOMPLETE
    keys: np.ndarray = (codes.type.astype(np.int64) * len(setting.grid) + codes.grid) * FLAG_STATES + flags
    return keys


def provenance_columns(keys: np.ndarray, setting: Setting) -> dict[str, pd.Categorical]:
    """``factors`` and ``fallbacks`` as categoricals, strings built only for the keys present."""
    present = np.flatnonzero(np.bincount(keys))
    dense = np.zeros(present[-1] + 1 if len(present) else 1, dtype=np.int32)
    dense[present] = np.arange(len(present), dtype=np.int32)
    row_codes = dense[keys]
    columns = {}
    for name, describe in (("factors", factor_text), ("fallbacks", fallback_text)):
        texts = [describe(int(key), setting) for key in present]
        text_codes, categories = pd.factorize(pd.Series(texts, dtype=object))
        columns[name] = pd.Categorical.from_codes(text_codes.astype(np.int32)[row_codes], categories=categories)
    return columns


def split_key(key: int, setting: Setting) -> tuple[int, int, int]:
    """(profile row, grid row, flags) of a provenance key."""
    type_and_grid, flags = divmod(key, FLAG_STATES)
    type_row, grid_row = divmod(type_and_grid, len(setting.grid))
    return type_row, grid_row, flags


def factor_text(key: int, setting: Setting) -> str:
    """e.g. ``cpu:Cascade Lake@ccf2022;mem:ccf2022;emb:c5@ccf2022;life:35040h@ccf2022;pue:1.15@aws2024;grid:...``"""
    type_row, grid_row, _ = split_key(key, setting)
    grid = setting.grid.iloc[grid_row]
    return ";".join(
        [
            setting.profiles["factor_ids"].iloc[type_row],
            f"life:{setting.lifetime_hours:g}h@{setting.lifetime_source_id}",
            f"pue:{grid['pue']:g}@{grid['pue_source_id']}",
            f"grid:{setting.grid.index[grid_row]}@{grid['source_id']}",
            *([f"market:{grid['market_kgco2e_per_kwh']:g}@{grid['market_source_id']}"] if has_market(setting) else []),
        ]
    )


def has_market(setting: Setting) -> bool:
    """Whether the methodology's grid table publishes market-based factors (else market = location, unsaid)."""
    return method_has_market(setting.grid)


def fallback_text(key: int, setting: Setting) -> str:
    """Every default that stood in for missing or unknown data, ``; ``-separated (empty when none)."""
    type_row, grid_row, flags = split_key(key, setting)
    profile = setting.profiles.iloc[type_row]
    default = f"{constant('default_util_pct'):g} %"
    notes = [profile["notes"]]
    if flags & CPU_MISSING:
        notes.append(f"no CPU metric: {default}")
        notes.append("burstable without CPU metric: CCF baseline scaling" if profile["burstable_scaled"] else "")
    if flags & GPU_MISSING:
        notes.append(f"no GPU metric: {default}" if profile["gpu_count"] > 0 else "")
        notes.append(f"no accelerator metric: {default}" if profile["acc_count"] > 0 else "")
    if setting.grid.index[grid_row] == ANY_REGION:
        notes.append("unknown region: mean factor")
    if setting.grid["pue_fallback"].iloc[grid_row]:
        notes.append(PUE_FALLBACK)
    if setting.grid["market_fallback"].iloc[grid_row]:
        notes.append(MARKET_FALLBACK)
    if flags & SERVERLESS_INCOMPLETE:
        notes.append("serverless: invocations or model latency unknown: costed as busy all hour (range from zero)")
    return "; ".join(note for note in notes if note)
