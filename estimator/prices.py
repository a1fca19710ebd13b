"""List prices in USD from ``estimator/data/prices.csv``: SageMaker real-time instances, serverless compute, storage.

Pure pandas, no Django. The table is read once (cached). Every price is an on-demand *list* price for one region,
with its source and the date that source states (or, when it states none, the date it was retrieved): no savings
plans, reserved capacity, free tier or negotiated discounts. A type, class or region the table lacks gives
``None`` (scalar lookups) or NaN (vectorised lookups), never an error.

    cost_usd = instance_hours * hourly_usd(instance_types, regions)

This is the **offline fallback**: the dashboard prices hours from the prices collected from the AWS Price List
first (``collectors/prices.py``, ``dashboard/footprint/price_book.py``) and asks this table only for a type and
region never collected.
"""

from functools import cache

import numpy as np
import pandas as pd

from estimator.tables import read_table

INSTANCE_SERVICE = "sagemaker-inference"
SERVERLESS_SERVICE = "sagemaker-serverless"
LOGS_SERVICE = "cloudwatch-logs"
S3_SERVICE = "s3"

# Names callers may use for the storage services (``estimator.storage`` says "logs" and "s3").
STORAGE_SERVICES = {"logs": LOGS_SERVICE, "cloudwatch-logs": LOGS_SERVICE, "cloudwatch": LOGS_SERVICE, "s3": S3_SERVICE}

UNITS = {INSTANCE_SERVICE: "hour", SERVERLESS_SERVICE: "gb-second", LOGS_SERVICE: "gb-month", S3_SERVICE: "gb-month"}


@cache
def _prices() -> pd.DataFrame:
    frame = read_table("prices", dtype={"usd": float, "source_date": str})
    for column in ("service", "sku", "region", "unit", "date_basis"):
        frame[column] = frame[column].astype(str).str.strip()
    frame["region"] = frame["region"].str.lower()
    if frame.duplicated(["service", "sku", "region"]).any():
        raise ValueError("prices.csv lists a (service, sku, region) twice")
    if not (frame["usd"] > 0).all():
        raise ValueError("prices.csv: every usd must be positive")
    if (frame["service"].map(UNITS) != frame["unit"]).any():
        raise ValueError(f"prices.csv: units must be {UNITS}")
    return frame


def price_table() -> pd.DataFrame:
    """The whole table, one row per (service, sku, region), with its source and source date (a copy)."""
    return _prices().copy()


def _as_of() -> str:
    """The most recent date a source states (retrieval dates of undated sources are left out)."""
    frame = _prices()
    stated = frame.loc[frame["date_basis"] == "stated", "source_date"]
    return str(max(stated if len(stated) else frame["source_date"]))


PRICES_AS_OF = _as_of()


def _instance_type(value: object) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    name = value.strip().lower()
    return name if name.startswith("ml.") else f"ml.{name}"


def _region(value: object) -> str | None:
    return value.strip().lower() if isinstance(value, str) and value.strip() else None


@cache
def _hourly() -> pd.Series:
    frame = _prices()
    frame = frame[frame["service"] == INSTANCE_SERVICE]
    return frame.set_index(["sku", "region"])["usd"]


def hourly_usd(instance_types: pd.Series, regions: pd.Series | str) -> pd.Series:
    """On-demand USD per instance-hour of each (instance type, region) pair; NaN where the table has no price.

    ``ml.`` prefix and case are optional. ``regions`` is a Series of the same length (matched by position)
    or one region for all rows. The result keeps ``instance_types``' index.
    """
    types = [_instance_type(value) for value in instance_types.tolist()]
    if isinstance(regions, str):
        places = [_region(regions)] * len(types)
    else:
        if len(regions) != len(types):
            raise ValueError("instance_types and regions differ in length")
        places = [_region(value) for value in list(regions)]
    prices = _hourly()
    keys = pd.MultiIndex.from_arrays([[t or "" for t in types], [r or "" for r in places]])
    position = prices.index.get_indexer(keys)
    values = np.where(position >= 0, prices.to_numpy()[position], np.nan)
    return pd.Series(values, index=instance_types.index, name="hourly_usd", dtype=float)


def instance_hour_usd(instance_type: str, region: str) -> float | None:
    """On-demand USD per hour of one SageMaker real-time instance in one region; ``None`` if unknown."""
    name, place = _instance_type(instance_type), _region(region)
    if name is None or place is None:
        return None
    price = _hourly().get((name, place))
    return None if price is None else float(price)


def serverless_usd_per_gb_second(region: str) -> float | None:
    """SageMaker Serverless Inference compute, USD per GB of configured memory per second; ``None`` if unknown."""
    frame = _prices()
    rows = frame[(frame["service"] == SERVERLESS_SERVICE) & (frame["region"] == _region(region))]
    return float(rows["usd"].iloc[0]) if len(rows) else None


def storage_usd_per_gb_month(service: str, storage_class: str, region: str) -> float | None:
    """Stored-data price in USD per GB-month; ``None`` if unknown.

    ``service`` is ``"s3"`` (``storage_class`` e.g. ``STANDARD``, ``GLACIER_IR``; Intelligent-Tiering is its
    frequent-access tier) or ``"logs"`` (CloudWatch Logs: one stored-data price, whatever the class).
    """
    name = STORAGE_SERVICES.get(service.strip().lower()) if isinstance(service, str) else None
    place = _region(region)
    if name is None or place is None:
        return None
    frame = _prices()
    rows = frame[(frame["service"] == name) & (frame["region"] == place)]
    if name == S3_SERVICE:
        if not isinstance(storage_class, str):
            return None
        rows = rows[rows["sku"] == storage_class.strip().upper()]
    else:
        rows = rows.sort_values("sku", key=lambda sku: sku != "STANDARD", kind="stable")
    return float(rows["usd"].iloc[0]) if len(rows) else None
