"""A compact CloudWatch metric store that answers GetMetricData the way AWS does.

Stock moto keeps one Python object per datapoint (about 1 KB each) and scans every stored
datapoint for every query and period, which makes a fleet-sized sandbox infeasible. It also
ignores AWS rules the collectors must respect. This store keeps each series as numpy arrays of
statistic sets and applies, as documented for AWS (see shared/docs/aws-reference.md §3):

- exact matching of namespace, metric name and the *whole* dimension set;
- at most 500 queries per call, ``MaxDatapoints`` (at most 100,800) per response with ``NextToken``
  paging and ``PartialData`` status codes;
- StartTime rounding and the period-versus-age rules (a period that does not fit the age of the
  start time yields no datapoints, not an error);
- percentiles only from raw values (statistic sets with SampleCount 1 or Minimum = Maximum).
"""

from __future__ import annotations

import base64
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

MAX_QUERIES_PER_CALL = 500
MAX_DATAPOINTS_PER_CALL = 100_800
HIGH_RESOLUTION_PERIODS = (1, 5, 10, 20, 30)
TWO_WEEKS_SECONDS = 14 * 86400
_PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d+)?|100)$")
_SIMPLE_STATS = ("Sum", "SampleCount", "Average", "Minimum", "Maximum")


class MetricQueryError(ValueError):
    """A request AWS would refuse with a ValidationError."""


def dimension_key(dimensions: list[dict]) -> frozenset:
    return frozenset((d["Name"], d.get("Value")) for d in dimensions or ())


def to_epoch(value) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


@dataclass
class Series:
    namespace: str
    metric_name: str
    dimensions: frozenset
    unit: str | None = None
    _chunks: list[np.ndarray] = field(default_factory=list)
    _merged: np.ndarray | None = None

    def append(self, rows: np.ndarray) -> None:
        """``rows`` has columns timestamp, sample_count, sum, minimum, maximum."""
        self._chunks.append(rows)
        self._merged = None

    @property
    def rows(self) -> np.ndarray:
        if self._merged is None:
            merged = np.concatenate(self._chunks) if self._chunks else np.empty((0, 5))
            merged = merged[np.argsort(merged[:, 0], kind="stable")]
            self._chunks = [merged]
            self._merged = merged
        return self._merged

    def last_timestamp(self) -> float:
        rows = self.rows
        return float(rows[-1, 0]) if len(rows) else float("-inf")

    def dimension_list(self) -> list[dict]:
        return [{"Name": name, "Value": value} for name, value in sorted(self.dimensions)]


def datum_rows(datum: dict) -> np.ndarray:
    """Turn one PutMetricData datum (Value, Values/Counts or StatisticValues) into statistic rows."""
    ts = to_epoch(datum.get("Timestamp") or datetime.now(UTC))
    stats = datum.get("StatisticValues")
    if stats:
        row = [ts, float(stats["SampleCount"]), float(stats["Sum"]), float(stats["Minimum"]), float(stats["Maximum"])]
        return np.array([row])
    values = datum.get("Values") or [datum.get("Value", 0)]
    counts = datum.get("Counts") or [1] * len(values)
    rows = [[ts, float(c), float(v) * float(c), float(v), float(v)] for v, c in zip(values, counts, strict=False)]
    return np.array(rows)


def rounded_start(start: float, now: float) -> float:
    age = now - start
    step = 60 if age < 15 * 86400 else 300 if age < 63 * 86400 else 3600
    return start - (start % step)


def period_fits_age(period: int, start: float, now: float) -> bool:
    age = now - start
    if age <= 3 * 3600:
        return period in HIGH_RESOLUTION_PERIODS or period % 60 == 0
    if age <= 15 * 86400:
        return period % 60 == 0
    if age <= 63 * 86400:
        return period % 300 == 0
    return period % 3600 == 0


def _percentile(stat: str, rows: np.ndarray) -> float | None:
    raw = (rows[:, 1] == 1) | (rows[:, 3] == rows[:, 4])
    if not raw.all():
        return None
    values = np.repeat(rows[:, 3], rows[:, 1].astype(int))
    return float(np.percentile(values, float(stat[1:]), method="linear")) if len(values) else None


def aggregate(rows: np.ndarray, start: float, end: float, period: int, stat: str) -> tuple[list, list]:
    """Bucket ``rows`` into periods from ``start`` and compute ``stat``; empty buckets are omitted."""
    rows = rows[(rows[:, 0] >= start) & (rows[:, 0] < end)]
    if not len(rows):
        return [], []
    bucket = ((rows[:, 0] - start) // period).astype(np.int64)
    keys, first = np.unique(bucket, return_index=True)
    if stat in _SIMPLE_STATS:
        counts = np.add.reduceat(rows[:, 1], first)
        sums = np.add.reduceat(rows[:, 2], first)
        values = {
            "SampleCount": counts,
            "Sum": sums,
            "Average": sums / counts,
            "Minimum": np.minimum.reduceat(rows[:, 3], first),
            "Maximum": np.maximum.reduceat(rows[:, 4], first),
        }[stat]
        return [start + k * period for k in keys], values.tolist()
    timestamps, values = [], []
    for key, chunk in zip(keys, np.split(rows, first[1:]), strict=True):
        value = _percentile(stat, chunk)
        if value is not None:
            timestamps.append(start + key * period)
            values.append(value)
    return timestamps, values


def validate_stat(stat: str) -> None:
    if stat in _SIMPLE_STATS or _PERCENTILE.match(stat):
        return
    raise MetricQueryError(f"The sandbox does not simulate the statistic {stat!r}")


@dataclass
class QueryResult:
    query_id: str
    label: str
    timestamps: list[float]
    values: list[float]


class MetricStore:
    """All series of one account and region."""

    def __init__(self) -> None:
        self._series: dict[tuple, Series] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._series)

    def datapoint_count(self) -> int:
        return sum(len(s.rows) for s in self._series.values())

    def put(self, namespace: str, metric_data: list[dict]) -> None:
        with self._lock:
            for datum in metric_data:
                key = (namespace, datum["MetricName"], dimension_key(datum.get("Dimensions")))
                series = self._series.get(key)
                if series is None:
                    series = self._series[key] = Series(namespace, key[1], key[2])
                series.unit = datum.get("Unit") or series.unit
                series.append(datum_rows(datum))

    def find(self, metric: dict) -> Series | None:
        key = (metric.get("Namespace"), metric.get("MetricName"), dimension_key(metric.get("Dimensions")))
        return self._series.get(key)

    def run_query(self, query: dict, start: float, end: float, now: float) -> QueryResult:
        metric_stat = query["MetricStat"]
        metric, stat, period = metric_stat["Metric"], metric_stat["Stat"], int(metric_stat["Period"])
        validate_stat(stat)
        label = query.get("Label") or metric.get("MetricName", "")
        series = self.find(metric)
        unit = metric_stat.get("Unit")
        if series is None or not period_fits_age(period, start, now) or (unit and unit != series.unit):
            return QueryResult(query["Id"], label, [], [])
        with self._lock:
            rows = series.rows
        timestamps, values = aggregate(rows, start, end, period, stat)
        return QueryResult(query["Id"], label, timestamps, values)

    def get_metric_data(
        self,
        queries: list[dict],
        start_time,
        end_time,
        scan_by: str = "TimestampDescending",
        max_datapoints: int | None = None,
        next_token: str | None = None,
        now: float | None = None,
    ) -> dict:
        if len(queries) > MAX_QUERIES_PER_CALL:
            raise MetricQueryError(
                f"The collection MetricDataQueries must not have a size greater than {MAX_QUERIES_PER_CALL}."
            )
        if any("MetricStat" not in q for q in queries):
            raise MetricQueryError("The sandbox simulates MetricStat queries only (no metric math or Insights).")
        now = datetime.now(UTC).timestamp() if now is None else now
        start, end = to_epoch(start_time), to_epoch(end_time)
        if start >= end:
            raise MetricQueryError("The parameter StartTime must be less than the parameter EndTime.")
        start = rounded_start(start, now)
        results = [self.run_query(q, start, end, now) for q in queries]
        if scan_by != "TimestampAscending":
            for result in results:
                result.timestamps.reverse()
                result.values.reverse()
        return paginate(results, queries, max_datapoints, next_token)

    def list_metrics(
        self, namespace=None, metric_name=None, dimensions=None, recently_active=None, now: float | None = None
    ) -> list[Series]:
        now = datetime.now(UTC).timestamp() if now is None else now
        newest_allowed = now - (3 * 3600 if recently_active == "PT3H" else TWO_WEEKS_SECONDS)
        wanted = [(d["Name"], d.get("Value")) for d in dimensions or ()]
        with self._lock:
            candidates = list(self._series.values())
        found = [
            s
            for s in candidates
            if (namespace is None or s.namespace == namespace)
            and (metric_name is None or s.metric_name == metric_name)
            and all(_has_dimension(s.dimensions, name, value) for name, value in wanted)
            and s.last_timestamp() >= newest_allowed
        ]
        return sorted(found, key=lambda s: (s.namespace, s.metric_name, sorted(s.dimensions)))


def _has_dimension(dimensions: frozenset, name: str, value: str | None) -> bool:
    return any(n == name and (value is None or v == value) for n, v in dimensions)


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
    except (ValueError, KeyError, TypeError):
        raise MetricQueryError("The parameter NextToken is not valid.") from None


def paginate(
    results: list[QueryResult], queries: list[dict], max_datapoints: int | None, next_token: str | None
) -> dict:
    """Cut the flattened datapoints of all queries into pages of at most ``max_datapoints``."""
    page_size = min(int(max_datapoints or MAX_DATAPOINTS_PER_CALL), MAX_DATAPOINTS_PER_CALL)
    offset = decode_token(next_token) if next_token else 0
    page_end = offset + page_size
    returned, position = [], 0
    for query, result in zip(queries, results, strict=True):
        size = len(result.values)
        lo, hi = max(offset - position, 0), min(page_end - position, size)
        position += size
        if not query.get("ReturnData", True):
            continue
        if hi <= lo and not (offset == 0 and size == 0):
            continue
        status = "PartialData" if hi < size else "Complete"
        returned.append(
            {
                "Id": result.query_id,
                "Label": result.label,
                "Timestamps": [datetime.fromtimestamp(t, UTC) for t in result.timestamps[lo:hi]],
                "Values": result.values[lo:hi],
                "StatusCode": status,
            }
        )
    response = {"MetricDataResults": returned, "Messages": []}
    if position > page_end:
        response["NextToken"] = encode_token(page_end)
    return response
