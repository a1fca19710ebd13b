"""CloudWatch Logs: a daily snapshot of every log group's stored bytes, retention and class.

``retentionInDays`` absent means the group never expires. ``storedBytes`` is a slowly refreshed gauge on
AWS, so one snapshot per UTC day (the latest run of the day wins) is all it supports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction

from collectors import aws
from collectors.models import LogGroupSnapshot

PAGE_SIZE = 50  # the API's maximum


@dataclass
class LogGroupResult:
    log_groups: int = 0
    stored_bytes: int = 0
    never_expire: int = 0


def snapshot(account, region: str, group: dict, now: datetime) -> LogGroupSnapshot:
    created = group.get("creationTime")
    return LogGroupSnapshot(
        account=account,
        region=region,
        name=group["logGroupName"],
        day=now.date(),
        stored_bytes=int(group.get("storedBytes", 0)),
        retention_days=group.get("retentionInDays"),
        log_group_class=group.get("logGroupClass", ""),
        collected_at=now,
        created_time=datetime.fromtimestamp(created / 1000, UTC) if created else None,
    )


def collect_log_groups(account, region: str, now: datetime, calls: aws.ApiCalls) -> LogGroupResult:
    logs = aws.client(account, "logs", region, calls)
    rows = [
        snapshot(account, region, group, now)
        for page in logs.get_paginator("describe_log_groups").paginate(PaginationConfig={"PageSize": PAGE_SIZE})
        for group in page["logGroups"]
    ]
    with transaction.atomic():
        LogGroupSnapshot.objects.bulk_create(
            rows,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["account", "region", "name", "day"],
            update_fields=["stored_bytes", "retention_days", "log_group_class", "created_time", "collected_at"],
        )
    return LogGroupResult(
        log_groups=len(rows),
        stored_bytes=sum(r.stored_bytes for r in rows),
        never_expire=sum(r.retention_days is None for r in rows),
    )
