"""Hourly on-demand prices with history: collected from the AWS Price List first, the shipped table as fallback.

An instance-hour at time ``t`` is priced by the collected price (``collectors.Price``) of its type and region whose
effective date is the latest not after ``t``; hours before the earliest collected price of that type and region use
the earliest. Where nothing was collected for a type and region, the shipped table (``estimator.prices``) prices
it. ``source`` says which did: ``COLLECTED`` or ``SHIPPED`` (None where neither has a price).

Loading the book is one query; ``queries.with_cost`` loads it once per call, vectorised over a frame.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db.models import Max

from collectors.models import Price
from estimator import prices as shipped

COLLECTED, SHIPPED = "aws-price-list", "shipped table"
LABELS = {COLLECTED: "AWS Price List", SHIPPED: "shipped table (offline fallback)"}
_last = threading.local()


@dataclass(frozen=True)
class PriceBook:
    hourly: pd.DataFrame  # sku, region, effective (naive UTC datetime64), usd; sorted by effective
    collected_at: dt.datetime | None

    @classmethod
    def load(cls) -> PriceBook:
        rows = Price.objects.filter(service=shipped.INSTANCE_SERVICE, unit="hour").values_list(
            "sku", "region", "effective_date", "usd", "collected_at"
        )
        frame = pd.DataFrame.from_records(list(rows), columns=["sku", "region", "effective", "usd", "collected_at"])
        collected_at = frame["collected_at"].max() if len(frame) else None
        frame["effective"] = pd.to_datetime(frame["effective"], utc=True).dt.tz_localize(None).astype("datetime64[ns]")
        frame["usd"] = frame["usd"].astype(float)
        book = cls(frame.drop(columns="collected_at").sort_values("effective", kind="stable"), collected_at)
        _last.book = book
        return book

    def change_times(self) -> list[dt.datetime]:
        """When a collected price replaced an earlier one of the same type and region."""
        later = self.hourly.duplicated(["sku", "region"], keep="first")
        return sorted(self.hourly.loc[later, "effective"].dt.to_pydatetime())

    def hourly_usd(self, instance_types: pd.Series, regions: pd.Series, at: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """(USD per instance-hour, source) per row, by position; NaN / None where no price is known."""
        left = pd.DataFrame(
            {
                "sku": _normalised_types(instance_types),
                "region": _normalised(regions),
                "at": at.astype("datetime64[ns]").to_numpy(),
            }
        )
        left["position"] = np.arange(len(left))
        collected = self._as_of(left)
        fallback = shipped.hourly_usd(instance_types.reset_index(drop=True), regions.reset_index(drop=True))
        usd = np.where(np.isnan(collected), fallback.to_numpy(dtype=float), collected)
        source = np.where(~np.isnan(collected), COLLECTED, np.where(np.isnan(usd), None, SHIPPED))
        return usd, source

    def _as_of(self, left: pd.DataFrame) -> np.ndarray:
        if self.hourly.empty or left.empty:
            return np.full(len(left), np.nan)
        left = left.sort_values("at", kind="stable")
        book = self.hourly.rename(columns={"effective": "at"})
        before = pd.merge_asof(left, book, on="at", by=["sku", "region"], direction="backward")
        earliest = pd.merge_asof(left, book, on="at", by=["sku", "region"], direction="forward")
        usd = before["usd"].fillna(earliest["usd"]).to_numpy(dtype=float)
        result = np.empty(len(left))
        result[left["position"].to_numpy()] = usd
        return result


def _normalised(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.strip().str.lower().reset_index(drop=True)


def _normalised_types(values: pd.Series) -> pd.Series:
    names = _normalised(values)
    return names.where(names.str.startswith("ml.") | (names == ""), "ml." + names)


def times(frame: pd.DataFrame, now: dt.datetime) -> pd.Series:
    """When each row's instance-hours ran, as naive UTC: its hour, day, bucket or month; ``now`` without one."""
    for column in ("hour", "time", "day", "bucket", "month"):
        if column in frame.columns:
            stamps = pd.to_datetime(frame[column], utc=True)
            return stamps.dt.tz_localize(None).astype("datetime64[ns]").reset_index(drop=True)
    stamp = pd.Timestamp(now)
    stamp = stamp.tz_convert(None) if stamp.tzinfo else stamp
    return pd.Series([stamp] * len(frame), dtype="datetime64[ns]")


def last_loaded() -> PriceBook:
    """The book this thread loaded last (by ``with_cost``), else a fresh one: row-by-row pricing after a frame's
    (the FOCUS export) then costs no query per row."""
    book = getattr(_last, "book", None)
    return book if book is not None else PriceBook.load()


def label(sources: pd.Series, collected_at: dt.datetime | None) -> str:
    """What priced a set of rows, for the pages: "AWS Price List, collected <date>", the shipped table, or both."""
    found = {source for source in sources.dropna().unique()}
    parts = []
    if COLLECTED in found and collected_at is not None:
        parts.append(f"{LABELS[COLLECTED]}, collected {collected_at:%Y-%m-%d}")
    if SHIPPED in found:
        parts.append(LABELS[SHIPPED])
    return " + ".join(parts)


def latest_collection() -> dt.datetime | None:
    return Price.objects.aggregate(at=Max("collected_at"))["at"]
