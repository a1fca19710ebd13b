"""Celery tasks: thin wrappers around plain functions that can be called without a worker."""

import logging
from datetime import datetime

from celery import chain, shared_task
from celery.exceptions import Ignore
from celery.utils.time import get_exponential_backoff_interval
from django import db
from django.db.utils import InterfaceError, OperationalError

from collectors import heartbeat as heartbeat_module
from collectors import runner
from collectors.models import AwsAccount
from collectors.signals import hours_collected

log = logging.getLogger(__name__)


@shared_task(name="collectors.tasks.heartbeat")
def heartbeat(hostname: str | None = None) -> int:
    """Record that a worker is alive; returns the number of beats seen from that host."""
    return heartbeat_module.record(hostname)


DATABASE_RETRIES = 12  # backoff doubling from 5 s, capped at 5 min: waits out a database that is down ~30 min


@shared_task(bind=True, name="collectors.tasks.collect", max_retries=DATABASE_RETRIES)
def collect(  # noqa: PLR0913 - a Celery task: bound self plus its message's fields
    self,
    account_pk: int,
    region: str,
    source: str,
    since: str | None = None,
    recovered: str = "",
) -> dict | None:
    """Collect one source for one account and region. A failure is recorded on the collection-health page and
    does not stop other accounts or regions; throttling that outlasts botocore's own retries is retried later,
    and so is a lost database connection (with Celery's exponential backoff and jitter), the error then shown
    on Collection health with the outcome. A failed collection stops its chain: utilization never runs on an
    inventory that failed."""
    try:
        account = AwsAccount.objects.filter(pk=account_pk, enabled=True).first()
        if account is None:
            return None
        summary = runner.run(
            account,
            region,
            source,
            datetime.fromisoformat(since) if since else None,
            owner=self.request.id,
            recovered=recovered,
        )
    except runner.CollectionBusy as busy:
        log.info("skipped: %s", busy)  # the chain goes on: utilization checks the inventory's own outcome
        return None
    except runner.CollectionFailed as failed:
        if failed.throttled and self.request.retries < THROTTLE_RETRIES:
            raise self.retry(exc=failed, countdown=backoff(self.request.retries, factor=60)) from failed
        log.warning("collection failed: %s", failed)
        if source in NOT_WAITED_ON:
            return None  # recorded already; the chain goes on to utilization, which does not need it
        raise Ignore() from failed  # recorded already; Ignore ends the chain without a traceback
    except (OperationalError, InterfaceError) as exc:
        db.connections.close_all()  # a broken connection is not reused by the retry
        error = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        log.warning("database error during %s %s %s, retrying: %s", account_pk, region, source, error)
        raise self.retry(
            exc=exc,
            countdown=backoff(self.request.retries, factor=5),
            kwargs={**self.request.kwargs, "recovered": error},
        ) from exc
    hours = (summary.details.get("hours") or 0) + (summary.details.get("earlier_hours") or 0)
    if source in HOUR_SOURCES and hours:
        # Whoever estimates hours (the dashboard) does it now rather than at its next scheduled run.
        hours_collected.send(sender=collect, account=account, region=region, hours=hours)
    return {"source": source, "api_calls": summary.api_calls, **summary.details}


# Sources that write hours to estimate (variant-hours; workload-hours of jobs, notebooks and Studio apps).
HOUR_SOURCES = ("utilization", "cloudtrail", "job_metrics", "notebooks")
THROTTLE_RETRIES = 4
# Sources chained between the inventory and utilization that utilization does not depend on: their failure is
# recorded on Collection health and the chain goes on.
NOT_WAITED_ON = {"cloudtrail"}


def backoff(retries: int, factor: int) -> int:
    """Celery's own exponential backoff with full jitter, capped at five minutes."""
    return get_exponential_backoff_interval(factor=factor, retries=retries, maximum=300, full_jitter=True)


# Per account and region, each in this order as one chain: utilization reads the endpoints the inventory found,
# job metrics the jobs the jobs collector found.
CHAINS = (("inventory", "cloudtrail", "utilization"), ("jobs", "job_metrics"))


@shared_task(name="collectors.tasks.collect_all")
def collect_all() -> int:
    """Fan out one task per (account, region, source); in each region inventory, CloudTrail and utilization run
    in that order, as one chain (a failed inventory stops it; a failed CloudTrail read does not), and so do jobs
    and their host metrics."""
    jobs = runner.plan(AwsAccount.objects.filter(enabled=True), sources=runner.HOURLY_SOURCES)
    chain_of = {source: steps for steps in CHAINS for source in steps}
    sent = 0
    chains: dict[tuple, list] = {}
    for account, region, source in jobs:
        signature = collect.si(account.pk, region, source)
        if source in chain_of:
            steps = chain_of[source]
            chains.setdefault((account.pk, region, steps), []).append(signature)
            if source != steps[-1]:
                continue
            # The region's chain goes out where its last step is planned: its first step first, as before.
            signatures = chains.pop((account.pk, region, steps))
            signature = chain(*signatures) if len(signatures) > 1 else signatures[0]
        signature.apply_async()
        sent += 1
    for signatures in chains.values():  # chains whose last step was not planned
        (chain(*signatures) if len(signatures) > 1 else signatures[0]).apply_async()
        sent += 1
    return sent


@shared_task(name="collectors.tasks.collect_prices")
def collect_prices() -> int:
    """Queue the daily Price List collection (one job for every account's regions), with collect's retries."""
    jobs = runner.plan(AwsAccount.objects.filter(enabled=True), sources=[runner.Source.PRICES])
    for account, region, source in jobs:
        collect.si(account.pk, region, source).apply_async()
    return len(jobs)


@shared_task(name="collectors.tasks.collect_aws_figures")
def collect_aws_figures() -> int:
    """Queue the daily collection of AWS's own figures (its carbon estimates once per account, from the API and
    the CARBON_EMISSIONS export where one is configured, Compute Optimizer's
    idle findings per account and region), with collect's retries."""
    sources = [runner.Source.AWS_CARBON, runner.Source.CARBON_EXPORT, runner.Source.COMPUTE_OPTIMIZER]
    jobs = runner.plan(AwsAccount.objects.filter(enabled=True), sources=sources)
    for account, region, source in jobs:
        collect.si(account.pk, region, source).apply_async()
    return len(jobs)
