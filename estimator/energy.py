"""Operational energy and emissions of a block of usage rows, fully vectorised (no per-row Python).

Energies here are IT energy in kWh (before PUE) unless named otherwise; ``low``/``high`` are the bounds of the
documented uncertainty range before the relative power uncertainty is applied.
"""

from dataclasses import dataclass

import numpy as np

from estimator.profiles import BREAKPOINTS
from estimator.setting import INNER_BREAKPOINTS, Setting
from estimator.tables import constant

KWH_PER_WH = 1 / 1000
MS_PER_HOUR = 3_600_000
BREAKPOINT_ARRAY = np.array(BREAKPOINTS)
SEGMENTS = len(BREAKPOINTS) - 1


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


def host_watts(
    util_pct: np.ndarray, rows: np.ndarray, watts: dict[str, np.ndarray], part: str, default_pct: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, low, high) watts per instance of the host's ``part`` (``cpu`` or ``memory``), piecewise linear in
    CPU utilization between the profile's breakpoints.

    An unknown utilization (NaN) costs the default utilization at the point, 0 % at low and 100 % at high, and,
    for the CPU, the profile's ``cpu_unmetered_scale`` (CCF's burstable baseline rule; 1 elsewhere)."""
    segment = np.searchsorted(INNER_BREAKPOINTS, util_pct, side="right")  # NaN sorts last: fixed up below
    flat = rows * SEGMENTS + segment
    point = watts[f"{part}_start"][flat]
    point += (util_pct - BREAKPOINT_ARRAY[segment]) * watts[f"{part}_slope"][flat]
    missing = np.flatnonzero(np.isnan(util_pct))
    if not len(missing):
        return point, point, point
    low, high = point.copy(), point.copy()
    points = watts[f"{part}_points"][rows[missing]]
    scale = watts["cpu_unmetered_scale"][rows[missing]] if part == "cpu" else 1.0
    point[missing] = scale * interpolate_rows(points, default_pct)
    low[missing] = scale * points[:, 0]
    high[missing] = scale * points[:, -1]
    return point, low, high


def interpolate_rows(points: np.ndarray, util_pct: float) -> np.ndarray:
    """Each row of ``points`` (watts at ``BREAKPOINTS``) at one utilization."""
    segment = int(np.searchsorted(INNER_BREAKPOINTS, util_pct, side="right"))
    slope = (points[:, segment + 1] - points[:, segment]) / (BREAKPOINTS[segment + 1] - BREAKPOINTS[segment])
    values: np.ndarray = points[:, segment] + (util_pct - BREAKPOINTS[segment]) * slope
    return values


def device_watts(
    util_pct: np.ndarray, rows: np.ndarray, watts: dict[str, np.ndarray], default_pct: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(point, low, high) watts per instance of its GPUs or accelerators, linear in utilization from idle to board
    power: the point from parked idle (a model loaded), low from bare idle, high from the parked range's top.

    An unknown utilization costs the default utilization at the point, bare idle at low and board power at high."""
    share = util_pct / 100
    idle, span = watts["device_idle"][rows], watts["device_span"][rows]
    point = idle + span * share
    away_from_idle = 1 - share
    low = point - watts["device_below"][rows] * away_from_idle
    high = point + watts["device_above"][rows] * away_from_idle
    missing = np.flatnonzero(np.isnan(share))
    if len(missing):
        point[missing] = idle[missing] + span[missing] * default_pct / 100
        low[missing] = idle[missing] - watts["device_below"][rows[missing]]
        high[missing] = idle[missing] + span[missing]
    return point, low, high


def instance_energy(usage: dict[str, np.ndarray], codes: Codes, setting: Setting) -> ItEnergy:
    """CPU, GPU, accelerator and memory energy of instance rows (serverless rows come out as zero)."""
    watts, rows = setting.instance_watts, codes.type
    hours = usage["hours"] * np.nan_to_num(usage["instance_count"])
    hours[codes.serverless] = 0.0
    kwh_per_watt = hours * KWH_PER_WH
    default_pct = constant("default_util_pct")
    cpu_util = usage["cpu_util_pct"]
    cpu = host_watts(cpu_util, rows, watts, "cpu", default_pct)
    memory = host_watts(cpu_util, rows, watts, "memory", default_pct)  # RAM power follows CPU load (Teads)
    device = device_watts(usage["gpu_util_pct"], rows, watts, default_pct)
    device_kwh = device[0] * kwh_per_watt
    gpu = np.where(watts["device_is_gpu"][rows], device_kwh, 0.0)
    return ItEnergy(
        cpu[0] * kwh_per_watt,
        gpu,
        memory[0] * kwh_per_watt,
        device_kwh - gpu,
        (cpu[1] + device[1] + memory[1]) * kwh_per_watt,
        (cpu[2] + device[2] + memory[2]) * kwh_per_watt,
        hours * watts["embodied_kg_per_hour"][rows],
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
    grid = setting.grid_arrays
    pue = grid["pue"][codes.grid]
    power_spread = setting.instance_watts["power_uncertainty"][codes.type]
    columns = {name: getattr(energy, part) * pue for name, part in COMPONENTS.items()}
    columns["energy_kwh"] = sum(columns.values())
    columns["co2e_kg"] = columns["energy_kwh"] * grid["kgco2e_per_kwh"][codes.grid]
    columns["co2e_market_kg"] = columns["energy_kwh"] * grid["market_kgco2e_per_kwh"][codes.grid]
    columns["embodied_co2e_kg"] = energy.embodied_co2e_kg
    columns["co2e_kg_low"] = energy.low * (1 - power_spread) * grid["low_kg_per_it_kwh"][codes.grid]
    columns["co2e_kg_high"] = energy.high * (1 + power_spread) * grid["high_kg_per_it_kwh"][codes.grid]
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
