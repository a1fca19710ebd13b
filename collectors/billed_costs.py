"""The ``cost_exports`` collector: billed cost of SageMaker from the customer's own Data Export, per day.

Once per account that has an export configured (``AwsAccount.cost_export_bucket`` / ``_prefix`` / ``_name``),
through the account's assumed role: list the export's manifests (one ListObjectsV2 page per 1,000 keys), and for
each billing period whose newest manifest is not the one read last, read that delivery's data files
(``collectors.cost_exports``), attribute the SageMaker lines to endpoints, and replace the period's rows in one
transaction. AWS refreshes the current month's export up to three times a day and may restate a closed month;
an unchanged period costs no read, and a restated one replaces, never adds to, what was stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from django.db import transaction
from django.db.models import Q
from django.db.models.functions import Lower

from collectors import aws
from collectors.cost_exports import (
    INSTANCE_USAGE,
    ExportFormatError,
    manifest_data_files,
    newest_manifests,
    read_export,
    sagemaker_hosting_costs,
    sagemaker_lines,
)
from collectors.errors import CollectionFailed
from collectors.models import BilledCostDay, CostExportDelivery, Endpoint

EXPORT_REGION = "us-east-1"  # S3 redirects a bucket of another region; this is where the run's health is filed


@dataclass
class CostExportResult:
    periods_found: int = 0
    periods_read: list[str] = field(default_factory=list)
    data_files: int = 0
    lines: int = 0
    rows: int = 0
    attributed_usd: float = 0.0
    unattributed_usd: float = 0.0
    linked_endpoints: int = 0
    other_account_lines: int = 0  # lines of other (member) accounts in the export, left to those accounts


# Endpoint lines we measure the usage of: instance-hours (real-time and asynchronous hosting) and serverless
# inference. An endpoint's other hosting charges (ML storage volumes, data processed) are kept on the endpoint under
# this reason, outside billed_cost_usd, so billed and list cost always compare the same usage on every surface.
OTHER_ENDPOINT_CHARGE = "other endpoint charge"
SERVERLESS_USAGE = re.compile(r"^(?:[A-Z]{2,5}\d?-)?ServerlessInf[:-]")


def measured(usage_type: str) -> bool:
    return bool(INSTANCE_USAGE.match(usage_type) or SERVERLESS_USAGE.match(usage_type))


def instance_type(usage_type: str) -> str:
    """``USE1-Host:ml.m5.xlarge`` -> ``ml.m5.xlarge``; empty when the usage type names no instance."""
    _, _, tail = usage_type.partition(":")
    return tail if tail.startswith("ml.") else ""


def period_rows(account, period: str, costs) -> list[BilledCostDay]:
    rows = [
        BilledCostDay(
            account=account,
            billing_period=period,
            day=line.day,
            region=line.region,
            endpoint_name=line.endpoint_name,
            usage_type=line.usage_type,
            instance_type=instance_type(line.usage_type),
            reason="" if measured(line.usage_type) else OTHER_ENDPOINT_CHARGE,
            resource_id=line.endpoint_arn,
            instance_hours=float(line.instance_hours),
            list_cost_usd=float(line.list_cost_usd),
            billed_cost_usd=float(line.billed_cost_usd),
        )
        for line in costs.endpoints.itertuples(index=False)
    ]
    rows += [
        BilledCostDay(
            account=account,
            billing_period=period,
            day=line.day,
            region=line.region,
            usage_type=line.usage_type,
            instance_type=instance_type(line.usage_type),
            reason=line.reason,
            resource_id=line.resource_id[:1024],
            billed_cost_usd=float(line.billed_cost_usd),
        )
        for line in costs.unattributed.itertuples(index=False)
    ]
    return rows


def link_endpoints(account) -> int:
    """Point rows at their endpoint (names are case-insensitive; the ARN is lower case), including rows read before
    the inventory first saw the endpoint: two queries and one UPDATE per endpoint found, whatever the rows."""
    unlinked = BilledCostDay.objects.filter(account=account, endpoint__isnull=True).exclude(endpoint_name="")
    places = set(unlinked.values_list("region", "endpoint_name").distinct())
    if not places:
        return 0
    candidates = (
        Endpoint.objects.annotate(lower_name=Lower("name"))
        .filter(account=account, lower_name__in={name for _, name in places})
        .order_by("-pk")  # the oldest endpoint of a name wins (assigned last)
        .values_list("pk", "region", "lower_name")
    )
    found = {(region, name): pk for pk, region, name in candidates if (region, name) in places}
    linked = 0
    for (region, name), pk in found.items():
        linked += unlinked.filter(region=region, endpoint_name=name).update(endpoint_id=pk)
    return linked


def collect_cost_exports(account, now: datetime, calls: aws.ApiCalls) -> CostExportResult:
    if not account.has_cost_export:
        raise CollectionFailed(f"{account} has no cost export configured (bucket and export name)")
    s3 = aws.client(account, "s3", EXPORT_REGION, calls)
    bucket, prefix, name = account.cost_export_bucket, account.cost_export_prefix, account.cost_export_name
    result = CostExportResult()
    manifests = newest_manifests(s3, bucket, prefix, name)
    result.periods_found = len(manifests)
    if not manifests:
        raise CollectionFailed(
            f"no manifest under s3://{bucket}/{'/'.join(p for p in (prefix.strip('/'), name, 'metadata') if p)}/ "
            "- is the export's name and prefix right, and has AWS delivered it yet (up to 24 hours after creation)?"
        )
    read = {d.billing_period: d for d in CostExportDelivery.objects.filter(account=account)}
    for period, item in manifests.items():
        known = read.get(period)
        if known and known.manifest_key == item["Key"] and known.manifest_modified == item["LastModified"]:
            continue
        files = manifest_data_files(s3, bucket, item["Key"])
        try:
            frame = read_export(files, s3)
        except ExportFormatError as exc:
            raise CollectionFailed(f"billing period {period}: {exc}") from exc
        save_period(account, period, item, frame, len(files), now, result)
    result.linked_endpoints = link_endpoints(account)
    return result


def save_period(account, period: str, item: dict, frame: pd.DataFrame, files: int, now, result) -> None:  # noqa: PLR0913 - one delivery's context
    # A management account's export holds its member accounts' lines too: only this account's are kept here (each
    # member registered with the same export reads its own), so no team sees another account's bill.
    export_format = frame.attrs.get("format", "")
    mine = frame["account_id"] == account.account_id
    result.other_account_lines += int((~mine).sum())
    frame = frame[mine]
    costs = sagemaker_hosting_costs(frame)
    rows = period_rows(account, period, costs)
    lines = len(sagemaker_lines(frame))
    with transaction.atomic():
        BilledCostDay.objects.filter(Q(account=account) & Q(billing_period=period)).delete()
        BilledCostDay.objects.bulk_create(rows, batch_size=2000)
        CostExportDelivery.objects.update_or_create(
            account=account,
            billing_period=period,
            defaults={
                "manifest_key": item["Key"],
                "manifest_modified": item["LastModified"],
                "export_format": export_format,
                "data_files": files,
                "lines": lines,
                "read_at": now,
            },
        )
    result.periods_read.append(period)
    result.data_files += files
    result.lines += lines
    result.rows += len(rows)
    result.attributed_usd += float(costs.endpoints["billed_cost_usd"].sum())
    result.unattributed_usd += float(costs.unattributed["billed_cost_usd"].sum())
