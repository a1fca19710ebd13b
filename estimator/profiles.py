"""Per instance type, the coefficients a methodology applies: host power curves, device watts, embodied rate.

Built once per (methodology, lifetime) from the catalog and factor tables, then looked up by row index in the
hot path. Two synthetic rows follow the catalog: one for unknown types and one for serverless variants.

Host power (CPU and memory) is held for every methodology as watts per instance at the CPU utilizations of
``BREAKPOINTS``; the hot path interpolates piecewise-linearly between them. For 1.x and ``ccf`` these four points
are exactly the per-vCPU formula on the methodology's curve (its curve has no other breakpoints); for 2.0 they
are Teads' whole-instance measurements (see ``instance_host_power``).
"""

from functools import cache
from typing import Any, cast

import numpy as np
import pandas as pd

from estimator.catalog import instance_catalog
from estimator.curves import load_share
from estimator.methods import Methodology
from estimator.tables import constant, constant_source, table

UNKNOWN = "(unknown)"
SERVERLESS = "(serverless)"
FALLBACK_TYPE = "m5.xlarge"
AVERAGE_CPU = "AWS average"
MEDIAN_GROUPS = {"Sandy Bridge", "Ivy Bridge"}  # CCF takes the median, not the mean, of mixes containing these
CCF_SOURCE = "ccf2022"
TEADS_SOURCE = "teads2021"
BLANK_BY_KIND = {"b": False, "f": 0.0}  # numpy dtype kind -> empty value (text columns get "")
BREAKPOINTS = (0.0, 10.0, 50.0, 100.0)  # CPU utilization (%) of the host power points
TEADS_LOADS = ("idle", "10", "50", "100")  # Teads' column suffixes at those utilizations
CPU_WATTS = tuple(f"cpu_w{k}" for k in range(len(BREAKPOINTS)))
MEMORY_WATTS = tuple(f"mem_w{k}" for k in range(len(BREAKPOINTS)))
ARM_PREFIX = "AWS Graviton"
MEASUREMENT_COLUMNS = ("platform_cpu", "vcpus", "memory_gb", *(f"instance_watts_{load}" for load in TEADS_LOADS))


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
    host = per_vcpu_host_power(hardware, cpu, method)
    if method.host_power == "instance":
        host = instance_host_power(hardware, cpu, host)
        # Measured hosts use no per-vCPU figure, so a flagged microarchitecture figure matters only under rule 3.
        cpu = cpu.drop(columns="cpu_ids").assign(cpu_assumed=cpu["cpu_assumed"] & host["host_rule"].eq("fit"))
    parts = [
        cpu,
        host,
        device_profile(hardware, "gpu", method),
        device_profile(hardware, "accelerator", method),
        embodied(hardware, method, lifetime_hours),
    ]
    profiles = pd.concat(parts, axis=1)
    profiles["power_uncertainty"] = power_uncertainty(profiles)
    profiles["factor_ids"] = factor_ids(profiles)
    return pd.concat([profiles, unknown_row(profiles), serverless_row(profiles, method)])


def with_family_hosts(catalog: pd.DataFrame) -> pd.DataFrame:
    """The catalog plus each family's host (largest size), its devices and its embodied emissions."""
    hosts = table("families", "family")[["host_vcpus", "host_memory_gb", "host_embodied_kgco2e", "source_id"]]
    missing = set(catalog["family"]) - set(hosts.index)
    if missing:
        raise ValueError(f"instance_types.csv names families missing from families.csv: {sorted(missing)}")
    devices = catalog["gpu_count"] + catalog["accelerator_count"]
    host_devices = devices.groupby(catalog["family"]).max().rename("host_devices")
    joined = catalog.join(hosts.rename(columns={"source_id": "family_source_id"}), on="family")
    return joined.join(host_devices, on="family")


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
    profile["cpu_unmetered_scale"] = profile["vcpus_without_metric"] / profile["vcpus"]
    profile["arm"] = hardware["cpu_microarchitecture"].str.startswith(ARM_PREFIX)
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


def per_vcpu_host_power(hardware: pd.DataFrame, cpu: pd.DataFrame, method: Methodology) -> pd.DataFrame:
    """The 1.x host: ``vcpus x (min + share(u) x span)`` SPECpower watts per vCPU on the methodology's curve, and
    the memory above the chips' baseline at a flat ``memory_watts_per_gb``; as watts at ``BREAKPOINTS``."""
    shares = load_share(np.array(BREAKPOINTS), method.cpu_curve)
    memory_watts = method.memory_excess_gb(hardware) * constant("memory_watts_per_gb")
    columns: dict[str, Any] = {}
    for k, share in enumerate(shares):
        columns[CPU_WATTS[k]] = cpu["vcpus"] * (cpu["cpu_min_watts"] + share * cpu["cpu_span_watts"])
        columns[MEMORY_WATTS[k]] = memory_watts
    memory_ids = pd.Series("mem:" + constant_source("memory_watts_per_gb"), index=hardware.index, dtype=object)
    columns["mem_ids"] = memory_ids.where(memory_watts > 0)
    columns["host_rule"] = "per-vcpu"
    return pd.DataFrame(columns, index=hardware.index)


def instance_host_power(hardware: pd.DataFrame, cpu: pd.DataFrame, base: pd.DataFrame) -> pd.DataFrame:
    """The 2.0 host, whole instance (CPU package, platform overhead, RAM), by the first rule that applies:

    1. Teads measured the type: its CPU package + platform overhead watts and its RAM watts (measured, +/-20 %).
    2. Teads measured the family, or a sibling on the same platform (``teads_siblings.csv``): per vCPU and per GB
       of the family's largest measured size (a Graviton vCPU is a physical core, measured as such); flagged
       assumed when the figures come from a sibling.
    3. Otherwise (GPU and accelerator hosts, the fallback type's family if unmeasured): the 1.x per-vCPU host
       scaled at each breakpoint by the median ratio of Teads' measured instance watts to that 1.x host, over the
       rule-1 types of the same architecture (x86 or Arm): what per-thread SPECpower leaves out of a server.
    """
    teads = teads_table()
    siblings = table("teads_siblings", "family")["sibling_family"]
    measured_families = set(teads["family"])
    result = base.copy()
    ratios = fit_ratios(hardware, cpu, base)
    for arch, rows in cpu.groupby("arm").groups.items():
        ratio = ratios[bool(arch)]
        for k in range(len(BREAKPOINTS)):
            result.loc[rows, CPU_WATTS[k]] = base.loc[rows, CPU_WATTS[k]] * ratio[k]
            result.loc[rows, MEMORY_WATTS[k]] = base.loc[rows, MEMORY_WATTS[k]] * ratio[k]
    result["host_rule"] = "fit"
    result["host_assumed"] = True  # an extrapolation from other types' measurements (+/-50 %)
    result["cpu_ids"] = cpu["cpu_ids"] + "×fit@" + TEADS_SOURCE
    largest = teads.sort_values("vcpus").groupby("family").tail(1).set_index("family")
    for name, row in hardware.iterrows():
        if name in teads.index:
            measured, scale_cpu, scale_memory, rule = teads_row(str(name)), 1.0, 1.0, "measured"
            ids = f"cpu:{name}@{TEADS_SOURCE}"
        else:
            family = row["family"] if row["family"] in measured_families else siblings.get(row["family"])
            if family is None:
                continue
            measured = cast(pd.Series, largest.loc[family])  # one row: the index is unique
            scale_cpu = row["vcpus"] / measured["vcpus"]
            scale_memory = row["memory_gb"] / measured["memory_gb"]
            rule = "family" if family == row["family"] else "sibling"
            ids = f"cpu:{family} per vCPU@{TEADS_SOURCE}"
        for k, load in enumerate(TEADS_LOADS):
            cpu_watts = float(measured[f"cpu_watts_{load}"]) + float(measured["platform_overhead_watts"])
            result.at[name, CPU_WATTS[k]] = cpu_watts * scale_cpu
            result.at[name, MEMORY_WATTS[k]] = float(measured[f"ram_watts_{load}"]) * scale_memory
        result.at[name, "host_rule"] = rule
        result.at[name, "host_assumed"] = rule == "sibling"
        result.at[name, "cpu_ids"] = ids
        result.at[name, "mem_ids"] = f"mem:{TEADS_SOURCE}"
    return result


def teads_row(instance_type: str) -> pd.Series:
    return cast(pd.Series, teads_table().loc[instance_type])  # one row: the index is unique


@cache
def teads_table() -> pd.DataFrame:
    """Teads' measured instances, indexed by EC2 type."""
    return table("instance_power_teads", "instance_type")


def fit_ratios(hardware: pd.DataFrame, cpu: pd.DataFrame, base: pd.DataFrame) -> dict[bool, np.ndarray]:
    """Per architecture (``True``: Arm), at each breakpoint, the median over Teads' distinct measurements of the
    catalog's types of measured instance watts over the 1.x per-vCPU host's watts. One measurement sold under
    several family names (m5/m5d/t3, c6g/c6gd/c6gn, ...) counts once, with the mean of its names' ratios."""
    teads = teads_table()
    measured = teads.index[teads.index.isin(hardware.index)]
    base_watts = np.column_stack(
        [base.loc[measured, CPU_WATTS[k]] + base.loc[measured, MEMORY_WATTS[k]] for k in range(len(BREAKPOINTS))]
    )
    teads_watts = np.column_stack([teads.loc[measured, f"instance_watts_{load}"] for load in TEADS_LOADS])
    ratios = pd.DataFrame(teads_watts / base_watts, index=measured)
    ratios["arm"] = cpu.loc[measured, "arm"].to_numpy()
    identity = teads.loc[measured, list(MEASUREMENT_COLUMNS)].astype(str).agg("|".join, axis=1)
    per_measurement = ratios.groupby([identity, "arm"]).mean().reset_index(level="arm")
    overall = per_measurement.drop(columns="arm").median().to_numpy()
    return {
        flag: rows.drop(columns="arm").median().to_numpy() if len(rows) else overall
        for flag in (False, True)
        for rows in [per_measurement[per_measurement["arm"] == flag]]
    }


# --- GPUs and accelerators ------------------------------------------------------------------------------------


def device_profile(hardware: pd.DataFrame, kind: str, method: Methodology) -> pd.DataFrame:
    """Per GPU (``kind="gpu"``) or accelerator chip: count, idle watts (point, low and high) and board watts,
    assumption flag, source id. With the 1.x tables all three idles are the one ``min_watts``."""
    models = hardware[f"{kind}_model"].where(hardware[f"{kind}_count"] > 0, "")
    if method.device_table is None:
        powers = table(f"{kind}_power", f"{kind}_model")
        idle = low = high = "min_watts"
        board = "max_watts"
        where = f"{kind}_power.csv"
    else:
        powers = table(method.device_table, "device_model")
        idle, low, high, board = "parked_idle_watts", "bare_idle_watts", "parked_idle_high_watts", "board_watts"
        where = f"{method.device_table}.csv"
    unknown = set(models[models != ""]) - set(powers.index)
    if unknown:
        raise ValueError(f"instance_types.csv names {kind} models missing from {where}: {sorted(unknown)}")
    found = powers.reindex(models)
    prefix = "gpu" if kind == "gpu" else "acc"

    def watts(column: str) -> np.ndarray:
        return pd.to_numeric(found[column]).fillna(0.0).to_numpy(dtype=float)

    return pd.DataFrame(
        {
            f"{prefix}_count": hardware[f"{kind}_count"].astype(float),
            f"{prefix}_idle_watts": watts(idle),
            f"{prefix}_idle_low_watts": watts(low),
            f"{prefix}_idle_high_watts": watts(high),
            f"{prefix}_board_watts": watts(board),
            f"{prefix}_assumed": found["assumption"].eq("yes").to_numpy(),
            f"{prefix}_ids": (prefix + ":" + models + "@" + found["source_id"].fillna("").to_numpy()).where(
                models != ""
            ),
        },
        index=hardware.index,
    )


# --- embodied, uncertainty, provenance ------------------------------------------------------------------------


def embodied(hardware: pd.DataFrame, method: Methodology, lifetime_hours: float) -> pd.DataFrame:
    """Embodied kg per instance-hour (GSF SCI): the host's embodied emissions times this size's share of the
    host over the lifetime. The share is the vCPU share (1.x), or the larger of the vCPU share and the GPU or
    accelerator share (2.0: a one-GPU size of an eight-GPU host holds an eighth of it)."""
    vcpu_share = hardware["vcpus"] / hardware["host_vcpus"]
    share, ids = vcpu_share, "emb:" + hardware["family"] + "@" + hardware["family_source_id"]
    if method.embodied_share == "max":
        devices = hardware["gpu_count"] + hardware["accelerator_count"]
        device_share = (devices / hardware["host_devices"].where(hardware["host_devices"] > 0)).fillna(0.0)
        share = vcpu_share.where(vcpu_share >= device_share, device_share)
        larger = pd.Series(np.where(device_share > vcpu_share, "device", "vcpu"), index=ids.index, dtype=object)
        ids = ids + ";share:" + larger
    return pd.DataFrame(
        {"embodied_kg_per_hour": hardware["host_embodied_kgco2e"] * share / lifetime_hours, "embodied_ids": ids}
    )


def power_uncertainty(profiles: pd.DataFrame) -> pd.Series:
    host_assumed = profiles.get("host_assumed", False)
    assumed = profiles["cpu_assumed"] | profiles["gpu_assumed"] | profiles["acc_assumed"] | host_assumed
    return assumed.map({True: constant("power_uncertainty_assumed"), False: constant("power_uncertainty_measured")})


def factor_ids(profiles: pd.DataFrame) -> pd.Series:
    """``kind:what@source`` for each factor a type uses, e.g. ``cpu:Skylake@ccf2022;mem:ccf2022;emb:m5@ccf2022``."""
    columns = [profiles["cpu_ids"], profiles["gpu_ids"], profiles["acc_ids"], profiles["mem_ids"]]
    columns.append(profiles["embodied_ids"])
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
    row["cpu_unmetered_scale"] = 1.0
    return row
