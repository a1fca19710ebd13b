"""Benchmark the estimator at fleet scale: one year of hourly rows for 1,000 variants through ``default``.

Prints, in one run on the same 8.76 million rows:
- the product's rows per second (``estimate()``: validation, every component, ranges, provenance), CPU time of
  this process, best of 3;
- the bare vectorised formula's rows per second on the same arrays (numpy only: energy, CO2e and embodied, the
  arithmetic floor of the same model), CPU time, best of 3, and the ratio product / bare (target >= 0.25);
- peak RSS of this process through ``estimate()`` (the input frame, its temporaries and its output; target
  < 2 GB), and of the whole benchmark;
- the speed-up over a plain per-row Python loop of the same formula, timed on a sample and extrapolated.

Exits 1 when a target is missed.

    python bench/bench_estimate.py [--variants 1000] [--hours 8760] [--loop-sample 50000] [--repeat 3]
"""

import argparse
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from estimator import estimate  # noqa: E402
from estimator.catalog import ec2_type, instance_catalog  # noqa: E402
from estimator.factors import Factors, grid_factors  # noqa: E402
from estimator.methods import METHODOLOGIES  # noqa: E402
from estimator.profiles import BREAKPOINTS, CPU_WATTS, MEMORY_WATTS, shipped_profiles  # noqa: E402
from estimator.tables import constant  # noqa: E402

# A realistic SageMaker mix: mostly CPU and small GPU endpoints, a few large GPU and Inferentia ones.
TYPE_WEIGHTS = {
    "ml.m5.large": 8,
    "ml.m5.xlarge": 10,
    "ml.m5.2xlarge": 6,
    "ml.c5.xlarge": 8,
    "ml.c5.2xlarge": 5,
    "ml.c6i.xlarge": 5,
    "ml.m6i.xlarge": 4,
    "ml.c7g.xlarge": 3,
    "ml.m6g.large": 3,
    "ml.t2.medium": 2,
    "ml.r5.xlarge": 2,
    "ml.g4dn.xlarge": 9,
    "ml.g4dn.2xlarge": 3,
    "ml.g4dn.12xlarge": 1,
    "ml.g5.xlarge": 8,
    "ml.g5.2xlarge": 5,
    "ml.g5.12xlarge": 2,
    "ml.g6.xlarge": 3,
    "ml.p3.2xlarge": 2,
    "ml.p4d.24xlarge": 1,
    "ml.inf1.xlarge": 2,
    "ml.inf2.xlarge": 3,
    "ml.inf2.8xlarge": 1,
    "ml.trn1.2xlarge": 1,
}
DEFAULT_PCT = constant("default_util_pct")  # what an unknown utilization is costed at
TARGET_RATIO = 0.25  # the product's rows/s as a share of the bare formula's, same arrays, same run
TARGET_RSS_MB = 2048
REGION_WEIGHTS = {
    "us-east-1": 35,
    "us-west-2": 20,
    "eu-west-1": 15,
    "eu-central-1": 10,
    "ap-northeast-1": 6,
    "ap-southeast-2": 4,
    "eu-north-1": 4,
    "ap-south-1": 3,
    "me-central-1": 2,
    "sa-east-1": 1,
}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def variants(count: int, rng: np.random.Generator) -> pd.DataFrame:
    """One row per variant: instance type, region, instance count and its load level."""

    def pick(weights: dict) -> np.ndarray:
        probabilities = np.array(list(weights.values()), dtype=float)
        return rng.choice(list(weights), size=count, p=probabilities / probabilities.sum())

    return pd.DataFrame(
        {
            "instance_type": pick(TYPE_WEIGHTS),
            "region": pick(REGION_WEIGHTS),
            "instance_count": rng.integers(1, 5, count).astype(float),
            "load_pct": rng.uniform(2, 70, count),
        }
    )


def usage_frame(variant: pd.DataFrame, hours: int, rng: np.random.Generator) -> pd.DataFrame:
    """Hourly rows of every variant with random utilizations and some missing metrics (as collected)."""
    rows = len(variant) * hours
    index = np.repeat(np.arange(len(variant)), hours)
    load = variant["load_pct"].to_numpy()[index]
    gpu_types = {name for name in TYPE_WEIGHTS if instance_catalog().loc[ec2_type(name), "gpu_count"] > 0}
    has_gpu = variant["instance_type"].isin(gpu_types).to_numpy()[index]
    cpu = np.clip(load * rng.uniform(0.5, 1.5, rows), 0, 100)
    cpu[rng.random(rows) < 0.01] = np.nan
    gpu = np.where(has_gpu, np.clip(load * rng.uniform(0.3, 1.7, rows), 0, 100), np.nan)
    return pd.DataFrame(
        {
            "instance_type": pd.Categorical(variant["instance_type"].to_numpy()[index]),
            "region": pd.Categorical(variant["region"].to_numpy()[index]),
            "hours": np.ones(rows),
            "instance_count": variant["instance_count"].to_numpy()[index],
            "cpu_util_pct": cpu,
            "gpu_util_pct": gpu,
            "memory_util_pct": rng.uniform(10, 90, rows),
            "invocations": np.floor(load * rng.uniform(0, 200, rows)),
        }
    )


def model_tables(method) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The methodology's per-type profiles and per-region grid/PUE rows (the published tables, resolved)."""
    return shipped_profiles(method, constant("embodied_lifetime_hours")), grid_factors(method, Factors())


def loop_estimate(rows: list[dict]) -> list[tuple]:
    """The same ``default`` formula, one row at a time in plain Python (the baseline to beat): (kWh, CO2e kg)."""
    profiles, grid = model_tables(METHODOLOGIES["default"])
    profile_rows, grid_rows = profiles.to_dict("index"), grid.to_dict("index")
    return [loop_row(row, profile_rows, grid_rows) for row in rows]


def loop_row(row: dict, profiles: dict, grid: dict) -> tuple:
    profile = profiles.get(ec2_type(row["instance_type"]), profiles["(unknown)"])
    region = grid.get(row["region"], grid["*"])
    instance_hours = row["hours"] * row["instance_count"]
    cpu_util = DEFAULT_PCT if math.isnan(row["cpu_util_pct"]) else row["cpu_util_pct"]
    gpu_share = DEFAULT_PCT / 100 if math.isnan(row["gpu_util_pct"]) else row["gpu_util_pct"] / 100
    watts = interpolate(cpu_util, BREAKPOINTS, [profile[name] for name in CPU_WATTS])
    watts += interpolate(cpu_util, BREAKPOINTS, [profile[name] for name in MEMORY_WATTS])
    for prefix in ("gpu", "acc"):
        idle = profile[f"{prefix}_idle_watts"]
        watts += profile[f"{prefix}_count"] * (idle + gpu_share * (profile[f"{prefix}_board_watts"] - idle))
    energy_kwh = watts * instance_hours * region["pue"] / 1000
    return energy_kwh, energy_kwh * region["kgco2e_per_kwh"]


def bare_inputs(frame: pd.DataFrame) -> dict:
    """What the bare formula needs, per row as arrays and per type/region as small lookup tables (built outside
    its timing, like the product's tables, which are loaded once per process)."""
    profiles, grid = model_tables(METHODOLOGIES["default"])
    types = frame["instance_type"].cat.categories
    regions = [region if region in grid.index else "*" for region in frame["region"].cat.categories]
    table = profiles.loc[[ec2_type(name) if ec2_type(name) in profiles.index else "(unknown)" for name in types]]
    region_table = grid.loc[regions]

    def devices(column: str) -> np.ndarray:
        return (table["gpu_count"] * table[f"gpu_{column}"] + table["acc_count"] * table[f"acc_{column}"]).to_numpy()

    return {
        "type": frame["instance_type"].cat.codes.to_numpy(),
        "region": frame["region"].cat.codes.to_numpy(),
        "instance_hours": frame["hours"].to_numpy() * frame["instance_count"].to_numpy(),
        "cpu": frame["cpu_util_pct"].to_numpy(),
        "gpu": frame["gpu_util_pct"].to_numpy(),
        "host": table[list(CPU_WATTS)].to_numpy() + table[list(MEMORY_WATTS)].to_numpy(),
        "device": {name: devices(name) for name in ("idle_watts", "idle_low_watts", "idle_high_watts", "board_watts")},
        "embodied": table["embodied_kg_per_hour"].to_numpy(),
        "pue": region_table["pue"].to_numpy(),
        "location": region_table["kgco2e_per_kwh"].to_numpy(),
        "market": region_table["market_kgco2e_per_kwh"].to_numpy(),
    }


def bare_estimate(inputs: dict) -> tuple[np.ndarray, ...]:
    """The 2.0 formula with numpy and nothing else: host watts interpolated between four breakpoints, devices
    from parked idle to board power with the range's bare and parked-high idles, PUE by region, location and
    market CO2e, embodied. Returns (kWh, location CO2e kg, market CO2e kg, low kWh, high kWh, embodied kg)."""
    kind, region = inputs["type"], inputs["region"]
    cpu = np.nan_to_num(inputs["cpu"], nan=DEFAULT_PCT)
    segment = np.searchsorted(np.array(BREAKPOINTS[1:-1]), cpu, side="right")
    host = inputs["host"]
    left, right = host[kind, segment], host[kind, segment + 1]
    lower = np.array(BREAKPOINTS)[segment]
    watts = left + (right - left) * (cpu - lower) / (np.array(BREAKPOINTS)[segment + 1] - lower)
    share = np.nan_to_num(inputs["gpu"], nan=DEFAULT_PCT) / 100
    device = {name: values[kind] for name, values in inputs["device"].items()}
    board = device["board_watts"]
    low_watts = watts + device["idle_low_watts"] + share * (board - device["idle_low_watts"])
    high_watts = watts + device["idle_high_watts"] + share * (board - device["idle_high_watts"])
    watts += device["idle_watts"] + share * (board - device["idle_watts"])
    kwh_per_watt = inputs["instance_hours"] / 1000
    energy_kwh = watts * kwh_per_watt * inputs["pue"][region]
    return (
        energy_kwh,
        energy_kwh * inputs["location"][region],
        energy_kwh * inputs["market"][region],
        low_watts * kwh_per_watt,
        high_watts * kwh_per_watt,
        inputs["embodied"][kind] * inputs["instance_hours"],
    )


def best_cpu_seconds(run, repeat: int) -> tuple[float, object]:
    """The least CPU time of ``repeat`` runs (process time: another process on the machine does not count)."""
    best, result = math.inf, None
    for _ in range(repeat):
        result = None  # the previous run's output is freed first, as a caller that keeps one would
        start = time.process_time()
        result = run()
        best = min(best, time.process_time() - start)
    return best, result


def interpolate(x: float, xs: tuple, ys: tuple) -> float:
    """Piecewise-linear interpolation in plain Python (no numpy call per row)."""
    points = list(zip(xs, ys, strict=True))
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0)
    return ys[-1]


def main() -> None:
    cli = argparse.ArgumentParser(description=__doc__)
    cli.add_argument("--variants", type=int, default=1000)
    cli.add_argument("--hours", type=int, default=8760)
    cli.add_argument("--loop-sample", type=int, default=50_000)
    cli.add_argument("--repeat", type=int, default=3, help="runs of each timed step; the best CPU time counts")
    arguments = cli.parse_args()
    rng = np.random.default_rng(7)
    frame = usage_frame(variants(arguments.variants, rng), arguments.hours, rng)
    estimate(frame.head(1000))  # load tables and build profiles outside the timing
    print(
        f"rows: {len(frame):,} ({arguments.variants:,} variants x {arguments.hours:,} hours), "
        f"{frame['instance_type'].nunique()} instance types, {frame['region'].nunique()} regions"
    )
    vector_seconds, result = best_cpu_seconds(lambda: estimate(frame, "default"), arguments.repeat)
    product_rate = len(frame) / vector_seconds
    print(f"estimate(default): {vector_seconds:.2f} s CPU, {product_rate:,.0f} rows/s (best of {arguments.repeat})")
    print(
        f"methodology default {METHODOLOGIES['default'].version}; total: {result['energy_kwh'].sum():,.0f} kWh, "
        f"{result['co2e_kg'].sum() / 1000:,.1f} t CO2e location-based, "
        f"{result['co2e_market_kg'].sum() / 1000:,.1f} t market-based"
    )
    rss = peak_rss_mb()  # the input frame, estimate()'s temporaries and its output: what the product needs
    inputs = bare_inputs(frame)
    bare_seconds, bare = best_cpu_seconds(lambda: bare_estimate(inputs), arguments.repeat)
    bare_rate = len(frame) / bare_seconds
    agree = max(
        np.max(np.abs(bare[index] / result[column].to_numpy() - 1))
        for index, column in enumerate(("energy_kwh", "co2e_kg"))
    )
    market = result["co2e_market_kg"].to_numpy()
    agree = max(agree, np.max(np.abs(bare[2] - market) / np.maximum(market, 1e-12)))
    print(
        f"bare vectorised formula (numpy, same arrays): {bare_seconds:.2f} s CPU, {bare_rate:,.0f} rows/s; "
        f"energy, location and market CO2e agree with estimate() within {agree:.1e}"
    )
    ratio = product_rate / bare_rate
    print(f"product / bare: {ratio:.2f} (target >= {TARGET_RATIO}) {'ok' if ratio >= TARGET_RATIO else 'MISSED'}")
    sample = frame.head(arguments.loop_sample).astype({"instance_type": str, "region": str}).to_dict("records")
    start = time.perf_counter()
    looped = loop_estimate(sample)
    loop_seconds = (time.perf_counter() - start) * len(frame) / len(sample)
    difference = np.max(np.abs(np.array([row[0] for row in looped]) / result["energy_kwh"][: len(sample)] - 1))
    print(f"loop and vectorised energy agree on the sample: max relative difference {difference:.1e}")
    print(
        f"per-row Python loop: {len(sample):,}-row sample timed, extrapolated to {len(frame):,} rows: "
        f"{loop_seconds:.0f} s ({len(frame) / loop_seconds:,.0f} rows/s)"
    )
    print(f"speed-up over the loop: {loop_seconds / vector_seconds:,.0f}x")
    print(
        f"peak RSS through estimate() (input, temporaries, output): {rss:,.0f} MB (target < {TARGET_RSS_MB:,} MB) "
        f"{'ok' if rss < TARGET_RSS_MB else 'MISSED'}; whole benchmark (with the bare formula and the loop "
        f"sample): {peak_rss_mb():,.0f} MB"
    )
    if ratio < TARGET_RATIO or rss >= TARGET_RSS_MB or agree > 1e-9:
        sys.exit(1)


if __name__ == "__main__":
    main()
