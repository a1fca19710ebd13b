"""S3 Storage Lens: daily bytes and objects per bucket, prefix and storage class.

The preferred source is a configuration's metrics export (S3 Control ListStorageLensConfigurations and
GetStorageLensConfiguration, then the export's daily ``manifest.json`` and the CSV or Parquet files it lists).
Days already stored are not read again. Without an export, bucket-level ``AWS/S3/Storage-Lens`` CloudWatch
metrics (published daily in the configuration's home region) are used; they have no prefix rows.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from urllib.parse import unquote

import pandas as pd
from django.db import transaction

from collectors import aws
from collectors.models import StorageLensDay

LENS_METRICS = {"StorageBytes": "stored_bytes", "ObjectCount": "object_count"}
KEPT_RECORD_TYPES = ("BUCKET", "PREFIX")
CLOUDWATCH_NAMESPACE = "AWS/S3/Storage-Lens"


@dataclass
class StorageLensResult:
    configurations: int = 0
    days: int = 0
    rows: int = 0
    source: str = ""


def list_configurations(s3control, account_id: str) -> list[dict]:
    """Every configuration (the API has NextToken but no boto3 paginator)."""
    found, token = [], None
    while True:
        page = s3control.list_storage_lens_configurations(
            AccountId=account_id, **({"NextToken": token} if token else {})
        )
        found += page.get("StorageLensConfigurationList", [])
        token = page.get("NextToken")
        if not token:
            return found


def describe_configuration(s3control, account_id: str, entry: dict) -> dict:
    """The full configuration; its home region is only in the list entry (absent when the simulator omits it)."""
    config = s3control.get_storage_lens_configuration(ConfigId=entry["Id"], AccountId=account_id)
    return {**config["StorageLensConfiguration"], "HomeRegion": entry.get("HomeRegion")}


def export_destination(config: dict) -> dict | None:
    return (config.get("DataExport") or {}).get("S3BucketDestination")


def manifest_keys(s3, bucket: str, prefix: str) -> dict[date, str]:
    keys = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith("/manifest.json") and "/dt=" in item["Key"]:
                keys[date.fromisoformat(item["Key"].split("/dt=")[1][:10])] = item["Key"]
    return keys


def read_report(s3, bucket: str, manifest: dict) -> pd.DataFrame:
    frames = []
    for report in manifest["reportFiles"]:
        body = s3.get_object(Bucket=bucket, Key=report["key"])["Body"].read()
        if manifest.get("reportFormat", "CSV").upper() == "PARQUET":
            frames.append(pd.read_parquet(io.BytesIO(body)))
        else:
            frames.append(
                pd.read_csv(io.BytesIO(body), dtype={"record_value": str, "bucket_name": str}, keep_default_na=False)
            )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def lens_rows(account, frame: pd.DataFrame, day: date, config_id: str, now: datetime) -> list[StorageLensDay]:
    """Pivot the long export format to one row per bucket/prefix and storage class."""
    kept = frame[frame.record_type.isin(KEPT_RECORD_TYPES) & frame.metric_name.isin(list(LENS_METRICS))].copy()
    if kept.empty:
        return []
    kept["prefix"] = [
        unquote(v) if t == "PREFIX" else "" for v, t in zip(kept.record_value, kept.record_type, strict=True)
    ]
    wide = kept.pivot_table(
        index=["bucket_name", "prefix", "storage_class", "aws_region"],
        columns="metric_name",
        values="metric_value",
        aggfunc="sum",
    ).reset_index()
    records: Iterator[Any] = wide.itertuples(index=False)  # named tuples of the pivot's columns
    return [
        StorageLensDay(
            account=account,
            day=day,
            region=r.aws_region,
            bucket=r.bucket_name,
            prefix=r.prefix,
            storage_class=r.storage_class,
            stored_bytes=int(getattr(r, "StorageBytes", 0) or 0),
            object_count=_int_or_none(getattr(r, "ObjectCount", None)),
            source=StorageLensDay.Source.EXPORT,
            configuration_id=config_id,
            collected_at=now,
        )
        for r in records
    ]


def _int_or_none(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def upsert(rows: list[StorageLensDay]) -> None:
    with transaction.atomic():
        StorageLensDay.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["account", "day", "bucket", "prefix", "storage_class"],
            update_fields=["region", "stored_bytes", "object_count", "source", "configuration_id", "collected_at"],
        )


def collect_export(account, config: dict, now: datetime, calls: aws.ApiCalls, result: StorageLensResult) -> None:
    destination = cast(dict, export_destination(config))  # only configurations with an export come here
    bucket = destination["Arn"].split(":::", 1)[1]
    base = "/".join(
        p
        for p in (
            destination.get("Prefix", ""),
            "StorageLens",
            account.account_id,
            config["Id"],
            destination.get("OutputSchemaVersion", "V_1"),
            "manifests/",
        )
        if p
    )
    s3 = aws.client(account, "s3", config.get("HomeRegion") or "us-east-1", calls)
    stored = set(
        StorageLensDay.objects.filter(
            account=account, configuration_id=config["Id"], source=StorageLensDay.Source.EXPORT
        ).values_list("day", flat=True)
    )
    for day, key in sorted(manifest_keys(s3, bucket, base).items()):
        if day in stored and day < now.date() - timedelta(days=1):
            continue  # a finished day does not change; re-read only the newest ones
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        rows = lens_rows(account, read_report(s3, bucket, manifest), day, config["Id"], now)
        upsert(rows)
        result.days += 1
        result.rows += len(rows)


def collect_cloudwatch(  # noqa: PLR0913 - one run's context (account, region, clock, calls, result)
    account,
    config: dict,
    region: str,
    lookback_days: int,
    now: datetime,
    calls: aws.ApiCalls,
    result: StorageLensResult,
) -> None:
    cloudwatch = aws.client(account, "cloudwatch", region, calls)
    metrics = [
        m
        for page in cloudwatch.get_paginator("list_metrics").paginate(
            Namespace=CLOUDWATCH_NAMESPACE,
            MetricName="StorageBytes",
            Dimensions=[
                {"Name": "configuration_id", "Value": config["Id"]},
                {"Name": "record_type", "Value": "BUCKET"},
            ],
        )
        for m in page["Metrics"]
    ]
    start = (now - timedelta(days=lookback_days)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = []
    for offset in range(0, len(metrics), 500):
        batch = metrics[offset : offset + 500]
        queries = [
            {"Id": f"m{i}", "MetricStat": {"Metric": m, "Period": 86400, "Stat": "Average"}}
            for i, m in enumerate(batch)
        ]
        response = cloudwatch.get_metric_data(MetricDataQueries=queries, StartTime=start, EndTime=now)
        for series in response["MetricDataResults"]:
            dims = {d["Name"]: d["Value"] for d in batch[int(series["Id"][1:])]["Dimensions"]}
            rows += [
                StorageLensDay(
                    account=account,
                    day=ts.astimezone(UTC).date(),
                    region=dims.get("aws_region", ""),
                    bucket=dims["bucket_name"],
                    prefix="",
                    storage_class=dims.get("storage_class", ""),
                    stored_bytes=int(value),
                    source=StorageLensDay.Source.CLOUDWATCH,
                    configuration_id=config["Id"],
                    collected_at=now,
                )
                for ts, value in zip(series["Timestamps"], series["Values"], strict=True)
            ]
    upsert(rows)
    result.days += len({r.day for r in rows})
    result.rows += len(rows)


def collect_storage_lens(
    account, home_region: str, lookback_days: int, now: datetime, calls: aws.ApiCalls
) -> StorageLensResult:
    s3control = aws.client(account, "s3control", home_region, calls)
    result = StorageLensResult()
    configs = [
        describe_configuration(s3control, account.account_id, entry)
        for entry in list_configurations(s3control, account.account_id)
        if entry.get("IsEnabled", True)
    ]
    result.configurations = len(configs)
    exported = [c for c in configs if export_destination(c)]
    for config in exported:
        collect_export(account, config, now, calls, result)
    if not exported:
        for config in configs:
            collect_cloudwatch(
                account, config, config.get("HomeRegion") or home_region, lookback_days, now, calls, result
            )
    result.source = "export" if exported else ("cloudwatch" if configs else "none")
    return result
