"""Operational energy and emissions of a block of usage rows, fully vectorised (no per-row Python).

Energies here are IT energy in kWh (before PUE) unless named otherwise; ``low``/``high`` are the bounds of the
documented uncertainty range before the relative power uncertainty is applied.
"""

from dataclasses import dataclass

import numpy as np

from estimator.curves import LINEAR, Curve, load_share
from estimator.setting import Setting
from estimator.tables import constant

KWH_PER_WH = 1 / 1000
MS_PER_HOUR = 3_600_000


@dataclass
class Codes:
    """Per row: profile row, grid row, and whether the row is a serverless variant."""

    type: np.ndarray
    grid: np.ndarray
    serverless: np.ndarray


@dataclass
class ItEnergy:
    cpu: np.ndarray
    gpu: np.ndarray
    memory: np.ndarray
    accelerator: np.ndarray
    low: np.ndarray
    high: np.ndarray
    embodied_co2e_kg: np.ndarray


def device_energy(
    util_pct: np.ndarray, curve: Curve, hours: np.ndarray, idle_watts: np.ndarray, span_watts: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, low, high) kWh of ``hours`` instance-hours of devices drawing ``idle + share(util) x span`` watts
    per instance.

    An unknown utilization (NaN) costs the default utilization at the point, 0 % at low and 100 % at high.
    """
    share = util_pct / 100 if curve == LINEAR else load_share(util_pct, curve)  # the same values, cheaper
    missing = np.isnan(share)
    kwh_per_share = hours * span_watts * KWH_PER_WH
    known_kwh = hours * idle_watts * KWH_PER_WH
    known_kwh += np.where(missing, 0.0, share) * kwh_per_share
    if not missing.any():
        return known_kwh, known_kwh, known_kwh
    default_share = load_share(np.array([constant("default_util_pct")]), curve)[0]
    unknown_kwh = np.where(missing, kwh_per_share, 0.0)
    return known_kwh + default_share * unknown_kwh, known_kwh, known_kwh + unknown_kwh


def instance_energy(usage: dict[str, np.ndarray], codes: Codes, setting: Setting) -> ItEnergy:
    """CPU, GPU, accelerator and memory energy of instance rows (serverless rows come out as zero)."""
    watts, rows = setting.instance_watts, codes.type
    hours = usage["hours"] * np.nan_to_num(usage["instance_count"])
    hours[codes.serverless] = 0.0
    cpu_idle, cpu_span = watts["cpu_idle"][rows], watts["cpu_span"][rows]
    unmetered = np.flatnonzero(np.isnan(usage["cpu_util_pct"]))  # few rows: fixed up in place
    cpu_idle[unmetered] = watts["cpu_idle_unmetered"][rows[unmetered]]
    cpu_span[unmetered] = watts["cpu_span_unmetered"][rows[unmetered]]
    cpu = device_energy(usage["cpu_util_pct"], setting.method.cpu_curve, hours, cpu_idle, cpu_span)
    device = device_energy(usage["gpu_util_pct"], LINEAR, hours, watts["device_idle"][rows], watts["device_span"][rows])
    gpu = np.where(watts["device_is_gpu"][rows], device[0], 0.0)
    memory = hours * watts["memory"][rows] * KWH_PER_WH
    return ItEnergy(
        cpu[0],
        gpu,
        memory,
        device[0] - gpu,
        cpu[1] + device[1] + memory,
        cpu[2] + device[2] + memory,
        hours * setting.profile_arrays["embodied_kg_per_hour"][rows],
    )


def add_serverless(energy: ItEnergy, usage: dict[str, np.ndarray], codes: Codes, setting: Setting) -> None:
    """Fill serverless rows with the methodology's invocation-time x memory-size rule.

    Invocation time unknown (invocations or model latency missing while there were invocations) never gives a
    silent NaN: the point estimate takes the variant as busy for the whole hour (one invocation at a time), the
    range runs from zero to, when the invocations are known, every one of them lasting the longest an invocation
    may (AWS's timeout; invocations run concurrently, so this can exceed the hour), and the row is flagged
    (``provenance.SERVERLESS_INCOMPLETE``)."""
    rows = np.flatnonzero(codes.serverless)
    invocations, hours = usage["invocations"][rows], usage["hours"][rows]
    busy_hours = np.where(invocations == 0, 0.0, invocations * usage["model_latency_ms"][rows] / MS_PER_HOUR)
    unknown = np.isnan(busy_hours)
    longest = invocations * constant("serverless_max_invocation_seconds") / 3600
    high_hours = np.where(unknown, np.fmax(hours, np.nan_to_num(longest)), busy_hours)
    memory_mb, lifetime = usage["serverless_memory_mb"][rows], setting.lifetime_hours
    point = setting.method.serverless_use(memory_mb, np.where(unknown, hours, busy_hours), lifetime)
    low = setting.method.serverless_use(memory_mb, np.where(unknown, 0.0, busy_hours), lifetime)
    high = setting.method.serverless_use(memory_mb, high_hours, lifetime)
    energy.cpu[rows] = point.cpu_kwh
    energy.memory[rows] = point.memory_kwh
    energy.low[rows] = low.cpu_kwh_low + low.memory_kwh
    energy.high[rows] = high.cpu_kwh_high + high.memory_kwh
    energy.embodied_co2e_kg[rows] = point.embodied_co2e_kg


def serverless_time_unknown(usage: dict[str, np.ndarray], serverless: np.ndarray) -> np.ndarray:
    """Serverless rows whose invocation time is unknown (the rows ``add_serverless`` costs as a busy hour)."""
    invocations = usage["invocations"]
    unknown: np.ndarray = serverless & (
        np.isnan(invocations) | ((invocations > 0) & np.isnan(usage["model_latency_ms"]))
    )
    return unknown


def emissions(energy: ItEnergy, usage: dict[str, np.ndarray], codes: Codes, setting: Setting) -> dict[str, np.ndarray]:
    """Facility energy (PUE applied), operational CO2e (location- and market-based), embodied CO2e, the range,
    and SCI per 1,000 invocations."""
    pue = setting.pue
    grid_kg = setting.grid_arrays["kgco2e_per_kwh"][codes.grid]
    grid_spread = setting.grid_arrays["uncertainty"][codes.grid]
    power_spread = setting.profile_arrays["power_uncertainty"][codes.type]
    columns = {name: getattr(energy, part) * pue.point for name, part in COMPONENTS.items()}
    columns["energy_kwh"] = sum(columns.values())
    columns["co2e_kg"] = columns["energy_kwh"] * grid_kg
    columns["co2e_market_kg"] = columns["energy_kwh"] * setting.grid_arrays["market_kgco2e_per_kwh"][codes.grid]
    columns["embodied_co2e_kg"] = energy.embodied_co2e_kg
    columns["co2e_kg_low"] = energy.low * (1 - power_spread) * pue.low * grid_kg * (1 - grid_spread)
    columns["co2e_kg_high"] = energy.high * (1 + power_spread) * pue.high * grid_kg * (1 + grid_spread)
    columns["gco2e_per_1k_invocations"] = per_thousand_invocations(
        columns["co2e_kg"] + energy.embodied_co2e_kg, usage["invocations"]
    )
    return columns


COMPONENTS = {"cpu_kwh": "cpu", "gpu_kwh": "gpu", "memory_kwh": "memory", "accelerator_kwh": "accelerator"}


def per_thousand_invocations(co2e_kg: np.ndarray, invocations: np.ndarray) -> np.ndarray:
    """SCI = (E x I + M) per R with R = 1,000 inferences, in grams; NaN where invocations are unknown or zero."""
    counted = invocations > 0
    grams: np.ndarray = np.divide(co2e_kg * 1000 * 1000, invocations, out=np.full_like(co2e_kg, np.nan), where=counted)
    return grams


def estimate_block(usage: dict[str, np.ndarray], codes: Codes, setting: Setting) -> dict[str, np.ndarray]:
    """All numeric output columns of one block of rows."""
    energy = instance_energy(usage, codes, setting)
    if codes.serverless.any():
        add_serverless(energy, usage, codes, setting)
    return emissions(energy, usage, codes, setting)
