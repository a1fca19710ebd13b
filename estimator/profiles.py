"""Per instance type, the coefficients a methodology applies: watts, memory above baseline, embodied rate.

Built once per (methodology, lifetime) from the catalog and factor tables, then looked up by row index in the
hot path. Two synthetic rows follow the catalog: one for unknown types and one for serverless variants.
"""

from functools import cache
from typing import Any

import numpy as np
import pandas as pd

from estimator.catalog import instance_catalog
from estimator.methods import Methodology
from estimator.tables import constant, constant_source, table

UNKNOWN = "(unknown)"
SERVERLESS = "(serverless)"
FALLBACK_TYPE = "m5.xlarge"
AVERAGE_CPU = "AWS average"
MEDIAN_GROUPS = {"Sandy Bridge", "Ivy Bridge"}  # CCF takes the median, not the mean, of mixes containing these
CCF_SOURCE = "ccf2022"
BLANK_BY_KIND = {"b": False, "f": 0.0}  # numpy dtype kind -> empty value (text columns get "")


@cache
def shipped_profiles(method: Methodology, lifetime_hours: float) -> pd.DataFrame:
    """Profiles of the shipped catalog (cached by the methodology itself, so two versions of one name never
    share an entry)."""
    return build_profiles(method, instance_catalog(), lifetime_hours)


def build_profiles(method: Methodology, catalog: pd.DataFrame, lifetime_hours: float) -> pd.DataFrame:
    """One row per catalog type, then ``(unknown)`` and ``(serverless)``; see the module docstring."""
    hardware = with_family_hosts(catalog)
    cpu = cpu_profile(hardware, method)
    hardware = hardware.assign(gb_per_chip=cpu["gb_per_chip"])
    parts = [
        cpu,
        device_profile(hardware, "gpu"),
        device_profile(hardware, "accelerator"),
        memory_and_embodied(hardware, method, lifetime_hours),
    ]
    profiles = pd.concat(parts, axis=1)
    profiles["power_uncertainty"] = power_uncertainty(profiles)
    profiles["factor_ids"] = factor_ids(profiles)
    return pd.concat([profiles, unknown_row(profiles), serverless_row(profiles, method)])


def with_family_hosts(catalog: pd.DataFrame) -> pd.DataFrame:
    """The catalog plus each family's host (largest size) and its embodied emissions."""
    hosts = table("families", "family")[["host_vcpus", "host_memory_gb", "host_embodied_kgco2e", "source_id"]]
    missing = set(catalog["family"]) - set(hosts.index)
    if missing:
        raise ValueError(f"instance_types.csv names families missing from families.csv: {sorted(missing)}")
    return catalog.join(hosts.rename(columns={"source_id": "family_source_id"}), on="family")


# --- CPU ------------------------------------------------------------------------------------------------------


def cpu_profile(hardware: pd.DataFrame, method: Methodology) -> pd.DataFrame:
    """Watts per vCPU (min and span), GB per chip, source ids and notes of each type's microarchitecture."""
    names = [chosen_microarchitecture(row, method) for row in hardware.itertuples()]
    profile = pd.DataFrame([microarchitecture_coefficients(name) for name in names], index=hardware.index)
    baseline_share = hardware["burstable_baseline_pct"] / constant("default_util_pct")
    scale = baseline_share.fillna(1.0) if method.burstable_baseline_scaling else 1.0
    profile["vcpus"] = hardware["vcpus"].astype(float)
    profile["vcpus_without_metric"] = profile["vcpus"] * scale
    profile["burstable_scaled"] = profile["vcpus_without_metric"] != profile["vcpus"]
    return profile


def chosen_microarchitecture(row: Any, method: Methodology) -> str:
    """The ``ccf`` methodology keeps CCF's own mapping wherever CCF has coefficients for it."""
    ccf_name: str = row.ccf_cpu_microarchitecture
    if method.prefers_ccf_microarchitecture and ccf_name and set(ccf_name.split("+")) <= ccf_microarchitectures():
        return ccf_name
    own_name: str = row.cpu_microarchitecture
    return own_name


@cache
def ccf_microarchitectures() -> frozenset[str]:
    cpu = table("cpu_power", "microarchitecture")
    return frozenset(cpu.index[cpu["source_id"] == CCF_SOURCE].drop(AVERAGE_CPU))


@cache
def microarchitecture_coefficients(name: str) -> dict[str, Any]:
    """Mean (median with Sandy/Ivy Bridge) of the parts of a ``+`` mix; AWS average if a part is unknown."""
    cpu = table("cpu_power", "microarchitecture")
    parts = name.split("+")
    note = ""
    if not set(parts) <= set(cpu.index):
        parts, note = [AVERAGE_CPU], "unknown microarchitecture: AWS average"
    rows = cpu.loc[parts]
    combine = np.median if MEDIAN_GROUPS & set(parts) else np.mean
    min_watts, max_watts = combine(rows["min_watts_per_vcpu"]), combine(rows["max_watts_per_vcpu"])
    return {
        "cpu_min_watts": min_watts,
        "cpu_span_watts": max_watts - min_watts,
        "gb_per_chip": rows["memory_gb_per_chip"].mean(),
        "cpu_assumed": rows["assumption"].eq("yes").any(),
        "cpu_ids": f"cpu:{'+'.join(parts)}@{'+'.join(rows['source_id'].unique())}",
        "notes": note,
    }


# --- GPUs and accelerators ------------------------------------------------------------------------------------


def device_profile(hardware: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Per GPU (``kind="gpu"``) or accelerator chip: count, min and span watts, assumption flag, source id."""
    powers = table(f"{kind}_power", f"{kind}_model")
    models = hardware[f"{kind}_model"].where(hardware[f"{kind}_count"] > 0, "")
    unknown = set(models[models != ""]) - set(powers.index)
    if unknown:
        raise ValueError(f"instance_types.csv names {kind} models missing from {kind}_power.csv: {sorted(unknown)}")
    found = powers.reindex(models)
    prefix = "gpu" if kind == "gpu" else "acc"
    return pd.DataFrame(
        {
            f"{prefix}_count": hardware[f"{kind}_count"].astype(float),
            f"{prefix}_min_watts": found["min_watts"].fillna(0.0).to_numpy(),
            f"{prefix}_span_watts": (found["max_watts"] - found["min_watts"]).fillna(0.0).to_numpy(),
            f"{prefix}_assumed": found["assumption"].eq("yes").to_numpy(),
            f"{prefix}_ids": (prefix + ":" + models + "@" + found["source_id"].fillna("").to_numpy()).where(
                models != ""
            ),
        },
        index=hardware.index,
    )


# --- memory, embodied, uncertainty, provenance ----------------------------------------------------------------


def memory_and_embodied(hardware: pd.DataFrame, method: Methodology, lifetime_hours: float) -> pd.DataFrame:
    """Memory above the CPU figures' baseline (GB per instance) and embodied kg per instance-hour (GSF SCI)."""
    vcpu_share = hardware["vcpus"] / hardware["host_vcpus"]
    return pd.DataFrame(
        {
            "memory_excess_gb": method.memory_excess_gb(hardware),
            "embodied_kg_per_hour": hardware["host_embodied_kgco2e"] * vcpu_share / lifetime_hours,
            "embodied_ids": "emb:" + hardware["family"] + "@" + hardware["family_source_id"],
        }
    )


def power_uncertainty(profiles: pd.DataFrame) -> pd.Series:
    assumed = profiles["cpu_assumed"] | profiles["gpu_assumed"] | profiles["acc_assumed"]
    return assumed.map({True: constant("power_uncertainty_assumed"), False: constant("power_uncertainty_measured")})


def factor_ids(profiles: pd.DataFrame) -> pd.Series:
    """``kind:what@source`` for each factor a type uses, e.g. ``cpu:Skylake@ccf2022;mem:ccf2022;emb:m5@ccf2022``."""
    memory_ids = pd.Series("mem:" + constant_source("memory_watts_per_gb"), index=profiles.index)
    columns = [
        profiles["cpu_ids"],
        profiles["gpu_ids"],
        profiles["acc_ids"],
        memory_ids.where(profiles["memory_excess_gb"] > 0),
        profiles["embodied_ids"],
    ]
    return pd.concat(columns, axis=1).apply(lambda ids: ";".join(ids.dropna()), axis=1)


def unknown_row(profiles: pd.DataFrame) -> pd.DataFrame:
    """An unknown type is costed as the fallback type, flagged, with the widest uncertainty."""
    row = profiles.loc[[FALLBACK_TYPE]].rename(index={FALLBACK_TYPE: UNKNOWN})
    row["notes"] = f"unknown instance type: costed as {FALLBACK_TYPE}"
    row["factor_ids"] = f"type:{FALLBACK_TYPE}@fallback;" + row["factor_ids"]
    row["power_uncertainty"] = constant("power_uncertainty_unknown_type")
    return row


def serverless_row(profiles: pd.DataFrame, method: Methodology) -> pd.DataFrame:
    """Serverless rows are costed by the methodology's serverless rule; this row carries only provenance."""
    blank = {column: BLANK_BY_KIND.get(dtype.kind, "") for column, dtype in profiles.dtypes.items()}
    row = pd.DataFrame(blank, index=[SERVERLESS])
    row["factor_ids"] = method.serverless_factor_ids
    row["power_uncertainty"] = constant("power_uncertainty_assumed")
    return row
