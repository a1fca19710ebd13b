"""Monthly footprint and cost of a variant's observed hours on some hardware, and of stored bytes.

A proposed configuration is priced by replaying the same hours through the estimator: the work done each hour
(vCPU-, GPU- and GB-equivalents) stays the same and is spread over the proposed hardware, so utilization rises
on a smaller instance (capped at 100 %). Both sides go through the same estimator, so their difference is
consistent even where the absolute numbers carry the methodology's uncertainty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

import estimator
from dashboard.footprint.price_book import last_loaded, storage_usd
from dashboard.recommend.draft import HOURS_PER_MONTH, Saving
from estimator.catalog import hardware

GIB = 1 << 30


def capacity(instance_type: str) -> dict:
    """vCPUs, GPUs (or accelerators) and memory (GB) of one instance."""
    row = hardware(instance_type)
    return {
        "vcpus": float(row["vcpus"]),
        "gpus": float(row["gpu_count"] or 0),
        "accelerators": float(row["accelerator_count"] or 0),
        "memory_gb": float(row["memory_gb"]),
    }


def work(hours: pd.DataFrame, instance_type: str) -> pd.DataFrame:
    """Per hour: vCPUs, GPUs and GB of memory actually busy, from normalised utilization and instances."""
    size = capacity(instance_type)
    instances = hours["instance_hours"]
    return pd.DataFrame(
        {
            "cpu": hours["cpu_util_pct"].fillna(0) / 100 * size["vcpus"] * instances,
            "gpu": hours["gpu_util_pct"].fillna(0) / 100 * max(size["gpus"], size["accelerators"]) * instances,
            "memory_gb": hours["memory_util_pct"].fillna(0) / 100 * size["memory_gb"] * instances,
        }
    )


def replay(
    hours: pd.DataFrame, current_type: str, proposed_type: str, instances: pd.Series | float, region: str
) -> pd.DataFrame:
    """The estimator's input for these hours run on ``instances`` x ``proposed_type``."""
    busy = work(hours, current_type)
    size = capacity(proposed_type)
    count = pd.Series(instances, index=hours.index, dtype=float) if np.isscalar(instances) else instances
    units = count.where(count > 0)

    def pct(amount, per_instance):
        return (
            (100 * amount / (per_instance * units)).clip(upper=100)
            if per_instance
            else pd.Series(np.nan, index=hours.index)
        )

    return pd.DataFrame(
        {
            "instance_type": proposed_type,
            "region": region,
            "hours": 1.0,
            "instance_count": count.astype(float),
            "cpu_util_pct": pct(busy["cpu"], size["vcpus"]).fillna(0.0),
            "gpu_util_pct": pct(busy["gpu"], max(size["gpus"], size["accelerators"])),
            "memory_util_pct": pct(busy["memory_gb"], size["memory_gb"]),
            "invocations": hours["invocations"].astype(float),
        }
    )


def monthly(frame: pd.DataFrame, observed_hours: int) -> Saving:
    """Footprint and on-demand cost of an estimator input, scaled from ``observed_hours`` to a month."""
    if frame.empty or not observed_hours:
        return Saving(0.0, 0.0, 0.0, 0.0, 0.0)
    out = estimator.estimate(frame)
    scale = HOURS_PER_MONTH / observed_hours
    embodied = out["embodied_co2e_kg"].sum()
    # The one cost function's prices (collected from the AWS Price List first, the shipped table as fallback), at
    # today's price: a proposal pays the price in effect now.
    now = pd.Series(pd.Timestamp.now(tz="UTC").tz_localize(None), index=range(len(frame)), dtype="datetime64[ns]")
    hourly, _ = last_loaded().hourly_usd(frame["instance_type"], frame["region"], now)
    cost = (hourly * frame["instance_count"].to_numpy(dtype=float)).sum()
    return Saving(
        kwh=float(out["energy_kwh"].sum() * scale),
        co2e_kg=float((out["co2e_kg"].sum() + embodied) * scale),
        co2e_kg_low=float((out["co2e_kg_low"].sum() + embodied) * scale),
        co2e_kg_high=float((out["co2e_kg_high"].sum() + embodied) * scale),
        usd=None if np.isnan(hourly).any() else float(cost * scale),
    )


def storage_monthly(service: str, storage_class: str, stored_bytes: float, region: str) -> Saving:
    """A month of keeping ``stored_bytes`` (``service`` "logs" or "s3"): energy, CO2e and list price, at today's
    price as the storage page prices a snapshot of today (``price_book.storage_usd``: collected from the AWS Price
    List first, the shipped table as fallback; the book ``engine.recompute`` loaded)."""
    frame = pd.DataFrame(
        [
            {
                "service": service,
                "storage_class": storage_class or "STANDARD",
                "stored_bytes": float(stored_bytes),
                "hours": float(HOURS_PER_MONTH),
                "region": region,
            }
        ]
    )
    out = estimator.estimate_storage(frame).iloc[0]
    price, _ = storage_usd(service, storage_class or "STANDARD", region)
    return Saving(
        kwh=float(out["storage_kwh"]),
        co2e_kg=float(out["co2e_kg"]),
        co2e_kg_low=float(out["co2e_kg_low"]),
        co2e_kg_high=float(out["co2e_kg_high"]),
        usd=None if price is None else float(price * stored_bytes / GIB),
    )
