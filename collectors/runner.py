"""Run one collector for one account and region: lease, watermark, health record.

A run takes a lease on its (account, region, source) with a conditional UPDATE, so two workers never collect
the same thing at once; the lease names its owner (the Celery task id), so a task redelivered after its worker
was killed takes its own lease back instead of waiting for it to expire. The watermark moves only after the
data is committed, and every write is an upsert, so running a collection again never loses or duplicates data.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from collectors import aws
from collectors.inventory import collect_inventory
from collectors.log_groups import collect_log_groups
from collectors.models import AwsAccount, CollectionState
from collectors.models.health import Source
from collectors.storage_lens import collect_storage_lens
from collectors.utilization import collect_utilization, floor_hour

THROTTLING_CODES = {"Throttling", "ThrottlingException", "ThrottledException", "RequestLimitExceeded",
                    "TooManyRequestsException", "SlowDown"}


class CollectionBusy(Exception):
    """Another run holds this collector's lease."""


class CollectionFailed(Exception):
    def __init__(self, message: str, throttled: bool = False):
        super().__init__(message)
        self.throttled = throttled


@dataclass
class RunSummary:
    account: str
    region: str
    source: str
    api_calls: int = 0
    details: dict = field(default_factory=dict)
    seconds: float = 0.0


def acquire(state: CollectionState, owner: str, now: datetime) -> bool:
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    until = now + timedelta(seconds=settings.COLLECT_LEASE_SECONDS)
    taken = CollectionState.objects.filter(free, pk=state.pk).update(lease_until=until, lease_owner=owner,
                                                                      last_attempt=now)
    return taken == 1


def release(state: CollectionState, owner: str) -> None:
    CollectionState.objects.filter(pk=state.pk, lease_owner=owner).update(lease_until=None, lease_owner="")


def utilization_start(state: CollectionState, since: datetime | None, now: datetime) -> datetime:
    if since is not None:
        return floor_hour(since)
    if state.watermark is None:
        return floor_hour(now - timedelta(days=settings.COLLECT_LOOKBACK_DAYS))
    return floor_hour(state.watermark - timedelta(hours=settings.COLLECT_REREAD_HOURS))


def dispatch(account, region, source, state, since, now, calls, progress) -> tuple[dict, datetime]:
    """Run the source's collector; returns (details, new watermark)."""
    if source == Source.INVENTORY:
        return asdict(collect_inventory(account, region, now, calls)), now
    if source == Source.UTILIZATION:
        start = utilization_start(state, since, now)
        result = collect_utilization(account, region, start, now, calls, progress)
        return {**asdict(result), "start": start.isoformat()}, max(floor_hour(now), state.watermark or floor_hour(now))
    if source == Source.LOG_GROUPS:
        return asdict(collect_log_groups(account, region, now, calls)), now
    if source == Source.STORAGE_LENS:
        return asdict(collect_storage_lens(account, region, settings.COLLECT_LOOKBACK_DAYS, now, calls)), now
    raise ValueError(f"unknown source {source!r}; expected one of {', '.join(Source.values)}")


def describe_error(exc: Exception) -> tuple[str, bool]:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = error.get("Code", "ClientError")
        return f"{code}: {error.get('Message', str(exc))}", code in THROTTLING_CODES
    return f"{type(exc).__name__}: {exc}", False


def run(account: AwsAccount, region: str, source: str, since: datetime | None = None, owner: str | None = None,
        progress=None) -> RunSummary:
    now = timezone.now()
    owner = owner or f"process-{os.getpid()}"
    state, _ = CollectionState.objects.get_or_create(account=account, region=region, source=source)
    if not acquire(state, owner, now):
        raise CollectionBusy(f"{account} {region} {source} is being collected by {state.lease_owner}")
    calls = aws.ApiCalls()
    try:
        details, watermark = dispatch(account, region, source, state, since, now, calls, progress)
    except (ClientError, BotoCoreError) as exc:
        message, throttled = describe_error(exc)
        CollectionState.objects.filter(pk=state.pk).update(
            last_error=message, last_error_at=timezone.now(), consecutive_failures=state.consecutive_failures + 1,
            last_api_calls=calls.total)
        raise CollectionFailed(f"{account} {region} {source}: {message}", throttled) from exc
    finally:
        release(state, owner)
    CollectionState.objects.filter(pk=state.pk).update(
        watermark=watermark, last_success=timezone.now(), consecutive_failures=0, last_error="",
        last_api_calls=calls.total, last_summary={**details, "api_calls": dict(calls)})
    return RunSummary(account.account_id, region, source, calls.total, details,
                      (timezone.now() - now).total_seconds())


def plan(accounts, regions=None, sources=None) -> list[tuple[AwsAccount, str, str]]:
    """Every (account, region, source) to collect, inventory before utilization; Storage Lens once per account."""
    sources = sources or list(Source.values)
    jobs = []
    for account in accounts:
        for region in [r for r in account.regions if not regions or r in regions]:
            jobs += [(account, region, s) for s in (Source.INVENTORY, Source.UTILIZATION, Source.LOG_GROUPS)
                     if s in sources]
        if Source.STORAGE_LENS in sources and (not regions or settings.STORAGE_LENS_CONTROL_REGION in regions):
            jobs.append((account, settings.STORAGE_LENS_CONTROL_REGION, Source.STORAGE_LENS))
    return jobs
