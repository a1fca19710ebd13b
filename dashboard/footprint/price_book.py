"""On-demand list prices with history: collected from the AWS Price List first, the shipped table as fallback.

The book holds every collected price the product uses: SageMaker real-time instance-hours (per type and region),
Serverless Inference (per GB-second of configured memory and per request, per region) and storage (CloudWatch
Logs and S3, per GB-month, per storage class and region). A quantity at time ``t`` is priced by the collected
price (``collectors.Price``) of its key and region whose effective date is the latest not after ``t``; times before
the earliest collected price of that key and region use the earliest. Where nothing was collected for a key and
region, the shipped table (``estimator.prices``) prices it. ``source`` says which did: ``COLLECTED`` or
``SHIPPED`` (None where neither has a price).

Loading the book is one query; ``queries.with_cost`` loads it once per call, vectorised over a frame; the storage
page and the storage recommendations' savings price stored bytes with ``storage_usd`` (one definition).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db.models import Max

from collectors.models import Price
from collectors.prices import KIND_SERVICES, WORKLOAD_SERVICES
from estimator import prices as shipped

COLLECTED, SHIPPED = "aws-price-list", "shipped table"
SERVERLESS_GB_SECOND, SERVERLESS_REQUEST = "compute-gb-second", "requests"  # the collector's serverless skus
_OTHER_UNITS = {
    (shipped.SERVERLESS_SERVICE, "gb-second"),
    (shipped.SERVERLESS_SERVICE, "request"),
    (shipped.LOGS_SERVICE, "gb-month"),
    (shipped.S3_SERVICE, "gb-month"),
}
LABELS = {COLLECTED: "AWS Price List", SHIPPED: "shipped table (offline fallback)"}
_last = threading.local()


@dataclass(frozen=True)
class PriceBook:
    hourly: pd.DataFrame  # sku, region, effective (naive UTC datetime64), usd; sorted by effective
    collected_at: dt.datetime | None
    # Serverless and storage prices, the same columns; sku is "<service>/<sku>/<unit>" (``_key``).
    other: pd.DataFrame = dataclasses.field(default_factory=lambda: _empty())
    # Instance-hours of the other SageMaker components (training, processing, batch transform, notebook instances):
    # sku is "<service>/<ml.type>" (``_component_key``), plus ``source_sku``.
    components: pd.DataFrame = dataclasses.field(default_factory=lambda: _empty())

    @classmethod
    def load(cls) -> PriceBook:
        services = (shipped.INSTANCE_SERVICE, *{service for service, _ in _OTHER_UNITS}, *WORKLOAD_SERVICES)
        rows = Price.objects.filter(service__in=services).values_list(
            "service", "sku", "unit", "region", "effective_date", "usd", "collected_at", "source_sku"
        )
        columns = ["service", "sku", "unit", "region", "effective", "usd", "collected_at", "source_sku"]
        frame = pd.DataFrame.from_records(list(rows), columns=columns)
        collected_at = frame["collected_at"].max() if len(frame) else None
        frame["effective"] = pd.to_datetime(frame["effective"], utc=True).dt.tz_localize(None).astype("datetime64[ns]")
        frame["usd"] = frame["usd"].astype(float)
        frame["region"] = frame["region"].astype(str).str.lower()
        frame = frame.sort_values("effective", kind="stable")
        hosting = (frame["service"] == shipped.INSTANCE_SERVICE) & (frame["unit"] == "hour")
        known = [(service, unit) in _OTHER_UNITS for service, unit in zip(frame["service"], frame["unit"], strict=True)]
        other = frame[np.array(known, dtype=bool)]
        other = other.assign(sku=[_key(*key) for key in zip(*_columns(other), strict=True)]) if len(other) else _empty()
        hourly = frame.loc[hosting, ["sku", "region", "effective", "usd", "source_sku"]]
        workload = frame[frame["service"].isin(WORKLOAD_SERVICES) & (frame["unit"] == "hour")]
        components = workload.assign(
            sku=[
                _component_key(service, sku) for service, sku in zip(workload["service"], workload["sku"], strict=True)
            ]
        )[["sku", "region", "effective", "usd", "source_sku"]]
        book = cls(hourly, collected_at, other[_empty().columns], components)
        _last.book = book
        return book

    def change_times(self) -> list[dt.datetime]:
        """When a collected instance-hour or serverless price replaced an earlier one of the same key and region
        (the prices of rows read from the rollups; storage is priced at one moment)."""
        serverless = self.other[self.other["sku"].str.startswith(shipped.SERVERLESS_SERVICE + "/")]
        changes = []
        for table in (self.hourly, serverless):
            later = table.duplicated(["sku", "region"], keep="first")
            changes += list(table.loc[later, "effective"].dt.to_pydatetime())
        return sorted(changes)

    def storage_usd(
        self, services: pd.Series, storage_classes: pd.Series, regions: pd.Series, at: pd.Series
    ) -> tuple[np.ndarray, np.ndarray]:
        """(USD per GB-month of stored data, source) per row, by position; NaN / None where no price is known.

        ``services`` as ``estimator.prices.storage_usd_per_gb_month`` takes them ("logs", "s3", ...); CloudWatch
        Logs has one stored-data price whatever the log group's class (the collector stores it as STANDARD), S3 one
        per storage class (Intelligent-Tiering: its frequent-access tier; an empty class is STANDARD)."""
        names = _normalised(services).map(lambda name: shipped.STORAGE_SERVICES.get(name, ""))
        classes = _normalised(storage_classes).str.upper().replace("", "STANDARD")
        classes = classes.where(names != shipped.LOGS_SERVICE, "STANDARD")
        keys = pd.Series([_key(name, sku, "gb-month") for name, sku in zip(names, classes, strict=True)], dtype=object)
        collected = self._as_of(self.other, self._left(keys, regions, at))
        places = _normalised(regions)
        cache: dict[tuple[str, str, str], float] = {}
        fallback = np.array(
            [
                cache.setdefault(key, _or_nan(shipped.storage_usd_per_gb_month(*key) if key[0] else None))
                for key in zip(names, classes, places, strict=True)
            ],
            dtype=float,
        )
        return _chosen(collected, fallback)

    def serverless_usd(self, regions: pd.Series, at: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(USD per GB-second, USD per request, source) of SageMaker Serverless Inference per row, by position.

        The source is that of the GB-second price (NaN / None where no price is known). The request price is the
        collected one of the same region as of the same time, NaN where none was collected: the shipped table has
        none (AWS's public serverless pricing lists compute and data processed, not requests)."""
        places = _normalised(regions)
        compute = pd.Series([_key(shipped.SERVERLESS_SERVICE, SERVERLESS_GB_SECOND, "gb-second")] * len(places))
        requests = pd.Series([_key(shipped.SERVERLESS_SERVICE, SERVERLESS_REQUEST, "request")] * len(places))
        collected = self._as_of(self.other, self._left(compute, regions, at))
        per_request = self._as_of(self.other, self._left(requests, regions, at))
        cache: dict[str, float] = {}
        fallback = np.array(
            [cache.setdefault(p, _or_nan(shipped.serverless_usd_per_gb_second(p) if p else None)) for p in places],
            dtype=float,
        )
        usd, source = _chosen(collected, fallback)
        return usd, per_request, source

    def hourly_usd(self, instance_types: pd.Series, regions: pd.Series, at: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        """(USD per instance-hour, source) per row, by position; NaN / None where no price is known."""
        collected = self._as_of(self.hourly, self._left(_normalised_types(instance_types), regions, at))
        fallback = shipped.hourly_usd(instance_types.reset_index(drop=True), regions.reset_index(drop=True))
        return _chosen(collected, fallback.to_numpy(dtype=float))

    @staticmethod
    def _left(skus: pd.Series, regions: pd.Series, at: pd.Series) -> pd.DataFrame:
        left = pd.DataFrame(
            {
                "sku": skus.reset_index(drop=True).astype(str),
                "region": _normalised(regions),
                "at": at.astype("datetime64[ns]").to_numpy(),
            }
        )
        left["position"] = np.arange(len(left))
        return left

    @staticmethod
    def _as_of(table: pd.DataFrame, left: pd.DataFrame, column: str = "usd") -> np.ndarray:
        """The collected price (or its ``column``: ``source_sku``) of each row's sku and region in effect at its
        time (the earliest before the first)."""
        numeric = column == "usd"
        if table.empty or left.empty:
            return np.full(len(left), np.nan) if numeric else np.full(len(left), None, dtype=object)
        left = left.sort_values("at", kind="stable")
        book = table.rename(columns={"effective": "at"}).astype({"sku": str, "region": str})
        before = pd.merge_asof(left, book, on="at", by=["sku", "region"], direction="backward")
        earliest = pd.merge_asof(left, book, on="at", by=["sku", "region"], direction="forward")
        picked = before[column].where(before[column].notna(), earliest[column])
        values = picked.to_numpy(dtype=float) if numeric else picked.astype(object).where(picked.notna(), None)
        result = np.empty(len(left), dtype=float if numeric else object)
        result[left["position"].to_numpy()] = values if numeric else values.to_numpy()
        return result

    def component_usd(
        self, kinds: pd.Series, instance_types: pd.Series, regions: pd.Series, at: pd.Series
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(USD per instance-hour, source, Price List SKU) of each row's workload kind (``KIND_SERVICES``: a
        training job's instance-hours at the Training price, a notebook instance's at the Notebook price, ...), by
        position; NaN / None where no price is known (a Studio app: no component priced; a type never collected
        and not in the shipped table)."""
        keys = _component_keys(kinds, instance_types)
        left = self._left(keys, regions, at)
        collected = self._as_of(self.components, left)
        skus = self._as_of(self.components, left, "source_sku")
        fallback = _shipped_components(keys, _normalised(regions))
        usd, source = _chosen(collected, fallback)
        return usd, source, np.where(np.isnan(collected), None, skus)

    def hourly_sku(self, instance_types: pd.Series, regions: pd.Series, at: pd.Series) -> np.ndarray:
        """The Price List product SKU of the collected price ``hourly_usd`` uses per row; None where the shipped
        table or nothing priced it (FOCUS ``SkuId``)."""
        left = self._left(_normalised_types(instance_types), regions, at)
        return self._as_of(self.hourly, left, "source_sku")


def _empty() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "sku": pd.Series(dtype=object),
            "region": pd.Series(dtype=object),
            "effective": pd.Series(dtype="datetime64[ns]"),
            "usd": pd.Series(dtype=float),
        }
    )


def _component_key(service: str, instance_type: str) -> str:
    return f"{service}/{instance_type}"


def _component_keys(kinds: pd.Series, instance_types: pd.Series) -> pd.Series:
    services = _normalised(kinds).map(lambda kind: KIND_SERVICES.get(kind, ""))
    types = _normalised_types(instance_types)
    return pd.Series(
        [_component_key(service, name) if service else "" for service, name in zip(services, types, strict=True)],
        dtype=object,
    )


def _shipped_components(keys: pd.Series, regions: pd.Series) -> np.ndarray:
    """The shipped table's price of each "<service>/<ml.type>" key and region (rows of ``WORKLOAD_SERVICES``, each
    citing its source); NaN where it has none."""
    table = shipped.price_table()
    table = table[table["service"].isin(WORKLOAD_SERVICES) & (table["unit"] == "hour")]
    prices = {
        (_component_key(service, sku), region): float(usd)
        for service, sku, region, usd in zip(table["service"], table["sku"], table["region"], table["usd"], strict=True)
    }
    return np.array([prices.get(key, np.nan) for key in zip(keys, regions, strict=True)], dtype=float)


def _columns(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    return frame["service"], frame["sku"], frame["unit"]


def _key(service: str, sku: str, unit: str) -> str:
    return f"{service}/{sku}/{unit}"


def _or_nan(value: float | None) -> float:
    return np.nan if value is None else float(value)


def _chosen(collected: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The collected price where there is one, else the shipped table's, with the source of each."""
    usd = np.where(np.isnan(collected), fallback, collected)
    source = np.where(~np.isnan(collected), COLLECTED, np.where(np.isnan(usd), None, SHIPPED))
    return usd, source


def storage_usd(
    service: str, storage_class: str, region: str, at: dt.datetime | None = None, book: PriceBook | None = None
) -> tuple[float | None, str | None]:
    """(USD per GB-month, source) of keeping data of one service, class and region at ``at`` (now by default), as
    ``PriceBook.storage_usd`` prices the storage page's rows: the storage recommendations' savings use this
    (``book``: the one this thread loaded last by default); (None, None) where no price is known."""
    book = book or last_loaded()
    stamp = pd.Timestamp(at or dt.datetime.now(dt.UTC))
    stamp = stamp.tz_convert(None) if stamp.tzinfo else stamp
    when = pd.Series([stamp], dtype="datetime64[ns]")
    usd, source = book.storage_usd(pd.Series([service]), pd.Series([storage_class]), pd.Series([region]), when)
    return (None, None) if np.isnan(usd[0]) else (float(usd[0]), source[0])


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
