"""Run one collector for one account and region: lease, watermark, health record.

A run takes a lease on its (account, region, source) with a conditional UPDATE, so two workers never collect
the same thing at once; the lease names its owner (the Celery task id, or host and process of a command), so a
task redelivered after its worker was killed, or retried, takes its own lease back, and a lease whose process
is gone is taken over. A lease lasts just past the task time limit, so no lease outlives the run that took it.

The utilization watermark never moves past hours that were not read: utilization waits until the region's
inventory has succeeded (a failed inventory would leave it with no variants, and an empty run would otherwise
move the watermark to now), the first collection's start is kept until one succeeds, and a variant discovered
after the watermark is read back to when its endpoint was created. Every write is an upsert, so running a
collection again never loses or duplicates data.

CloudTrail runs between a region's inventory and its utilization, so a first utilization run already reads the
configuration history rebuilt from it; nothing waits on it (without CloudTrail permission it succeeds, saying so).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone

from collectors import aws
from collectors.aws_carbon import collect_aws_carbon
from collectors.billed_costs import EXPORT_REGION, collect_cost_exports
from collectors.carbon_export import EXPORT_REGION as CARBON_EXPORT_REGION
from collectors.carbon_export import collect_carbon_export
from collectors.cloudtrail import collect_cloudtrail, new_watermark
from collectors.compute_optimizer import collect_idle_findings
from collectors.errors import CollectionFailed, describe_client_error, is_throttling
from collectors.inventory import collect_inventory
from collectors.job_metrics import collect_job_metrics
from collectors.jobs import collect_jobs
from collectors.log_groups import collect_log_groups
from collectors.models import AwsAccount, CollectionState
from collectors.models.health import Source
from collectors.notebooks import collect_notebooks
from collectors.prices import collect_prices
from collectors.storage_lens import collect_storage_lens
from collectors.utilization import collect_utilization, floor_hour

log = logging.getLogger(__name__)


class CollectionBusy(Exception):
    """Another run holds this collector's lease."""


@dataclass
class RunSummary:
    account: str
    region: str
    source: str
    api_calls: int = 0
    details: dict = field(default_factory=dict)
    seconds: float = 0.0


def process_owner() -> str:
    """The lease owner of a run outside Celery (``manage.py collect``): this host and process."""
    return f"process-{socket.gethostname()}-{os.getpid()}"


def owner_is_dead(owner: str) -> bool:
    """True for a command's lease whose process on this host no longer runs (killed, or the machine restarted)."""
    prefix = f"process-{socket.gethostname()}-"
    if not owner.startswith(prefix) or not owner[len(prefix) :].isdigit():
        return False
    try:
        os.kill(int(owner[len(prefix) :]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(state: CollectionState, owner: str, now: datetime) -> bool:
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner)
    held_by = CollectionState.objects.filter(pk=state.pk).values_list("lease_owner", flat=True).first()
    if held_by and owner_is_dead(held_by):
        free |= Q(lease_owner=held_by)
    until = now + timedelta(seconds=settings.COLLECT_LEASE_SECONDS)
    taken = CollectionState.objects.filter(free, pk=state.pk).update(
        lease_until=until, lease_owner=owner, last_attempt=now
    )
    return taken == 1


def release(state: CollectionState, owner: str) -> None:
    """Give the lease back; if the database is unreachable the lease simply expires with the task's time limit
    (and the retried task, same owner, takes it back) - the original error is the one to report."""
    try:
        CollectionState.objects.filter(pk=state.pk, lease_owner=owner).update(lease_until=None, lease_owner="")
    except DatabaseError as exc:
        log.warning("could not release the lease of %s (%s); it expires by itself", state, exc)


def utilization_start(state: CollectionState, since: datetime | None, now: datetime) -> datetime:
    if since is not None:
        return floor_hour(since)
    if state.watermark is None:
        return state.backfill_from or first_start(now)
    return floor_hour(state.watermark - timedelta(hours=settings.COLLECT_REREAD_HOURS))


def first_start(now: datetime) -> datetime:
    return floor_hour(now - timedelta(days=settings.COLLECT_LOOKBACK_DAYS))


def previous_run(state: CollectionState) -> datetime | None:
    """When the last successful utilization run chose its variants (None before the first success)."""
    if state.watermark is None:
        return None
    started = state.last_summary.get("started_at")
    return datetime.fromisoformat(started) if started else state.last_success


def require_inventory(account, region: str) -> None:
    """Utilization reads the variants the inventory recorded: with none recorded yet, or with the inventory
    failing, a run would read nothing (or miss new endpoints) and still move the watermark, so it waits."""
    inventory = CollectionState.objects.filter(account=account, region=region, source=Source.INVENTORY).first()
    if inventory is None or inventory.last_success is None:
        raise CollectionFailed("waiting for a first successful inventory of this region; no hour is skipped")
    if inventory.consecutive_failures:
        raise CollectionFailed(
            f"waiting for the region's inventory, which is failing ({inventory.last_error}); no hour is skipped"
        )


# Collectors that need nothing but the account (and region) and are current as of ``now`` once they succeed.
REGION_COLLECTORS: dict[str, Callable[..., Any]] = {
    Source.LOG_GROUPS: collect_log_groups,
    Source.COMPUTE_OPTIMIZER: collect_idle_findings,
}
# Regional collectors that re-read from their previous run's watermark (jobs, notebooks and Studio apps).
WATERMARKED_COLLECTORS: dict[str, Callable[..., Any]] = {Source.JOBS: collect_jobs, Source.NOTEBOOKS: collect_notebooks}
ACCOUNT_COLLECTORS: dict[str, Callable[..., Any]] = {  # account-wide: one run per account
    Source.COST_EXPORTS: collect_cost_exports,
    Source.AWS_CARBON: collect_aws_carbon,
    Source.CARBON_EXPORT: collect_carbon_export,
}


def dispatch(account, region, source, state, since, now, calls, progress) -> tuple[dict, datetime | None]:  # noqa: PLR0913 - forwards one run's context to whichever collector the source names
    """Run the source's collector; returns (details, new watermark)."""
    if source == Source.INVENTORY:
        return asdict(collect_inventory(account, region, now, calls)), now
    if source == Source.UTILIZATION:
        require_inventory(account, region)
        start = utilization_start(state, since, now)
        result = collect_utilization(
            account,
            region,
            start,
            now,
            calls,
            progress,
            previous_run=previous_run(state),
            earliest=first_start(now) if state.watermark else start,
        )
        details = {**asdict(result), "start": start.isoformat(), "started_at": now.isoformat()}
        return details, max(floor_hour(now), state.watermark or floor_hour(now))
    if source == Source.CLOUDTRAIL:
        # Nothing waits on it: without CloudTrail access the run succeeds, saying so, and utilization goes on.
        trail = collect_cloudtrail(account, region, state.watermark, now, calls, previous_run=previous_run(state))
        return asdict(trail), new_watermark(trail, state.watermark)
    if source == Source.STORAGE_LENS:
        return asdict(collect_storage_lens(account, region, settings.COLLECT_LOOKBACK_DAYS, now, calls)), now
    if source == Source.PRICES:
        return asdict(collect_prices(price_regions(), now, calls)), now
    if source in WATERMARKED_COLLECTORS:
        return asdict(WATERMARKED_COLLECTORS[source](account, region, state.watermark, now, calls)), now
    if source == Source.JOB_METRICS:
        return asdict(collect_job_metrics(account, region, now, calls, progress)), now
    if source in REGION_COLLECTORS:
        return asdict(REGION_COLLECTORS[source](account, region, now, calls)), now
    if source in ACCOUNT_COLLECTORS:
        return asdict(ACCOUNT_COLLECTORS[source](account, now, calls)), now
    raise ValueError(f"unknown source {source!r}; expected one of {', '.join(Source.values)}")


def describe_error(exc: Exception) -> tuple[str, bool]:
    if isinstance(exc, ClientError):
        return describe_client_error(exc), is_throttling(exc)
    if isinstance(exc, CollectionFailed):
        return str(exc), exc.throttled
    return f"{type(exc).__name__}: {exc}", False


def start_run(account: AwsAccount, region: str, source: str, owner: str, now: datetime) -> CollectionState:
    state, _ = CollectionState.objects.get_or_create(account=account, region=region, source=source)
    if not acquire(state, owner, now):
        state.refresh_from_db()
        raise CollectionBusy(f"{account} {region} {source} is being collected by {state.lease_owner}")
    if source in (Source.INVENTORY, Source.UTILIZATION):
        fix_backfill_start(account, region, now)
    if source == Source.UTILIZATION:
        state.refresh_from_db(fields=["backfill_from"])  # set just now, on the first attempt
    return state


def fix_backfill_start(account: AwsAccount, region: str, now: datetime) -> None:
    """The region's utilization backfill starts COLLECT_LOOKBACK_DAYS before its first collection attempt,
    inventory or utilization: a first collection that fails (no trust policy yet) does not shorten it."""
    state, _ = CollectionState.objects.get_or_create(
        account=account, region=region, source=Source.UTILIZATION, defaults={"backfill_from": first_start(now)}
    )
    if state.backfill_from is None and state.watermark is None:
        CollectionState.objects.filter(pk=state.pk, backfill_from__isnull=True).update(backfill_from=first_start(now))


def run(  # noqa: PLR0913 - the entry point of `manage.py collect` and the task: its options
    account: AwsAccount,
    region: str,
    source: str,
    since: datetime | None = None,
    owner: str | None = None,
    progress=None,
    recovered: str = "",
) -> RunSummary:
    """Collect one source; ``recovered`` names a transient error (database, broker) an earlier attempt of this
    same run died of, to be shown on Collection health with the outcome."""
    now = timezone.now()
    owner = owner or process_owner()
    state = start_run(account, region, source, owner, now)
    calls = aws.ApiCalls()
    try:
        details, watermark = dispatch(account, region, source, state, since, now, calls, progress)
    except (ClientError, BotoCoreError, aws.IdentityError, CollectionFailed) as exc:
        message, throttled = describe_error(exc)
        CollectionState.objects.filter(pk=state.pk).update(
            last_error=message,
            last_error_at=timezone.now(),
            consecutive_failures=state.consecutive_failures + 1,
            last_api_calls=calls.total,
            recovered_error=recovered,
        )
        raise CollectionFailed(f"{account} {region} {source}: {message}", throttled) from exc
    finally:
        release(state, owner)
    errors = details.pop("errors", [])
    CollectionState.objects.filter(pk=state.pk).update(
        watermark=watermark,
        last_success=timezone.now(),
        consecutive_failures=0,
        last_error="",
        last_api_calls=calls.total,
        last_summary={**details, "api_calls": dict(calls)},
        resource_errors=errors,
        recovered_error=recovered,
    )
    return RunSummary(
        account.account_id,
        region,
        source,
        calls.total,
        {**details, "errors": errors},
        (timezone.now() - now).total_seconds(),
    )


def price_regions() -> list[str]:
    """Every region of every enabled account: the Price List is read once for all of them."""
    regions = AwsAccount.objects.filter(enabled=True).values_list("regions", flat=True)
    return sorted({region for account_regions in regions for region in account_regions})


# AWS's own figures change daily at most (monthly carbon estimates, Compute Optimizer's idle findings): collected
# by a daily job (and a plain `manage.py collect`), not by the hourly fan-out.
DAILY_SOURCES = [Source.PRICES, Source.AWS_CARBON, Source.CARBON_EXPORT, Source.COMPUTE_OPTIMIZER]
HOURLY_SOURCES = [s for s in Source.values if s not in DAILY_SOURCES]
AWS_CARBON_REGION = "us-east-1"  # account-wide data: one call per account, its health filed under this region


REGION_SOURCES = (
    Source.INVENTORY,
    Source.CLOUDTRAIL,
    Source.UTILIZATION,
    Source.LOG_GROUPS,
    Source.COMPUTE_OPTIMIZER,
    Source.JOBS,
    Source.JOB_METRICS,
    Source.NOTEBOOKS,
)


def plan(accounts, regions=None, sources=None) -> list[tuple[AwsAccount, str, str]]:
    """Every (account, region, source) to collect, inventory first, then CloudTrail (so a first utilization run
    already reads the history rebuilt from it), then utilization; Storage Lens and the cost export
    and the CARBON_EMISSIONS export (where configured) once per account;
    prices once in all (account-independent: their lease and health are filed under the first account, in the
    Price List's own region)."""
    sources = sources or list(Source.values)
    jobs: list[tuple[AwsAccount, str, str]] = []
    first = min(accounts, key=lambda account: account.pk, default=None)
    if Source.PRICES in sources and first is not None and not regions:
        jobs.append((first, aws.PRICING_REGION, Source.PRICES))
    for account in accounts:
        for region in [r for r in account.regions if not regions or r in regions]:
            jobs += [(account, region, s) for s in REGION_SOURCES if s in sources]
        control_region = cast(str, settings.STORAGE_LENS_CONTROL_REGION)  # envstr with a default: never None
        if Source.STORAGE_LENS in sources and (not regions or control_region in regions):
            jobs.append((account, control_region, Source.STORAGE_LENS))
        if Source.COST_EXPORTS in sources and account.has_cost_export and (not regions or EXPORT_REGION in regions):
            jobs.append((account, EXPORT_REGION, Source.COST_EXPORTS))
        if Source.AWS_CARBON in sources and (not regions or AWS_CARBON_REGION in regions):
            jobs.append((account, AWS_CARBON_REGION, Source.AWS_CARBON))
        if (
            Source.CARBON_EXPORT in sources
            and account.has_carbon_export
            and (not regions or CARBON_EXPORT_REGION in regions)
        ):
            jobs.append((account, CARBON_EXPORT_REGION, Source.CARBON_EXPORT))
    return jobs
