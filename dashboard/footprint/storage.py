"""Storage facts, read in one place: the latest CloudWatch log-group snapshots and the data-capture prefixes S3
Storage Lens reports, for the storage page and the storage recommendations alike — and the one definition of
storage's footprint: what keeping the rows costs per month (``monthly_footprint``, ``monthly_totals``: the storage
page) and over a period (``period_footprint``: the lifecycle split's storage stage), at the same estimate.

The footprint counts the log groups and the Storage Lens prefixes that hold endpoints' data captures
(``counted_capture``); whole buckets and other prefixes are shown by the page but not counted.

Snapshots are daily and per place (an account and region for log groups, an account for Storage Lens); a log
group or prefix exists *now* when it is on its place's latest day. Every function issues one query whatever the
number of groups, buckets or endpoints, and folds the rows in Python.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.db.models import Exists, Max, OuterRef, Q, Sum

from collectors.capture import capture_location
from collectors.models import AwsAccount, Endpoint, LogGroupSnapshot, StorageLensDay
from dashboard.footprint import price_book
from estimator import estimate_storage

GIB = 2**30  # AWS bills storage "GB-months" of 2^30 bytes
HOURS_PER_MONTH = 730  # 8,760 / 12: a "month" of storage, as AWS's GB-month and the recommendations' savings count it
ENDPOINT_LOG_PREFIX = "/aws/sagemaker/Endpoints/"
DEFAULT_LOG_CLASS = "STANDARD"  # what CloudWatch Logs uses when DescribeLogGroups omits logGroupClass
LOG_PLACE = ("account_id", "region")
LENS_PLACE = ("account_id",)
LOG_FIELDS = ("account_id", "region", "name", "day", "stored_bytes", "retention_days", "log_group_class")
LENS_FIELDS = ("account_id", "day", "region", "bucket", "prefix", "storage_class", "stored_bytes")

Places = dict[tuple, dt.date]


def latest_days(model, team, end: dt.date, place: tuple[str, ...]) -> dict[tuple, dt.date | None]:
    """Every place (e.g. account pk and region) the team has rows for, with its most recent day up to ``end``
    (None when all its rows are later)."""
    rows = (
        model.objects.filter(account__team=team)
        .values(*place)
        .annotate(last=Max("day", filter=Q(day__lte=end)))
        .order_by()
    )
    return {tuple(row[name] for name in place): row["last"] for row in rows}


def within(last_days: Places, place: tuple[str, ...], lookback_days: int = 0) -> Q:
    """Rows of each place from ``lookback_days`` before its last day to that day."""
    days = Q()
    for key, last in last_days.items():
        days |= Q(**dict(zip(place, key, strict=True)), day__gte=last - dt.timedelta(days=lookback_days), day__lte=last)
    return days


# --- log groups ---------------------------------------------------------------------------------------------------


def log_group_histories(
    team, last_days: Places, lookback_days: int = 0, fields: tuple[str, ...] = LOG_FIELDS, region: str = ""
) -> list[list[dict]]:
    """Each log group present on its account/region's last day (the others were deleted), as its snapshots of
    the ``lookback_days`` days up to that day, oldest first: the last one is the group as it is. One query."""
    if not last_days:
        return []
    rows = LogGroupSnapshot.objects.filter(account__team=team).filter(within(last_days, LOG_PLACE, lookback_days))
    if region:
        rows = rows.filter(region=region)
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows.values(*fields).order_by("account_id", "region", "name", "day"):
        groups[(row["account_id"], row["region"], row["name"])].append(row)
    return [snapshots for key, snapshots in groups.items() if snapshots[-1]["day"] == last_days[key[:2]]]


def first_snapshots(team, last_days: Places, start: dt.date, end: dt.date, region: str = "") -> dict[tuple, dict]:
    """(account pk, region, name) -> each log group's first snapshot from ``start`` (to ``end``). One query."""
    base = LogGroupSnapshot.objects.filter(account__team=team, account_id__in={pk for pk, _ in last_days}, day__lte=end)
    if region:
        base = base.filter(region=region)
    earlier = LogGroupSnapshot.objects.filter(
        account_id=OuterRef("account_id"),
        region=OuterRef("region"),
        name=OuterRef("name"),
        day__gte=start,
        day__lt=OuterRef("day"),
    )
    rows = base.filter(day__gte=start).filter(~Exists(earlier))
    return {
        (row["account_id"], row["region"], row["name"]): row
        for row in rows.values("account_id", "region", "name", "day", "stored_bytes")
    }


def log_group_endpoint(name: str) -> str:
    """The endpoint whose logs a log group holds, by SageMaker's naming ('' for any other group)."""
    return name.removeprefix(ENDPOINT_LOG_PREFIX) if name.startswith(ENDPOINT_LOG_PREFIX) else ""


# --- data capture (S3 Storage Lens) -------------------------------------------------------------------------------


def lens_rows(team, last_days: Places, fields: tuple[str, ...] = LENS_FIELDS, region: str = "") -> list[dict]:
    """The Storage Lens rows of each account's last day. One query."""
    if not last_days:
        return []
    rows = StorageLensDay.objects.filter(account__team=team).filter(within(last_days, LENS_PLACE))
    if region:
        rows = rows.filter(region=region)
    return list(rows.values(*fields))


def capture_targets(endpoints: list[Endpoint]) -> dict[str, list[tuple[str, Endpoint]]]:
    """Bucket -> [(capture prefix, endpoint)] for every endpoint that has a capture destination."""
    targets: dict[str, list[tuple[str, Endpoint]]] = {}
    for endpoint in endpoints:
        if location := capture_location(endpoint):
            targets.setdefault(location[0], []).append((location[1], endpoint))
    return targets


def capture_endpoint(row: dict, targets: dict[str, list[tuple[str, Endpoint]]]) -> tuple[str, Endpoint] | None:
    """The endpoint whose capture prefix holds this Storage Lens row: same account first, then the longest
    prefix."""
    if not row["prefix"]:
        return None
    matches = [
        (prefix, endpoint) for prefix, endpoint in targets.get(row["bucket"], []) if row["prefix"].startswith(prefix)
    ]
    if not matches:
        return None
    return min(
        matches,
        key=lambda match: (
            match[1].account_id != row["account_id"],
            -len(match[0]),
            match[1].deleted_at is not None,
            match[1].pk,
        ),
    )


def outermost(rows: list[dict]) -> list[dict]:
    """The rows whose prefix is not inside another row's prefix (of the same account, bucket and storage class
    where rows carry them), so nested Storage Lens prefixes count once. Shortest prefixes first; each row looks its
    own leading substrings up among the kept prefixes of its cell (linear in the rows)."""
    kept: list[dict] = []
    kept_prefixes: dict[tuple, set[str]] = defaultdict(set)
    for row in sorted(rows, key=lambda r: (len(r["prefix"]), r["prefix"])):
        prefix, cell = row["prefix"], _cell(row)
        if not any(prefix[:length] in kept_prefixes[cell] for length in range(len(prefix) + 1)):
            kept.append(row)
            kept_prefixes[cell].add(prefix)
    return kept


def _cell(row: dict) -> tuple:
    return tuple(row.get(name) for name in ("account_id", "bucket", "storage_class"))


@dataclass
class CapturePrefix:
    """An endpoint's capture prefix as Storage Lens sees it in one account, per day."""

    account_id: int
    bucket: str
    prefix: str
    region: str = ""
    total: dict[dt.date, int] = field(default_factory=dict)  # all storage classes
    standard: dict[dt.date, int] = field(default_factory=dict)  # S3 Standard only

    @property
    def days(self) -> list[dt.date]:
        return sorted(self.total)

    @property
    def stored(self) -> int:
        return self.total[self.days[-1]]

    @property
    def stored_standard(self) -> int:
        return self.standard.get(self.days[-1], 0)

    def growth(self) -> float | None:
        """Bytes added per day between the first and the last day (None with a single day)."""
        days = self.days
        span = (days[-1] - days[0]).days
        return (self.total[days[-1]] - self.total[days[0]]) / span if span > 0 else None


def capture_prefixes(
    team, endpoints: list[Endpoint], end: dt.date, lookback_days: int
) -> dict[tuple[str, str], CapturePrefix]:
    """(bucket, prefix) of each endpoint's captures -> its Storage Lens days (the ``lookback_days`` up to the
    account's last day up to ``end``), from the account that reports the bucket (the endpoint's own first), when
    that account's last day has it. Two queries."""
    owners: dict[tuple[str, str], set[int]] = defaultdict(set)  # location -> accounts of its endpoints
    for endpoint in endpoints:
        if location := capture_location(endpoint):
            owners[location].add(endpoint.account_id)
    if not owners:
        return {}
    last_days = {key: day for key, day in latest_days(StorageLensDay, team, end, LENS_PLACE).items() if day}
    if not last_days:
        return {}
    by_bucket: dict[tuple[int, str], list[dict]] = defaultdict(list)
    rows = (
        StorageLensDay.objects.filter(account__team=team, bucket__in={b for b, _ in owners})
        .exclude(prefix="")
        .filter(within(last_days, LENS_PLACE, lookback_days))
    )
    for row in rows.values(*LENS_FIELDS):
        by_bucket[(row["account_id"], row["bucket"])].append(row)
    found: dict[tuple[str, str], list[CapturePrefix]] = defaultdict(list)
    for (account_pk, bucket), bucket_rows in by_bucket.items():
        for location in owners:
            prefix = _prefix_days(account_pk, bucket, location, bucket_rows)
            if prefix and prefix.days[-1] == last_days[(account_pk,)]:
                found[location].append(prefix)
    return {
        location: min(candidates, key=lambda p: (p.account_id not in owners[location], p.account_id))
        for location, candidates in found.items()
    }


def _prefix_days(account_pk: int, bucket: str, location: tuple[str, str], rows: list[dict]) -> CapturePrefix | None:
    if location[0] != bucket:
        return None
    cells: dict[tuple[dt.date, str], list[dict]] = defaultdict(list)
    for row in rows:
        if row["prefix"].startswith(location[1]):
            cells[(row["day"], row["storage_class"])].append(row)
    if not cells:
        return None
    prefix = CapturePrefix(account_pk, bucket, location[1])
    for (day, storage_class), matched in cells.items():
        counted = sum(row["stored_bytes"] for row in outermost(matched))
        prefix.total[day] = prefix.total.get(day, 0) + counted
        if storage_class == "STANDARD":
            prefix.standard[day] = prefix.standard.get(day, 0) + counted
        prefix.region = prefix.region or next((row["region"] for row in matched if row["region"]), "")
    return prefix


# --- the footprint: per month (the storage page) and over a period (the lifecycle split) ------------------------

ENDPOINT_FIELDS = ("id", "account_id", "region", "name", "capture_enabled", "capture_pct", "capture_destination",
                   "deleted_at")  # fmt: skip
PARTIAL_COST_NOTE = "Cost covers the priced stored bytes only (some are unpriced)."


def month_figures(cells: pd.DataFrame, book: price_book.PriceBook | None = None) -> pd.DataFrame:
    """What keeping each cell's bytes for a month (``HOURS_PER_MONTH``) takes, by position. ``cells``: columns
    ``service`` ("logs", "s3"), ``storage_class``, ``stored_bytes``, ``region`` and ``at`` (the time prices are
    read as of). Returns ``energy_kwh_month``, ``co2e_kg_month`` (one estimator call: ``estimator.estimate_storage``),
    ``cost_usd_month`` (the price book's GB-month price as of ``at``, NaN where none is known) and
    ``price_source``."""
    frame = pd.DataFrame(
        {
            "service": cells["service"].to_numpy(),
            "storage_class": cells["storage_class"].to_numpy(),
            "stored_bytes": cells["stored_bytes"].to_numpy(dtype=float),
            "hours": float(HOURS_PER_MONTH),
            "region": cells["region"].fillna("").to_numpy(),
        }
    )
    if frame.empty:
        return pd.DataFrame(columns=["energy_kwh_month", "co2e_kg_month", "cost_usd_month", "price_source"])
    estimated = estimate_storage(frame, methodology="default")
    at = pd.Series(cells["at"].to_numpy(), dtype="datetime64[ns]")
    usd, source = (book or price_book.last_loaded()).storage_usd(
        frame["service"], frame["storage_class"], frame["region"], at
    )
    return pd.DataFrame(
        {
            "energy_kwh_month": estimated["storage_kwh"].to_numpy(dtype=float),
            "co2e_kg_month": estimated["co2e_kg"].to_numpy(dtype=float),
            "cost_usd_month": np.asarray(usd, dtype=float) * frame["stored_bytes"].to_numpy() / GIB,
            "price_source": pd.Series(source, dtype=object),
        }
    )


def monthly_footprint(
    rows: list[dict],
    service_of: Callable[[dict], str],
    class_of: Callable[[dict], str],
    book: price_book.PriceBook | None = None,
) -> None:
    """Add ``co2e_kg_month``, ``energy_kwh_month``, ``cost_usd_month`` (None where unpriced) and ``price_source``
    to each row (one estimator call; each row priced by the price book as of its snapshot ``day``, now without
    one)."""
    if not rows:
        return
    now = pd.Timestamp.now(tz="UTC").tz_localize(None)
    cells = pd.DataFrame(
        {
            "service": [service_of(row) for row in rows],
            "storage_class": [class_of(row) for row in rows],
            "stored_bytes": [float(row["stored_bytes"]) for row in rows],
            "region": [row["region"] or "" for row in rows],
            "at": pd.Series([pd.Timestamp(row["day"]) if row.get("day") else now for row in rows]),
        }
    )
    figures = month_figures(cells, book)
    for row, figure in zip(rows, figures.itertuples(index=False), strict=True):
        row.update(
            co2e_kg_month=float(figure.co2e_kg_month),
            energy_kwh_month=float(figure.energy_kwh_month),
            cost_usd_month=None if np.isnan(figure.cost_usd_month) else float(figure.cost_usd_month),
            price_source=figure.price_source,
        )


def log_group_class(row: dict) -> str:
    return row["log_group_class"] or DEFAULT_LOG_CLASS


def counted_capture(rows: list[dict]) -> list[dict]:
    """The Storage Lens rows the footprint counts: those holding an endpoint's captures (``endpoint_id``), without
    counting a prefix inside another counted one twice."""
    return outermost([row for row in rows if row["endpoint_id"]])


def _sum(rows: list[dict], key: str) -> float:
    return float(sum(row[key] or 0 for row in rows))


def monthly_totals(logs: list[dict], counted: list[dict]) -> dict:
    """The team's storage footprint per month: log groups' and counted capture rows' (``counted_capture``) rows
    with ``monthly_footprint`` figures summed. ``cost_usd_month`` is None when no row is priced; ``price_sources``
    says what priced the rows."""
    log_co2e, capture_co2e = _sum(logs, "co2e_kg_month"), _sum(counted, "co2e_kg_month")
    priced = [row["cost_usd_month"] for row in [*logs, *counted] if row["cost_usd_month"] is not None]
    return {
        "log_co2e_kg_month": log_co2e,
        "capture_co2e_kg_month": capture_co2e,
        "co2e_kg_month": log_co2e + capture_co2e,
        "energy_kwh_month": _sum(logs, "energy_kwh_month") + _sum(counted, "energy_kwh_month"),
        "cost_usd_month": sum(priced) if priced else None,
        "priced_rows": len(priced),
        "price_sources": pd.Series([row["price_source"] for row in [*logs, *counted]], dtype=object),
    }


def day_hours(start: dt.datetime, end: dt.datetime) -> dict[dt.date, float]:
    """Each UTC day touching [start, end) -> its hours inside [start, end)."""
    start, end = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    hours: dict[dt.date, float] = {}
    day = start.date()
    while (midnight := dt.datetime.combine(day, dt.time(), dt.UTC)) < end:
        inside = (min(end, midnight + dt.timedelta(days=1)) - max(start, midnight)).total_seconds() / 3600
        if inside > 0:
            hours[day] = inside
        day += dt.timedelta(days=1)
    return hours


def _carried(snapshot_days: list[dt.date], day: dt.date) -> dt.date | None:
    """The latest of the sorted ``snapshot_days`` on or before ``day`` (None before the first)."""
    at = bisect.bisect_right(snapshot_days, day)
    return snapshot_days[at - 1] if at else None


def _place_days(model, pks: list[int], place: tuple[str, ...], last: dt.date) -> dict[tuple, list[dt.date]]:
    """Each place's snapshot days up to ``last``, sorted. One query."""
    days: dict[tuple, list[dt.date]] = defaultdict(list)
    rows = model.objects.filter(account_id__in=pks, day__lte=last).values(*place, "day").distinct()
    for row in rows.order_by(*place, "day"):
        days[tuple(row[name] for name in place)].append(row["day"])
    return days


def _since(place_days: dict[tuple, list[dt.date]], place: tuple[str, ...], first: dt.date, last: dt.date) -> Q:
    """Each place's rows from the snapshot day carried into ``first`` to ``last``."""
    days = Q(pk__in=[])
    for key, snapshot_days in place_days.items():
        carried = _carried(snapshot_days, first) or first
        days |= Q(**dict(zip(place, key, strict=True)), day__gte=carried, day__lte=last)
    return days


def _log_group_cells(pks: list[int], first: dt.date, last: dt.date) -> tuple[dict, dict]:
    """(place days, (account pk, region, day) -> [stored bytes per (service, class, region)]). Two queries."""
    place_days = _place_days(LogGroupSnapshot, pks, LOG_PLACE, last)
    cells: dict[tuple, list[tuple]] = defaultdict(list)
    if place_days:
        rows = (
            LogGroupSnapshot.objects.filter(account_id__in=pks)
            .filter(_since(place_days, LOG_PLACE, first, last))
            .values("account_id", "region", "day", "log_group_class")
            .annotate(total=Sum("stored_bytes"))
            .order_by()
        )
        for row in rows:
            cells[(row["account_id"], row["region"], row["day"])].append(
                ("logs", log_group_class(row), row["region"] or "", float(row["total"]))
            )
    return place_days, cells


def _capture_cells(pks: list[int], first: dt.date, last: dt.date) -> tuple[dict, dict]:
    """(place days, (account pk, day) -> [stored bytes per (service, class, region)] of the counted capture rows).
    Three queries at most (the team's endpoints, the Storage Lens days, their capture rows)."""
    endpoints = list(
        Endpoint.objects.filter(account__team__in=AwsAccount.objects.filter(pk__in=pks).values("team"))
        .only(*ENDPOINT_FIELDS)
        .order_by("pk")
    )
    targets = capture_targets(endpoints)
    cells: dict[tuple, list[tuple]] = defaultdict(list)
    if not targets:
        return {}, cells
    place_days = _place_days(StorageLensDay, pks, LENS_PLACE, last)
    if not place_days:
        return place_days, cells
    rows = (
        StorageLensDay.objects.filter(account_id__in=pks, bucket__in=set(targets))
        .exclude(prefix="")
        .filter(_since(place_days, LENS_PLACE, first, last))
        .values(*LENS_FIELDS)
    )
    by_day: dict[tuple, list[dict]] = defaultdict(list)
    matched: dict[tuple, int | None] = {}  # a prefix's endpoint, the same every day
    for row in rows:
        key = (row["account_id"], row["bucket"], row["prefix"])
        if key not in matched:
            match = capture_endpoint(row, targets)
            matched[key] = match[1].pk if match else None
        by_day[(row["account_id"], row["day"])].append({**row, "endpoint_id": matched[key]})
    for key, day_rows in by_day.items():
        sums: dict[tuple, float] = defaultdict(float)
        for row in counted_capture(day_rows):
            sums[("s3", row["storage_class"], row["region"] or "")] += float(row["stored_bytes"])
        cells[key] = [(*cell, total) for cell, total in sums.items()]
    return place_days, cells


def period_footprint(
    accounts: list[dict], start: dt.datetime, end: dt.datetime, book: price_book.PriceBook | None = None
) -> dict:
    """The storage footprint of ``accounts`` (dicts with ``pk``) over [start, end): ``energy_kwh``, ``co2e_kg``
    (location-based), ``embodied_co2e_kg`` (0: the estimator has no embodied figure for storage), ``cost_usd``
    (list price; NaN when there is stored data but none of it is priced), ``instance_hours`` (0) and ``note``.

    The same definition and estimate as the storage page's monthly figures (``monthly_footprint``: log groups and
    counted capture prefixes, ``counted_capture``), per UTC day: each day counts the rows of its place's snapshot
    (log groups: an account and region; Storage Lens: an account) of that day — where the place has no snapshot
    that day, its latest earlier snapshot is carried (before the place's first snapshot, nothing) — at the
    per-month estimate priced as of that day, times (the day's hours inside [start, end)) / ``HOURS_PER_MONTH``.
    Five queries at most, whatever the number of log groups, prefixes or days; the price book is the one this
    thread loaded last unless ``book`` is given."""
    hours = day_hours(start, end)
    zero = {"energy_kwh": 0.0, "co2e_kg": 0.0, "embodied_co2e_kg": 0.0, "cost_usd": 0.0, "instance_hours": 0.0}
    pks = [account["pk"] for account in accounts]
    if not pks or not hours:
        return {**zero, "note": ""}
    first, last = min(hours), max(hours)
    cells: list[tuple] = []  # (service, class, region, stored bytes, day counted, share of a month)
    for place_days, by_place_day in (_log_group_cells(pks, first, last), _capture_cells(pks, first, last)):
        for key, snapshot_days in place_days.items():
            for day, day_share in hours.items():
                carried = _carried(snapshot_days, day)
                if carried is not None:
                    for cell in by_place_day.get((*key, carried), []):
                        cells.append((*cell, day, day_share / HOURS_PER_MONTH))
    if not cells:
        return {**zero, "note": ""}
    frame = pd.DataFrame(cells, columns=["service", "storage_class", "region", "stored_bytes", "day", "share"])
    frame["at"] = pd.to_datetime(frame["day"])
    figures = month_figures(frame, book)
    share = frame["share"].to_numpy(dtype=float)
    cost = figures["cost_usd_month"].to_numpy(dtype=float) * share
    priced = ~np.isnan(cost)
    return {
        "energy_kwh": float((figures["energy_kwh_month"].to_numpy(dtype=float) * share).sum()),
        "co2e_kg": float((figures["co2e_kg_month"].to_numpy(dtype=float) * share).sum()),
        "embodied_co2e_kg": 0.0,
        "cost_usd": float(cost[priced].sum()) if priced.any() else np.nan,
        "instance_hours": 0.0,
        "note": PARTIAL_COST_NOTE if priced.any() and not priced.all() else "",
    }
