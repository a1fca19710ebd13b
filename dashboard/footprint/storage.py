"""Storage facts, read in one place: the latest CloudWatch log-group snapshots and the data-capture prefixes S3
Storage Lens reports, for the storage page and the storage recommendations alike.

Snapshots are daily and per place (an account and region for log groups, an account for Storage Lens); a log
group or prefix exists *now* when it is on its place's latest day. Every function issues one query whatever the
number of groups, buckets or endpoints, and folds the rows in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Exists, Max, OuterRef, Q

from collectors.capture import capture_location
from collectors.models import Endpoint, LogGroupSnapshot, StorageLensDay

GIB = 2**30  # AWS bills storage "GB-months" of 2^30 bytes
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
    where rows carry them), so nested Storage Lens prefixes count once."""
    kept: list[dict] = []
    for row in sorted(rows, key=lambda r: (len(r["prefix"]), r["prefix"])):
        if not any(_same_cell(row, other) and row["prefix"].startswith(other["prefix"]) for other in kept):
            kept.append(row)
    return kept


def _same_cell(row: dict, other: dict) -> bool:
    return all(row.get(name) == other.get(name) for name in ("account_id", "bucket", "storage_class"))


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
