"""Storage recommendations: CloudWatch log retention, data-capture sampling and data-capture expiry.

Three rules read the team's daily log-group snapshots and S3 Storage Lens days
(docs/methodology.md, "Storage rules in detail"):

* **Log retention**: a log group that never expires, or keeps its events longer than the team's policy, and holds
  at least ``policy.log_min_bytes``: set the longest retention CloudWatch Logs accepts within the policy.
* **Capture sampling**: a live endpoint capturing 100 % of its requests into a prefix of at least
  ``policy.capture_min_bytes``: sample ``policy.capture_sampling_pct`` % instead.
* **Capture lifecycle**: a capture prefix holding at least ``policy.capture_min_bytes`` in S3 Standard: expire
  objects after ``policy.capture_expiry_days`` days.

The snapshots, the latest days and the capture prefixes are read by ``dashboard.footprint.storage``, as the storage
page reads them. Savings are a month of not storing the bytes the change removes, through
``savings.storage_monthly``. Every query is scoped to the team and their number is fixed (accounts, endpoints,
then latest days and the rows of the last ``LOOKBACK_DAYS`` days for each table), whatever the number of log
groups, prefixes or endpoints; rows are folded in Python.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta

from collectors.capture import capture_location
from collectors.models import AwsAccount, Endpoint, LogGroupSnapshot
from dashboard.footprint import storage
from dashboard.footprint.storage import CapturePrefix
from dashboard.recommend.draft import Confidence, Draft, Kind, command, commands
from dashboard.recommend.evidence import stored_on
from dashboard.recommend.savings import storage_monthly

GIB = storage.GIB  # titles and proposals show GiB
LOOKBACK_DAYS = 14  # growth is measured over the snapshots of the last 14 days
DAYS_PER_MONTH = 30
ASSUMED_SPAN_DAYS = 365  # how long a log group's data is assumed to span when its creation time is unknown
SAMPLING_FLAG_PCT = 100  # the sampling rule fires on endpoints capturing every request
DEFAULT_LOG_CLASS = storage.DEFAULT_LOG_CLASS
# The values PutRetentionPolicy accepts for retentionInDays.
RETENTION_VALUES = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
SHORTHAND_SPECIAL = set(",=[]{}\"' ")  # characters that would break the CLI's shorthand syntax
VARIANTS_FILE = "production-variants.json"
LOG_FIELDS = (*storage.LOG_FIELDS, "created_time")
ENDPOINT_FIELDS = (
    "id",
    "account_id",
    "region",
    "name",
    "config_name",
    "capture_enabled",
    "capture_pct",
    "capture_destination",
    "created_time",
    "deleted_at",
)


def storage_drafts(team, policy, now: datetime) -> list[Draft]:
    """Every storage recommendation for ``team`` under ``policy`` (a ``TeamPolicy``), as of ``now`` (aware)."""
    accounts = dict(AwsAccount.objects.filter(team=team).values_list("id", "account_id"))
    if not accounts:
        return []
    endpoints = list(Endpoint.objects.filter(account__team=team).only(*ENDPOINT_FIELDS).order_by("pk"))
    prefixes = capture_prefixes(team, endpoints, now)
    return [
        *log_retention_drafts(log_groups(team, now), endpoints, accounts, policy, now),
        *capture_sampling_drafts(endpoints, prefixes, policy),
        *capture_lifecycle_drafts(endpoints, prefixes, accounts, policy, now),
    ]


def proposed_retention(policy_days: int) -> int | None:
    """The longest retention CloudWatch Logs accepts that is no longer than ``policy_days`` (None: below 1 day)."""
    allowed = [days for days in RETENTION_VALUES if days <= policy_days]
    return allowed[-1] if allowed else None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)


def day_window(days: list[date]) -> dict:
    """The Draft's evidence fields for snapshot ``days`` (sorted): 24 hours each, from the first day's midnight
    to the end of the last day (never an empty window), and the days compared, in words."""
    return {
        "evidence_hours": len(days) * 24,
        "evidence_start": _midnight(days[0]),
        "evidence_end": _midnight(days[-1] + timedelta(days=1)),
    }


def _gib(value: float) -> float:
    return value / GIB


# --- log groups ---------------------------------------------------------------------------------------------------


def log_groups(team, now: datetime) -> list[list[dict]]:
    """Each log group present on its account/region's latest snapshot day (up to ``now``), as its snapshots of
    the last ``LOOKBACK_DAYS`` days, oldest first; the last one is the group as it is now. Two queries."""
    places = storage.latest_days(LogGroupSnapshot, team, now.date(), storage.LOG_PLACE)
    last_days = {place: day for place, day in places.items() if day is not None}
    return storage.log_group_histories(team, last_days, LOOKBACK_DAYS, LOG_FIELDS)


def ingestion_rate(snapshots: list[dict], now: datetime) -> tuple[float, str]:
    """Bytes a log group takes in per day, and where the figure comes from.

    ``snapshots``: growth between the oldest and newest snapshot, when positive (at least the stored bytes over
    the current retention, since none of them can be older: a group already expiring events grows by less than
    it takes in). ``age``: the stored bytes over the days the data spans (since creation, at most the current
    retention). ``assumed``: the same with an unknown creation time, taken as ``ASSUMED_SPAN_DAYS`` days ago.
    """
    first, latest = snapshots[0], snapshots[-1]
    stored, retention = latest["stored_bytes"], latest["retention_days"]
    span = (latest["day"] - first["day"]).days
    growth = stored - first["stored_bytes"]
    if span > 0 and growth > 0:
        rate = growth / span
        return (max(rate, stored / retention) if retention else rate), "snapshots"
    created = latest["created_time"]
    if created is not None:
        age, basis = max((now - created).total_seconds() / 86400, 1.0), "age"
    else:
        age, basis = float(ASSUMED_SPAN_DAYS), "assumed"
    return stored / (min(age, retention) if retention else age), basis


LOG_CONFIDENCE = {"snapshots": Confidence.HIGH, "age": Confidence.MEDIUM, "assumed": Confidence.LOW}


def log_retention_drafts(
    groups: list[list[dict]], endpoints: list[Endpoint], accounts: dict[int, str], policy, now: datetime
) -> list[Draft]:
    target = proposed_retention(policy.log_retention_days)
    if target is None:
        return []
    endpoint_ids = {(e.account_id, e.region, e.name): e.pk for e in endpoints}
    drafts = []
    for snapshots in groups:
        latest = snapshots[-1]
        stored, retention = latest["stored_bytes"], latest["retention_days"]
        if (retention is not None and retention <= policy.log_retention_days) or stored < policy.log_min_bytes:
            continue
        drafts.append(log_retention_draft(snapshots, target, accounts, endpoint_ids, now))
    return drafts


def log_retention_draft(
    snapshots: list[dict], target: int, accounts: dict[int, str], endpoint_ids: dict, now: datetime
) -> Draft:
    latest = snapshots[-1]
    account_pk, region, name = latest["account_id"], latest["region"], latest["name"]
    stored, retention = latest["stored_bytes"], latest["retention_days"]
    rate, basis = ingestion_rate(snapshots, now)
    kept = min(float(stored), rate * target)
    dropped = stored - kept
    log_class = latest["log_group_class"] or DEFAULT_LOG_CLASS
    endpoint_name = storage.log_group_endpoint(name)
    endpoint_id = endpoint_ids.get((account_pk, region, endpoint_name)) if endpoint_name else None
    now_keeps = "never expires" if retention is None else f"{retention}-day retention"
    days = sorted({snapshot["day"] for snapshot in snapshots})
    caveats = [
        "CloudWatch Logs deletes events older than the retention for good: export what audits or "
        "investigations need (aws logs create-export-task) before applying it."
    ]
    if basis == "assumed":
        caveats.append(
            f"The group's creation time is unknown: its data is assumed to span "
            f"{min(ASSUMED_SPAN_DAYS, retention or ASSUMED_SPAN_DAYS)} days, so the saving is a guess."
        )
    elif basis == "age":
        caveats.append(
            "Too few snapshots to measure growth: the ingestion rate is the stored bytes over the days "
            "they span (the group's age, at most its current retention), which assumes a steady rate."
        )
    if dropped <= 0:
        caveats.append(f"Nothing in the group is older than {target} days yet: the saving starts once it is.")
    return Draft(
        kind=Kind.LOG_RETENTION,
        subject=f"log-group:{accounts[account_pk]}/{region}/{name}",
        account_id=account_pk,
        region=region,
        endpoint_id=endpoint_id,
        title=f"Set a {target}-day retention on {name} ({now_keeps}, {_gib(stored):.1f} GiB)",
        proposal=(
            f"Set the retention of log group {name} ({region}) to {target} days (now: {now_keeps}). "
            f"It takes in about {_gib(rate):.2f} GiB a day, so about {_gib(dropped):.1f} GiB of its "
            f"{_gib(stored):.1f} GiB is older than {target} days and would be deleted."
        ),
        saving=storage_monthly("logs", log_class, dropped, region),
        confidence=LOG_CONFIDENCE[basis],
        cli_command=command(
            "aws",
            "logs",
            "put-retention-policy",
            "--log-group-name",
            name,
            "--retention-in-days",
            str(target),
            "--region",
            region,
        ),
        proposed={"retention_days": target},
        evidence={
            "stored_bytes": stored,
            "retention_days": retention,
            "log_group_class": log_class,
            "rate_bytes_per_day": rate,
            "basis": basis,
            "kept_bytes": kept,
            "dropped_bytes": dropped,
            "snapshot_days": len(days),
            "first_day": days[0].isoformat(),
            "last_day": days[-1].isoformat(),
            "compared": stored_on(days[0], days[-1], len(days)),
        },
        caveats=" ".join(caveats),
        **day_window(days),
    )


# --- data-capture prefixes ----------------------------------------------------------------------------------------


def capture_prefixes(team, endpoints: list[Endpoint], now: datetime) -> dict[tuple[str, str], CapturePrefix]:
    """(bucket, prefix) of each endpoint's captures -> its Storage Lens days of the last ``LOOKBACK_DAYS``
    (``footprint.storage``, what the storage page reads too). Two queries."""
    return storage.capture_prefixes(team, endpoints, now.date(), LOOKBACK_DAYS)


def capture_evidence(prefix: CapturePrefix, rate: float, basis: str) -> dict:
    days = prefix.days
    return {
        "bucket": prefix.bucket,
        "prefix": prefix.prefix,
        "stored_bytes": prefix.stored,
        "standard_bytes": prefix.stored_standard,
        "growth_bytes_per_day": rate,
        "basis": basis,
        "lens_days": len(days),
        "first_day": days[0].isoformat(),
        "last_day": days[-1].isoformat(),
        "compared": stored_on(days[0], days[-1], len(days)),
    }


def _window(prefix: CapturePrefix) -> dict:
    return day_window(sorted(prefix.days))


# --- capture sampling ---------------------------------------------------------------------------------------------


def capture_config(destination: str, pct: int) -> str:
    """The ``--data-capture-config`` argument: CLI shorthand, or JSON when the destination would break it."""
    if SHORTHAND_SPECIAL & set(destination):
        return json.dumps(
            {
                "EnableCapture": True,
                "InitialSamplingPercentage": pct,
                "DestinationS3Uri": destination,
                "CaptureOptions": [{"CaptureMode": "Input"}, {"CaptureMode": "Output"}],
            }
        )
    return (
        f"EnableCapture=true,InitialSamplingPercentage={pct},DestinationS3Uri={destination},"
        "CaptureOptions=[{CaptureMode=Input},{CaptureMode=Output}]"
    )


def sampling_config_name(endpoint: Endpoint, pct: int) -> str:
    """A new endpoint-config name (at most 63 characters, alphanumerics and hyphens)."""
    suffix = f"-capture{pct}pct"
    return endpoint.name[: 63 - len(suffix)].rstrip("-") + suffix


def capture_sampling_drafts(endpoints: list[Endpoint], prefixes: dict, policy) -> list[Draft]:
    new = policy.capture_sampling_pct
    drafts = []
    for endpoint in endpoints:
        if (
            endpoint.deleted_at is not None
            or not endpoint.capture_enabled
            or endpoint.capture_pct != SAMPLING_FLAG_PCT
            or not new
            or new >= endpoint.capture_pct
        ):
            continue
        prefix = prefixes.get(capture_location(endpoint))
        if prefix is None or prefix.stored < policy.capture_min_bytes:
            continue
        drafts.append(capture_sampling_draft(endpoint, prefix, new))
    return drafts


def capture_sampling_draft(endpoint: Endpoint, prefix: CapturePrefix, new: int) -> Draft:
    old = endpoint.capture_pct
    growth = prefix.growth()
    if growth is not None and growth > 0:
        rate, basis, confidence = growth, "snapshots", Confidence.HIGH
    else:
        rate, basis, confidence = prefix.stored / LOOKBACK_DAYS, "assumed", Confidence.LOW
    avoided = rate * DAYS_PER_MONTH * (1 - new / old)
    region = prefix.region or endpoint.region
    config = sampling_config_name(endpoint, new)
    caveats = [
        f"The saving is one month's avoided captures ({_gib(avoided):.1f} GiB) stored for a month; it accumulates: "
        "every month of captures not written saves as much again for as long as the data would have been kept.",
        f"Copy the production variants from the current endpoint configuration into {VARIANTS_FILE} first "
        f"(aws sagemaker describe-endpoint-config --endpoint-config-name {endpoint.config_name or '<current>'} "
        "--query ProductionVariants), with any async-inference, KMS or capture-header settings it has.",
        f"Model Monitor and any analysis reading the captures sees {new} % of requests afterwards.",
    ]
    if basis == "assumed":
        caveats.append(
            f"Storage Lens has a single day for the prefix: its growth is assumed to be the stored bytes "
            f"over {LOOKBACK_DAYS} days."
        )
    return Draft(
        kind=Kind.CAPTURE_SAMPLING,
        subject=f"capture-sampling:{endpoint.pk}",
        account_id=endpoint.account_id,
        region=endpoint.region,
        endpoint_id=endpoint.pk,
        title=(
            f"Capture {new} % of requests on {endpoint.name} instead of {old} % "
            f"({_gib(prefix.stored):.1f} GiB captured)"
        ),
        proposal=(
            f"Lower the data-capture sampling of {endpoint.name} from {old} % to {new} %. Its captures grow "
            f"by about {_gib(rate):.2f} GiB a day in s3://{prefix.bucket}/{prefix.prefix}; sampling {new} % "
            f"writes about {_gib(avoided):.1f} GiB less a month."
        ),
        saving=storage_monthly("s3", "STANDARD", avoided, region),
        confidence=confidence,
        cli_command=commands(
            [
                "aws",
                "sagemaker",
                "create-endpoint-config",
                "--endpoint-config-name",
                config,
                "--production-variants",
                f"file://{VARIANTS_FILE}",
                "--data-capture-config",
                capture_config(endpoint.capture_destination, new),
                "--region",
                endpoint.region,
            ],
            [
                "aws",
                "sagemaker",
                "update-endpoint",
                "--endpoint-name",
                endpoint.name,
                "--endpoint-config-name",
                config,
                "--region",
                endpoint.region,
            ],
        ),
        proposed={"capture_pct": new},
        evidence={**capture_evidence(prefix, rate, basis), "capture_pct": old, "avoided_bytes_per_month": avoided},
        caveats=" ".join(caveats),
        **_window(prefix),
    )


# --- capture lifecycle --------------------------------------------------------------------------------------------


def capture_lifecycle_drafts(
    endpoints: list[Endpoint], prefixes: dict, accounts: dict[int, str], policy, now: datetime
) -> list[Draft]:
    expiry = policy.capture_expiry_days
    if not expiry:
        return []
    owners: dict[tuple[str, str], Endpoint] = {}
    for endpoint in sorted(endpoints, key=lambda e: (e.deleted_at is not None, e.pk)):  # live endpoints first
        if (location := capture_location(endpoint)) and location in prefixes:
            owners.setdefault(location, endpoint)
    drafts = []
    for location, endpoint in owners.items():
        prefix = prefixes[location]
        if prefix.stored_standard < policy.capture_min_bytes:
            continue
        if draft := capture_lifecycle_draft(endpoint, prefix, accounts, expiry, now):
            drafts.append(draft)
    return drafts


def capture_rate(endpoint: Endpoint, prefix: CapturePrefix, expiry: int, now: datetime) -> tuple[float, str] | None:
    """Bytes written per day to the prefix and the basis, or None when no expiry would drop anything we can tell.

    A prefix that did not grow over several days while its endpoint still captures probably expires already
    (Wattson cannot see lifecycle rules): no recommendation. One whose endpoint was deleted more than ``expiry``
    days ago holds nothing younger than that. Without growth, the rate is the stored bytes over the endpoint's
    age (``age``), or over ``ASSUMED_SPAN_DAYS`` days (``assumed``).
    """
    growth = prefix.growth()
    if growth is not None and growth > 0:
        return growth, "snapshots"
    if growth is not None:
        if endpoint.deleted_at is not None and now - endpoint.deleted_at >= timedelta(days=expiry):
            return 0.0, "stopped"
        if endpoint.deleted_at is None and endpoint.capture_enabled:
            return None
    if endpoint.created_time is not None:
        age = max((now - endpoint.created_time).total_seconds() / 86400, 1.0)
        return prefix.stored_standard / age, "age"
    return prefix.stored_standard / ASSUMED_SPAN_DAYS, "assumed"


def lifecycle_configuration(endpoint: Endpoint, prefix: CapturePrefix, expiry: int) -> str:
    return json.dumps(
        {
            "Rules": [
                {
                    "ID": f"wattson-capture-expiry-{endpoint.name}",
                    "Status": "Enabled",
                    "Filter": {"Prefix": prefix.prefix},
                    "Expiration": {"Days": expiry},
                }
            ]
        }
    )


def capture_lifecycle_draft(
    endpoint: Endpoint, prefix: CapturePrefix, accounts: dict[int, str], expiry: int, now: datetime
) -> Draft | None:
    found = capture_rate(endpoint, prefix, expiry, now)
    if found is None:
        return None
    rate, basis = found
    stored = prefix.stored_standard
    kept = min(float(stored), rate * expiry)
    dropped = stored - kept
    if dropped <= 0:
        return None
    region = prefix.region or endpoint.region
    location = f"s3://{prefix.bucket}/{prefix.prefix}"
    caveats = [
        "Wattson cannot see the bucket's lifecycle rules: run aws s3api get-bucket-lifecycle-configuration "
        f"--bucket {prefix.bucket} first. put-bucket-lifecycle-configuration replaces all of the bucket's rules, so "
        "add this rule to the existing ones rather than running the command as is when the bucket has any.",
        "Expired captures are deleted for good: Model Monitor baselines or audits that need older data should copy "
        "it elsewhere, or move it to S3 Intelligent-Tiering instead (cheaper; the same bytes stay stored).",
    ]
    if basis in ("age", "assumed"):
        caveats.append(
            "Storage Lens has a single day for the prefix: the daily growth is the stored bytes over "
            + ("the endpoint's age." if basis == "age" else f"an assumed {ASSUMED_SPAN_DAYS} days.")
        )
    return Draft(
        kind=Kind.CAPTURE_LIFECYCLE,
        subject=f"capture-lifecycle:{accounts[prefix.account_id]}/{prefix.bucket}/{prefix.prefix}",
        account_id=prefix.account_id,
        region=region,
        endpoint_id=endpoint.pk,
        title=f"Expire {endpoint.name}'s captures after {expiry} days ({location}, {_gib(stored):.1f} GiB)",
        proposal=(
            f"Add a lifecycle rule to bucket {prefix.bucket} expiring objects under {prefix.prefix} after "
            f"{expiry} days (or moving them to Intelligent-Tiering). About {_gib(dropped):.1f} GiB of its "
            f"{_gib(stored):.1f} GiB in S3 Standard is older than that."
        ),
        saving=storage_monthly("s3", "STANDARD", dropped, region),
        confidence=Confidence.LOW,
        cli_command=command(
            "aws",
            "s3api",
            "put-bucket-lifecycle-configuration",
            "--bucket",
            prefix.bucket,
            "--lifecycle-configuration",
            lifecycle_configuration(endpoint, prefix, expiry),
            "--region",
            region,
        ),
        proposed={"expiry_days": expiry, "bucket": prefix.bucket, "prefix": prefix.prefix},
        evidence={**capture_evidence(prefix, rate, basis), "kept_bytes": kept, "dropped_bytes": dropped},
        caveats=" ".join(caveats),
        **_window(prefix),
    )
