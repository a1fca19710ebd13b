"""Celery tasks: thin wrappers around plain functions that can be called without a worker."""

import logging

from celery import chain, current_app, shared_task

from collectors import heartbeat as heartbeat_module
from collectors import runner
from collectors.models import AwsAccount

log = logging.getLogger(__name__)


@shared_task(name="collectors.tasks.heartbeat")
def heartbeat(hostname: str | None = None) -> int:
    """Record that a worker is alive; returns the number of beats seen from that host."""
    return heartbeat_module.record(hostname)


@shared_task(bind=True, name="collectors.tasks.collect", max_retries=4)
def collect(self, account_pk: int, region: str, source: str, since: str | None = None) -> dict | None:
    """Collect one source for one account and region. A failure is recorded on the collection-health page and
    does not stop other accounts or regions; throttling that outlasts botocore's own retries is retried later."""
    from datetime import datetime

    account = AwsAccount.objects.filter(pk=account_pk, enabled=True).first()
    if account is None:
        return None
    try:
        summary = runner.run(account, region, source, datetime.fromisoformat(since) if since else None,
                             owner=self.request.id)
    except runner.CollectionBusy as busy:
        log.info("skipped: %s", busy)
        return None
    except runner.CollectionFailed as failed:
        if failed.throttled and self.request.retries < self.max_retries:
            raise self.retry(exc=failed, countdown=60 * 2 ** self.request.retries) from failed
        log.warning("collection failed: %s", failed)
        return None
    if source == "utilization" and summary.details.get("hours"):
        # New hours are estimated (and rolled up) now rather than at the next scheduled estimation run.
        current_app.send_task("dashboard.tasks.estimate_pending")
    return {"source": source, "api_calls": summary.api_calls, **summary.details}


@shared_task(name="collectors.tasks.collect_all")
def collect_all() -> int:
    """Fan out one task per (account, region, source); inventory runs before utilization in each region."""
    jobs = runner.plan(AwsAccount.objects.filter(enabled=True))
    sent = 0
    pending_inventory = {}
    for account, region, source in jobs:
        signature = collect.si(account.pk, region, source)
        if source == "inventory":
            pending_inventory[(account.pk, region)] = signature
            continue
        if source == "utilization" and (account.pk, region) in pending_inventory:
            signature = chain(pending_inventory.pop((account.pk, region)), signature)
        signature.apply_async()
        sent += 1
    for signature in pending_inventory.values():
        signature.apply_async()
        sent += 1
    return sent
